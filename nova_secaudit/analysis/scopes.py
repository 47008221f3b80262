"""Guarded regions and initialisation code (RULES.md, shared definitions).

Guarded: lexically inside ``with L:`` where L is lock-like (a lock token in
its name, a name bound to a threading/multiprocessing/eventlet primitive,
or a ``lockutils.lock(...)``-style call); inside a function, or any
enclosing function, decorated ``synchronized`` / ``*.synchronized(...)``
(or a configured decorator); or inside a ``try`` whose ``finally`` releases
a lock acquired before it (``L.acquire(); try: ... finally: L.release()``).

Initialisation code runs once, at import time, before threads exist: module
top level and class bodies, ``if __name__ == "__main__":`` blocks, functions
whose every use is a call or a decorator application at module top level
(import-time registration; any other reference -- a dispatch dict,
``Thread(target=f)``, a callback, a default argument -- lets it run
later), registration decorators used from other modules (see
:func:`is_registration_decorator`), class-definition hooks, and configured
init-function names.
"""

from __future__ import annotations

import ast

from nova_secaudit.analysis import (
    FUNCTION_TYPES, MAX_LINE_WORDS, ancestors, parent_of,
    statement_expressions)
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.names import last_name, name_tokens

LOCK_TOKENS = frozenset({"lock", "locks", "rlock", "mutex", "sem",
                         "semaphore"})
LOCK_CONSTRUCTORS = frozenset({
    f"{module}.{kind}"
    for module in ("threading", "multiprocessing", "eventlet.semaphore",
                   "eventlet.green.threading", "eventlet.lock",
                   "multiprocessing.synchronize", "asyncio")
    for kind in ("Lock", "RLock", "Semaphore", "BoundedSemaphore",
                 "Condition")
}) | frozenset({"eventlet.semaphore.CappedSemaphore",
                "oslo_concurrency.lockutils.Semaphores",
                "oslo_concurrency.lockutils.ReaderWriterLock",
                "fasteners.ReaderWriterLock", "fasteners.InterProcessLock"})
LOCK_CONSTRUCTOR_NAMES = frozenset(n.rpartition(".")[2]
                                   for n in LOCK_CONSTRUCTORS)
LOCK_CALLS = frozenset({"oslo_concurrency.lockutils.lock",
                        "oslo_concurrency.lockutils.internal_lock",
                        "oslo_concurrency.lockutils.external_lock"})
SYNCHRONIZED_NAMES = frozenset({"synchronized", "synchronised",
                                "synchronized_with_prefix"})
MAIN_GUARD = "__main__"


def is_lock_name(name: str, settings) -> bool:
    """``_CACHE_LOCK``, ``cells_lock``, ``mutex`` yes; ``block``, ``clock``
    no (whole tokens); plus names configured in ``lock_names``."""
    if name in settings.lock_names or \
            last_name(name) in settings.lock_names:
        return True
    return any(t in LOCK_TOKENS for t in name_tokens(last_name(name)))


def _lock_bound_names(facts) -> frozenset[str]:
    """Names and ``self.x`` chains bound anywhere to a lock primitive."""
    found = set()
    for assign in facts.nodes(ast.Assign):
        value = assign.value
        if not isinstance(value, ast.Call):
            continue
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else \
            getattr(func, "id", None)
        if called not in LOCK_CONSTRUCTOR_NAMES or \
                facts.qualified_name(func) not in LOCK_CONSTRUCTORS:
            continue
        for target in assign.targets:
            name = dotted_name(target)
            if name:
                found.add(name)
    return frozenset(found)


def is_lock_expression(expr: ast.AST, facts) -> bool:
    """Whether ``with expr:`` holds a lock."""
    settings = facts.settings
    if isinstance(expr, ast.Call):
        func = expr.func
        name = dotted_name(func)
        if name is None:
            return False
        if is_lock_name(name, settings):  # lockutils.lock(), get_lock()
            return True
        qualified = facts.qualified_name(func)
        return qualified in LOCK_CALLS or qualified in LOCK_CONSTRUCTORS
    if isinstance(expr, ast.Subscript):  # with self._locks[key]:
        expr = expr.value
    name = dotted_name(expr)
    if name is None:
        return False
    return is_lock_name(name, settings) or \
        name in facts.memo(_lock_bound_names)


def is_synchronized_decorator(decorator: ast.AST, settings) -> bool:
    """``@synchronized``, ``@utils.synchronized(x)``,
    ``@lockutils.synchronized(...)``, or a configured decorator."""
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    name = dotted_name(decorator)
    if name is None:
        return False
    configured = settings.synchronized_decorators
    return last_name(name) in SYNCHRONIZED_NAMES or name in configured or \
        last_name(name) in configured


def _releases_in_finally(try_node: ast.Try, node: ast.AST) -> set[str]:
    """Receivers released in ``try_node``'s finally, when ``node`` is in
    its body, handlers or else (not in the finally itself)."""
    released = set()
    for stmt in try_node.finalbody:
        for inner in ast.walk(stmt):
            if inner is node:
                return set()
            if isinstance(inner, ast.Call) and \
                    isinstance(inner.func, ast.Attribute) and \
                    inner.func.attr == "release":
                name = dotted_name(inner.func.value)
                if name:
                    released.add(name)
    return released


def _acquired_before(try_node: ast.AST, names: set[str]) -> bool:
    """Whether one of ``names`` is acquired before ``try_node`` (or as the
    first statement of its body) in the enclosing block."""
    parent = parent_of(try_node)
    candidates = list(try_node.body[:1])
    for field_name in ("body", "orelse", "finalbody"):
        block = getattr(parent, field_name, None)
        if isinstance(block, list) and try_node in block:
            candidates.extend(block[:block.index(try_node)])
    if isinstance(parent, ast.If):  # if lock.acquire(False): try/finally
        candidates.append(parent.test)
    for stmt in candidates:
        for inner in ast.walk(stmt):
            if isinstance(inner, ast.Call) and \
                    isinstance(inner.func, ast.Attribute) and \
                    inner.func.attr == "acquire" and \
                    dotted_name(inner.func.value) in names:
                return True
    return False


def held_locks(node: ast.AST, facts):
    """What holds a lock around ``node``, innermost first: ``("with",
    expr)`` for a ``with`` item, ``("decorator", decorator)`` for a
    synchronized def around it, ``("acquire", receiver)`` for an
    acquire/try/finally-release (RULES.md's three guarded forms)."""
    settings = facts.settings
    child = node
    for parent in ancestors(node):
        if isinstance(parent, (ast.With, ast.AsyncWith)):
            if child not in parent.items:
                for item in parent.items:
                    if is_lock_expression(item.context_expr, facts):
                        yield "with", item.context_expr
        elif isinstance(parent, ast.Try):
            released = _releases_in_finally(parent, node)
            if released and _acquired_before(parent, released):
                yield "acquire", sorted(released)[0]
        elif isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in parent.decorator_list:
                if is_synchronized_decorator(decorator, settings):
                    yield "decorator", decorator
        elif isinstance(parent, (ast.ClassDef, ast.Module)):
            return
        child = parent


def is_guarded(node: ast.AST, facts) -> bool:
    """Whether ``node`` runs while a lock is held (see module docstring)."""
    return next(held_locks(node, facts), None) is not None


def _is_main_guard(stmt: ast.AST) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    parts = [stmt.test.left] + list(stmt.test.comparators)
    return any(isinstance(p, ast.Name) and p.id == "__name__"
               for p in parts) and any(
        isinstance(p, ast.Constant) and p.value == MAIN_GUARD for p in parts)


def _runs_at_import_only(facts, name: str) -> bool:
    """Whether the top-level function ``name`` is used, and every use a
    call or a decorator application at module top level.

    RULES.md: class bodies and top-level ``if``/``try`` blocks count as top
    level. Any other reference -- inside a function body or a lambda, in a
    dispatch dict, as ``Thread(target=f)`` or a callback, as a default
    argument -- means it may run later, from a request thread. Only the
    statements whose lines hold the name are looked at; once
    ``MAX_LINE_WORDS`` names have been asked about (a text search each),
    every name of the module is looked at once, for all of them. Use as
    ``facts.memo(_runs_at_import_only, name)``.
    """
    searched = facts.memo(_names_searched)
    if len(searched) >= MAX_LINE_WORDS:
        return name in facts.memo(_import_time_functions)
    searched.add(name)
    statements = facts.statements_naming((name,))
    if statements is None:
        return name in facts.memo(_import_time_functions)
    uses = [_applied_at_import(node) for statement in statements
            for node in statement_expressions(statement)
            if node.__class__ is ast.Name and node.id == name and
            node.ctx.__class__ is ast.Load and
            not isinstance(parent_of(node), ast.arg)]
    return bool(uses) and all(uses)


def _import_time_functions(facts) -> frozenset[str]:
    """The top-level functions :func:`_runs_at_import_only` holds for,
    found in one walk over every name of the module."""
    top = facts.memo(_top_functions)
    at_import, later = set(), set()
    for node in facts.nodes(ast.Name):
        if node.id in top and node.ctx.__class__ is ast.Load and \
                not isinstance(parent_of(node), ast.arg):
            (at_import if _applied_at_import(node) else later).add(node.id)
    return frozenset(at_import - later)


def _names_searched(facts) -> set[str]:
    return set()


def _top_functions(facts) -> frozenset[str]:
    return frozenset(
        stmt.name for stmt in getattr(facts.tree, "body", ())
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _applied_at_import(node: ast.Name) -> bool:
    """A load of a name that calls it or applies it as a decorator, where
    it runs at import (an annotation, never evaluated as a call, is no
    use at all: callers skip it)."""
    parent = parent_of(node)
    applied = (isinstance(parent, ast.Call) and parent.func is node) or \
        (isinstance(parent, _DECORATED) and node in parent.decorator_list)
    return applied and not _runs_later(node)


_DECORATED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _runs_later(node: ast.AST) -> bool:
    """Whether ``node`` lies in the body of a def or lambda (defaults and
    decorators are evaluated where the def is, so they do not count)."""
    child = node
    for parent in ancestors(node):
        if isinstance(parent, ast.Lambda) and child is parent.body:
            return True
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and child in parent.body:
            return True
        child = parent
    return False


REGISTRATION_TOKENS = frozenset({"register", "registry", "registered"})
DECORATED_PARAMETERS = frozenset({"cls", "klass", "class_", "func", "fn",
                                  "function", "f", "decorated"})
CLASS_INIT_HOOKS = frozenset({"__init_subclass__", "__set_name__",
                              "__class_getitem__"})


def _parameters(func) -> list[str]:
    args = func.args
    return [a.arg for a in args.posonlyargs + args.args]


def is_registration_decorator(func, class_level: bool) -> bool:
    """A decorator that records what it decorates and hands it back.

    Shape: every ``return`` gives back the decorated parameter unchanged,
    and the function says it registers (a register/registry token) or its
    parameter is named like a decorated object (``cls``, ``func``...).
    Such functions run when the decorated module is imported (nova's
    NovaObjectRegistry.register_notification, cinder's
    ``interface.volumedriver``), not per request.
    """
    if isinstance(func, ast.Lambda):
        return False
    params = _parameters(func)
    if class_level and params and params[0] in ("cls", "self"):
        params = params[1:]
    if len(params) != 1:
        return False
    param = params[0]
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    if not returns or not all(isinstance(r.value, ast.Name) and
                              r.value.id == param for r in returns):
        return False
    return param in DECORATED_PARAMETERS or any(
        t in REGISTRATION_TOKENS for t in name_tokens(func.name))


def _is_class_init_hook(func, cls) -> bool:
    """``__init_subclass__`` and classmethods named ``*_init`` (cinder's
    ``cinder_ovo_cls_init``) run once per class, when it is defined."""
    if func.name in CLASS_INIT_HOOKS:
        return True
    if func.name.startswith("__"):
        return False
    is_classmethod = any(dotted_name(d) == "classmethod"
                         for d in func.decorator_list)
    return is_classmethod and "init" in name_tokens(func.name)


def body_ranges(facts) -> list[tuple[int, int]]:
    """(first, last) lines of every def's body (not its decorators or
    ``def`` line); use as ``facts.memo(body_ranges)``."""
    return [(func.body[0].lineno, func.end_lineno)
            for node_type in (ast.FunctionDef, ast.AsyncFunctionDef)
            for func in facts.nodes(node_type)]


def is_init_code(node: ast.AST, facts) -> bool:
    """Whether ``node`` only runs while the module is being imported (or as
    the program's ``__main__``), before any request thread exists."""
    outer = None
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES):
            outer = parent
            if getattr(parent, "name", None) in facts.settings.init_functions:
                return True
        elif isinstance(parent, ast.If) and _is_main_guard(parent) and \
                isinstance(parent_of(parent), ast.Module):
            return True
    if outer is None:
        return True
    if isinstance(outer, ast.Lambda):
        return False
    holder = parent_of(outer)
    if isinstance(holder, ast.ClassDef):
        return is_registration_decorator(outer, class_level=True) or \
            _is_class_init_hook(outer, holder)
    if not isinstance(holder, ast.Module):
        return False
    return is_registration_decorator(outer, class_level=False) or \
        facts.memo(_runs_at_import_only, outer.name)
