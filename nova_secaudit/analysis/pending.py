"""Pending work inside one function: futures, greenthreads, threads.

A :class:`PendingWork` starts from the names that hold some work (a futures
collection, a future, a greenthread) and follows them forward through the
function: ``pending = [f for f in futures if not f.done()]`` still holds
work, ``for uuid, fut in tasks.items()`` draws elements from it, while
``fut.result()``, ``len(futures)`` or ``fut.done()`` are derived values that
hold none. It then answers whether, after some point, the work is cancelled
(or otherwise settled) or handed on to somebody else.
"""

from __future__ import annotations

import ast

from nova_secaudit.analysis.functions import assigned_names, walk_local
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.logs import logging_method
from nova_secaudit.analysis.names import last_name

# Methods returning a view or copy of a collection (still holds the work).
_VIEW_METHODS = frozenset({"values", "items", "copy", "union",
                           "difference", "intersection"})
_COPYING_BUILTINS = frozenset({"list", "set", "tuple", "sorted", "frozenset",
                               "iter", "reversed", "filter"})
# Calls that only look at the work: passing it to them hands nothing on.
_INSPECTING_CALLS = frozenset({"len", "bool", "isinstance", "print", "str",
                               "repr", "id", "hash", "any", "all", "sum",
                               "enumerate", "zip", "getattr", "hasattr"})
CANCEL_METHODS = frozenset({"cancel", "kill", "terminate"})
# Module functions that kill the greenthread given as first argument.
KILL_FUNCTIONS = frozenset({"eventlet.kill", "eventlet.greenthread.kill"})
# Methods that wait for the work to finish without a timeout.
SETTLE_METHODS = CANCEL_METHODS | {"join", "wait", "result", "exception"}


def root_keys(expr: ast.AST) -> set[str]:
    """Dotted names whose value ``expr`` is drawn from (``tasks.values()``
    -> {"tasks"}; ``[f for f in fs]`` -> {"fs"})."""
    dotted = dotted_name(expr)
    if dotted is not None:
        return {dotted}
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in _VIEW_METHODS:
            return root_keys(func.value)
        if isinstance(func, ast.Name) and func.id in _COPYING_BUILTINS:
            return set().union(*(root_keys(a) for a in expr.args))
        return set()
    if isinstance(expr, ast.Subscript):
        return root_keys(expr.value)
    if isinstance(expr, ast.Starred):
        return root_keys(expr.value)
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(root_keys(e) for e in expr.elts))
    if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp,
                         ast.DictComp)):
        # Only a comprehension yielding the drawn elements themselves holds
        # the work; ``[f.result() for f in fs]`` holds results.
        drawn = set().union(*(_loop_element_names(g.target, g.iter)
                              for g in expr.generators))
        parts = [expr.key, expr.value] if isinstance(expr, ast.DictComp) \
            else [expr.elt]
        if not any(root_keys(part) & drawn for part in parts):
            return set()
        return set().union(*(root_keys(g.iter) for g in expr.generators))
    if isinstance(expr, ast.BoolOp):
        return set().union(*(root_keys(v) for v in expr.values))
    if isinstance(expr, ast.IfExp):
        return root_keys(expr.body) | root_keys(expr.orelse)
    return set()


def _loop_element_names(target: ast.AST, iterable: ast.AST) -> set[str]:
    """Names of a loop target that receive work drawn from ``iterable``."""
    if isinstance(iterable, ast.Call) and \
            isinstance(iterable.func, ast.Attribute):
        if iterable.func.attr == "keys":
            return set()
        if iterable.func.attr == "items" and \
                isinstance(target, (ast.Tuple, ast.List)) and target.elts:
            return set(assigned_names(target.elts[-1]))
    if isinstance(iterable, ast.Call) and \
            isinstance(iterable.func, ast.Name) and \
            iterable.func.id == "enumerate" and \
            isinstance(target, (ast.Tuple, ast.List)) and target.elts:
        return set(assigned_names(target.elts[-1]))
    return set(assigned_names(target))


def _unwrap_enumerate(iterable: ast.AST) -> ast.AST:
    if isinstance(iterable, ast.Call) and \
            isinstance(iterable.func, ast.Name) and \
            iterable.func.id == "enumerate" and iterable.args:
        return iterable.args[0]
    return iterable


class Position:
    """A bare source position, to ask about what comes after a node ends."""

    def __init__(self, lineno: int, col_offset: int):
        self.lineno = lineno
        self.col_offset = col_offset

    @classmethod
    def end_of(cls, node: ast.AST) -> "Position":
        return cls(node.end_lineno, node.end_col_offset)


class PendingWork:
    """The work reachable from ``roots`` inside ``func``."""

    def __init__(self, func: ast.AST, roots: set[str], facts):
        self.func = func
        self.facts = facts
        self.collections = set(roots)
        self.elements: set[str] = set()
        self._local = sorted(
            (n for n in walk_local(func) if hasattr(n, "lineno")),
            key=lambda n: (n.lineno, n.col_offset))
        self._follow()

    @property
    def keys(self) -> set[str]:
        return self.collections | self.elements

    def holds_work(self, expr: ast.AST) -> bool:
        return _overlaps(root_keys(expr), self.keys)

    def _follow(self) -> None:
        # Two passes: a loop body may feed names used earlier in the loop.
        for _ in range(2):
            for node in self._local:
                if isinstance(node, ast.Assign):
                    self._follow_assign(node.targets, node.value)
                elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and \
                        node.value is not None:
                    self._follow_assign([node.target], node.value)
                elif isinstance(node, (ast.For, ast.AsyncFor)):
                    self._follow_loop(node.target, node.iter)
                elif isinstance(node, (ast.ListComp, ast.SetComp,
                                       ast.GeneratorExp, ast.DictComp)):
                    for generator in node.generators:
                        self._follow_loop(generator.target, generator.iter)

    def _follow_assign(self, targets, value: ast.AST) -> None:
        keys = root_keys(value)
        if not _overlaps(keys, self.keys):
            return
        holder = self.elements if isinstance(value, ast.Subscript) and \
            not keys & self.elements and not isinstance(
                value.slice, ast.Slice) else self.collections
        for target in targets:
            holder.update(assigned_names(target))

    def _follow_loop(self, target: ast.AST, iterable: ast.AST) -> None:
        if _overlaps(root_keys(_unwrap_enumerate(iterable)), self.keys):
            self.elements.update(_loop_element_names(target, iterable))

    def _calls_after(self, anchor: ast.AST):
        limit = (anchor.lineno, anchor.col_offset)
        for node in self._local:
            if isinstance(node, ast.Call) and \
                    (node.lineno, node.col_offset) > limit:
                yield node

    def is_cancelled_after(self, anchor: ast.AST,
                           methods=CANCEL_METHODS) -> bool:
        """Whether a call after ``anchor`` cancels or kills the work."""
        for call in self._calls_after(anchor):
            func = call.func
            if isinstance(func, ast.Attribute):
                if func.attr in methods and self.holds_work(func.value):
                    return True
                if func.attr == "shutdown" and any(
                        kw.arg == "cancel_futures" and not (
                            isinstance(kw.value, ast.Constant)
                            and not kw.value.value)
                        for kw in call.keywords):
                    return True
            if call.args and self.holds_work(call.args[0]) and \
                    self.facts.qualified_name(func) in KILL_FUNCTIONS:
                return True
        return False

    def is_settled_after(self, anchor: ast.AST) -> bool:
        """Cancelled, killed, joined or waited for without a timeout."""
        return self.is_cancelled_after(anchor, SETTLE_METHODS)

    def is_handed_on_after(self, anchor: ast.AST) -> bool:
        """Whether after ``anchor`` the work is returned, yielded, stored on
        self, or the collection itself is passed to another call."""
        limit = (anchor.lineno, anchor.col_offset)
        for node in self._local:
            if (node.lineno, node.col_offset) <= limit:
                continue
            if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) \
                    and node.value is not None and self.holds_work(node.value):
                return True
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and \
                    node.value is not None and self.holds_work(node.value):
                targets = getattr(node, "targets", None) or [node.target]
                if any(_stores_outside(t) for t in targets):
                    return True
            if isinstance(node, ast.Call) and self._passes_collection(node):
                return True
        return False

    def _passes_collection(self, call: ast.Call) -> bool:
        callee = dotted_name(call.func)
        if callee is not None and last_name(callee) in \
                _INSPECTING_CALLS | _COPYING_BUILTINS:
            return False
        if logging_method(call, self.facts):
            return False
        values = list(call.args) + [kw.value for kw in call.keywords]
        return any(_overlaps(root_keys(v), self.collections)
                   for v in values)


def _overlaps(found: set[str], keys: set[str]) -> bool:
    """Whether a found key is one of ``keys`` or an attribute of one."""
    for key in found:
        if key in keys:
            return True
        head = key
        while "." in head:
            head = head.rpartition(".")[0]
            if head in keys:
                return True
    return False


_CREATING_METHODS = frozenset({"submit", "spawn", "spawn_n", "spawn_after",
                               "spawn_on", "apply_async"})
_CREATING_CALLABLES = frozenset({
    "threading.Thread", "threading.Timer", "multiprocessing.Process",
    "eventlet.spawn", "eventlet.spawn_n", "eventlet.spawn_after",
    "eventlet.greenthread.spawn", "eventlet.greenthread.spawn_n",
    "eventlet.greenthread.spawn_after",
})


def creates_work(call: ast.AST, facts) -> bool:
    """Whether ``call`` starts a future, greenthread, thread or process."""
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _CREATING_METHODS:
        return True
    if facts.qualified_name(func) in _CREATING_CALLABLES:
        return True
    name = dotted_name(func)
    return name is not None and last_name(name).startswith("spawn")


def created_work(func: ast.AST, facts) -> set[str]:
    """Names in ``func`` that hold work started in ``func`` itself."""
    return facts.memo(_created_work, func)


def _created_work(facts, func: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in walk_local(func):
        if isinstance(node, ast.Assign) and any(
                creates_work(inner, facts) for inner in ast.walk(node.value)):
            for target in node.targets:
                names.update(assigned_names(target))
                if isinstance(target, ast.Subscript):
                    names.update(filter(None, [dotted_name(target.value)]))
        elif isinstance(node, ast.Call) and \
                isinstance(node.func, ast.Attribute) and \
                node.func.attr in {"append", "add", "extend"} and \
                any(creates_work(a, facts) for a in node.args):
            names.update(filter(None, [dotted_name(node.func.value)]))
    return names


def started_before(func: ast.AST, anchor: ast.AST, facts) -> bool:
    """Whether ``func`` binds a name to new work (a future, greenthread,
    thread) before ``anchor``."""
    limit = (anchor.lineno, anchor.col_offset)
    return any(isinstance(node, ast.Assign) and
               (node.lineno, node.col_offset) < limit and
               any(creates_work(inner, facts)
                   for inner in ast.walk(node.value))
               for node in walk_local(func))


def _stores_outside(target: ast.AST) -> bool:
    """Whether an assignment target is object or class state."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
        if isinstance(target, ast.Name) and target.id in {"self", "cls"}:
            return True
    return False
