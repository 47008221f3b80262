"""One model of a module's concurrency, built once, lazily (issue 10).

What it knows about the module:

* the call graph of its own functions and methods, by name (``f()``),
  ``self.m()``/``cls.m()`` and ``ClassName.m()``;
* every lock it already takes, in every form (``with L:``, ``with
  lockutils.lock('name'):``, ``@utils.synchronized('name')``,
  acquire/try/finally-release) and the lock's identity: a lockutils name
  taken by ``lock('x')`` and by ``synchronized('x')`` is one lock;
* which accesses of a shared global run under which of those locks;
* the calls that may block: database, RPC, network, subprocess, sleep,
  fork/launch, ``.wait()``/``.result()``/``.join()``, and any call into
  code the module does not own.

:func:`nova_secaudit.analysis.locking.plan_locks` uses it to decide, for
every NSA201/NSA202 site of the module together, whether a lock can be
added mechanically and which one.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from nova_secaudit.analysis import ancestors, parent_of
from nova_secaudit.analysis.functions import walk
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.logs import logging_method
from nova_secaudit.analysis.mutables import (
    enclosing_class, global_reference, module_state)
from nova_secaudit.analysis.names import last_name, name_tokens
from nova_secaudit.analysis.scopes import (
    held_locks, is_init_code, is_lock_expression, is_synchronized_decorator)

# Methods that change their receiver in place (setdefault is atomic).
MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "popitem",
                              "clear", "update", "add", "discard", "remove",
                              "appendleft", "extendleft", "popleft",
                              "difference_update", "intersection_update",
                              "symmetric_difference_update", "sort",
                              "reverse"})
# Methods of builtin containers and strings: in-memory, never blocking.
CONTAINER_METHODS = MUTATING_METHODS | frozenset({
    "get", "keys", "values", "items", "copy", "setdefault", "count",
    "index", "format", "join", "split", "rsplit", "strip", "lstrip",
    "rstrip", "lower", "upper", "startswith", "endswith", "replace",
    "encode", "decode", "partition", "rpartition", "__contains__"})
# Whole-container reads: they iterate it, so a writer racing them breaks
# them ("dictionary changed size during iteration").
WHOLE_READ_METHODS = frozenset({"keys", "values", "items", "copy", "index",
                                "count"})
# The standard library modules whose calls are in-memory computations.
PURE_MODULES = frozenset({"re", "collections", "copy", "itertools",
                          "functools", "operator", "string", "weakref",
                          "threading", "typing", "json", "os.path",
                          "nova.i18n", "oslo_utils.strutils",
                          "oslo_utils.uuidutils", "oslo_utils.timeutils"})
LOCK_FACTORY_NAMES = frozenset({"lock", "internal_lock", "external_lock",
                                "synchronized", "synchronised"})
DB_DECORATOR_TOKENS = frozenset({"reader", "writer", "remotable",
                                 "select_db_reader_mode", "db"})
# (tokens of a call's name or qualified name, what the call does)
BLOCKING_KINDS = (
    (frozenset({"sleep"}), "sleeps"),
    (frozenset({"fork", "launch", "spawn", "execute", "subprocess",
                "processutils", "privsep", "popen", "check_output"}),
     "forks or runs a process"),
    (frozenset({"wait", "result", "join", "waitall"}),
     "waits for other work"),
    (frozenset({"call", "cast", "prepare", "rpcapi", "oslo_messaging",
                "messaging"}), "makes an RPC"),
    (frozenset({"requests", "urllib", "socket", "http", "keystoneauth1",
                "urlopen", "client", "session", "connect"}),
     "uses the network"),
    (frozenset({"db", "objects", "query", "sqlalchemy", "oslo_db",
                "api_db_api", "save", "destroy"}),
     "queries the database"),
)
_BUILTINS = frozenset(dir(builtins)) - {"open", "input", "exec", "eval",
                                        "__import__"}


@dataclass(frozen=True)
class Lock:
    """A lock the module takes somewhere."""

    key: str  # identity: "named:<lockutils name>" or "expr:<dotted>"
    form: str  # "with", "decorator" or "acquire"
    text: str  # the expression as written (for a fix reusing it)
    per_item: bool  # keyed by a run-time value: no single lock to reuse
    line: int


def lock_of(form: str, expr) -> Lock:
    """The :class:`Lock` a ``held_locks`` entry stands for."""
    if form == "acquire":  # expr is the released receiver's dotted name
        return Lock("expr:" + expr, form, expr, False, 0)
    text = ast.unparse(expr)
    line = expr.lineno
    if isinstance(expr, ast.Subscript):  # with self._locks[key]:
        return Lock("expr:" + text, form, text, True, line)
    if isinstance(expr, ast.Call):
        callee = dotted_name(expr.func) or ""
        args = expr.args[:1]
        literal = bool(args) and isinstance(args[0], ast.Constant) and \
            isinstance(args[0].value, str)
        if last_name(callee) in LOCK_FACTORY_NAMES:
            if literal:
                return Lock("named:" + args[0].value, form, text, False,
                            line)
            return Lock("expr:" + text, form, text, True, line)
        return Lock("expr:" + text, form, text, False, line)
    return Lock("expr:" + text, form, text, False, line)


def locks_at(node: ast.AST, facts) -> tuple[Lock, ...]:
    return tuple(lock_of(form, expr)
                 for form, expr in held_locks(node, facts))


@dataclass
class Access:
    """One use of a shared global inside a function."""

    node: ast.AST
    write: bool
    whole: bool  # reads the whole container (iteration, copy, concat)
    locks: tuple[Lock, ...]


class Concurrency:
    """The model; get it with ``facts.memo(concurrency)``."""

    def __init__(self, facts):
        self.facts = facts
        self.functions: dict[str, ast.AST] = {}
        self.classes: set[str] = set()
        for stmt in getattr(facts.tree, "body", ()):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                self.classes.add(stmt.name)
                for item in stmt.body:
                    if isinstance(item, (ast.FunctionDef,
                                         ast.AsyncFunctionDef)):
                        self.functions[f"{stmt.name}.{item.name}"] = item
        self.key_of = {id(f): k for k, f in self.functions.items()}
        self._calls: dict[str, list] = {}
        self._takes: dict[str, frozenset[str]] = {}
        self._accesses: dict[str, list[Access]] = {}
        self._held_reach: dict[str, dict[str, ast.Call]] = {}

    # -- call graph ---------------------------------------------------------
    def function_key(self, node: ast.AST) -> str | None:
        """The key of the top-level function or method holding ``node``."""
        found = None
        for parent in [node, *ancestors(node)]:
            if id(parent) in self.key_of:
                found = self.key_of[id(parent)]
        return found

    def callee(self, call: ast.Call) -> str | None:
        """The module's own function or method ``call`` runs, if any."""
        func = call.func
        if isinstance(func, ast.Name):
            if not global_reference(func.id, call, self.facts):
                return None
            if func.id in self.functions:
                return func.id
            if func.id in self.classes:
                init = f"{func.id}.__init__"
                return init if init in self.functions else None
            return None
        if isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Name):
            owner = func.value.id
            if owner in ("self", "cls"):
                cls = enclosing_class(call)
                owner = cls.name if cls is not None else ""
            key = f"{owner}.{func.attr}"
            return key if key in self.functions else None
        return None

    def calls(self, key: str) -> list[tuple[ast.Call, str | None]]:
        """Every call in function ``key`` with its own callee or None."""
        found = self._calls.get(key)
        if found is None:
            found = self._calls[key] = [
                (node, self.callee(node))
                for node in walk(self.functions[key])
                if isinstance(node, ast.Call)]
        return found

    def reachable(self, calls) -> dict[str, ast.Call]:
        """Own functions ``calls`` run, transitively -> the first call."""
        seen: dict[str, ast.Call] = {}
        stack = [(key, call) for call, key in calls if key]
        while stack:
            key, first = stack.pop()
            if key in seen:
                continue
            seen[key] = first
            stack.extend((inner, first) for _, inner in self.calls(key)
                         if inner and inner not in seen)
        return seen

    # -- locks ----------------------------------------------------------------
    def takes(self, key: str) -> frozenset[str]:
        """Keys of the locks function ``key`` takes itself."""
        found = self._takes.get(key)
        if found is None:
            func = self.functions[key]
            settings = self.facts.settings
            keys = {lock_of("decorator", d).key for d in func.decorator_list
                    if is_synchronized_decorator(d, settings)}
            for node in walk(func):
                if isinstance(node, (ast.With, ast.AsyncWith)):
                    keys.update(lock_of("with", item.context_expr).key
                                for item in node.items
                                if is_lock_expression(item.context_expr,
                                                      self.facts))
                elif isinstance(node, ast.Call) and \
                        isinstance(node.func, ast.Attribute) and \
                        node.func.attr == "acquire":
                    receiver = dotted_name(node.func.value)
                    if receiver:
                        keys.add("expr:" + receiver)
            found = self._takes[key] = frozenset(keys)
        return found

    def reached_holding(self, lock_key: str) -> dict[str, ast.Call]:
        """Own functions run, directly or through others, by calls made
        while ``lock_key`` is held -> the call that holds it."""
        found = self._held_reach.get(lock_key)
        if found is None:
            holding = [(call, callee) for key in self.functions
                       for call, callee in self.calls(key)
                       if callee is not None and any(
                           lock.key == lock_key
                           for lock in locks_at(call, self.facts))]
            found = self._held_reach[lock_key] = self.reachable(holding)
        return found

    # -- blocking calls -------------------------------------------------------
    def blocking_call(self, statements, build: ast.AST | None = None):
        """(call in ``statements``, the call that may block -- the same
        or one in own code it runs --, what it does) for the first one.
        ``build`` is the lazy singleton's own build call, allowed unless
        it is known to block."""
        # (call, whether it runs as part of the build, the region's call)
        calls = [(node, node is build, node) for stmt in statements
                 for node in walk(stmt) if isinstance(node, ast.Call)]
        seen: set[str] = set()
        while calls:
            call, building, outer = calls.pop(0)
            verdict = self._call_verdict(call, building)
            if verdict is None:
                continue
            if isinstance(verdict, str):
                return outer, call, verdict
            key = verdict[0]
            if key in seen:
                continue
            seen.add(key)
            func = self.functions[key]
            reason = _decorator_blocks(func)
            if reason:
                return outer, call, reason
            # The build's own code may construct what it builds.
            calls.extend((node, building, outer) for node in walk(func)
                         if isinstance(node, ast.Call))
        return None

    def _call_verdict(self, call: ast.Call, is_build: bool):
        """None: harmless; a str: why it may block; (key,): own code."""
        own = self.callee(call)
        if own is not None:
            return (own,)
        func = call.func
        if isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Constant):
            return None  # ``', '.join(names)``: a str method
        if _in_raise(call):
            return None  # an exception built to be raised
        name = dotted_name(func) or getattr(func, "attr", "")
        resolved = self.facts.qualified_name(func)
        qualified = resolved or name
        # What the call is: its own name, and the imported module it comes
        # from (never a local receiver's name: ``_execute_log.append``).
        path = qualified.split(".") if resolved and \
            not resolved.startswith("builtins.") and \
            not resolved.startswith(self.facts.imports.module_name + ".") \
            else []
        tokens = set(name_tokens(last_name(name))) | set(path) | {
            t for part in path for t in name_tokens(part)}
        for kinds, why in BLOCKING_KINDS:
            if tokens & kinds:
                return why
        if name == "open":
            return "does file I/O"
        if is_build:
            return None
        if isinstance(func, ast.Name):
            harmless = func.id in self.classes or func.id == "_" or (
                func.id in _BUILTINS and qualified.startswith("builtins."))
            return None if harmless else "calls code this module does not own"
        if isinstance(func, ast.Attribute):
            if func.attr in CONTAINER_METHODS or \
                    func.attr.startswith("__") or func.attr == "mro" or \
                    logging_method(call, self.facts) or \
                    qualified.rpartition(".")[0] in PURE_MODULES:
                return None
            if isinstance(func.value, ast.Call) and \
                    dotted_name(func.value.func) == "super":
                return None
        return "calls code this module does not own"

    # -- accesses of a shared global -----------------------------------------
    def accesses(self, name: str, kind: str) -> list[Access]:
        """Non-initialisation uses of module global (``kind`` "module")
        or class attribute ``Class.attr`` ("class") in functions."""
        key = f"{kind}:{name}"
        found = self._accesses.get(key)
        if found is None:
            found = self._accesses[key] = list(self._find(name, kind))
        return found

    def _find(self, name: str, kind: str):
        """In source order. Only the statements whose lines hold the name
        are looked at (a name is one token, on one line)."""
        facts = self.facts
        mutable = name in facts.memo(module_state).mutables or \
            kind == "class"
        owner, _, attr = name.partition(".")
        facts.expand_lines((attr or name,))
        if kind == "module":
            uses = [node for node in facts.line_nodes(ast.Name)
                    if node.id == name and
                    global_reference(name, node, facts)]
        else:
            uses = [node for node in facts.line_nodes(ast.Attribute)
                    if node.attr == attr and
                    isinstance(node.value, ast.Name) and
                    _names_class(node, owner)]
        for node in uses:
            if self.function_key(node) is None or is_init_code(node, facts):
                continue
            write, whole = _use(node, mutable)
            yield Access(node, write, whole, locks_at(node, facts))


def _names_class(node: ast.Attribute, owner: str) -> bool:
    if node.value.id == owner:
        return True
    if node.value.id in ("self", "cls"):
        cls = enclosing_class(node)
        return cls is not None and cls.name == owner
    return False


def _use(node: ast.AST, mutable: bool) -> tuple[bool, bool]:
    """(writes it, reads the whole container) for one use of a global."""
    if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
        return True, False
    parent = parent_of(node)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return isinstance(parent.ctx, (ast.Store, ast.Del)), False
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in MUTATING_METHODS:
            return True, False
        return False, mutable and parent.attr in WHOLE_READ_METHODS
    if isinstance(parent, ast.AugAssign):
        return True, False
    if not mutable:
        return False, False
    if isinstance(parent, (ast.For, ast.comprehension)) and \
            parent.iter is node:
        return False, True
    if isinstance(parent, ast.BinOp):
        return False, True
    if isinstance(parent, ast.Call) and node in parent.args:
        callee = dotted_name(parent.func) or ""
        return False, callee not in ("len", "bool", "id", "isinstance")
    return False, False


def _in_raise(node: ast.AST) -> bool:
    for parent in ancestors(node):
        if isinstance(parent, ast.Raise):
            return True
        if isinstance(parent, ast.stmt):
            return False
    return False


def _decorator_blocks(func) -> str | None:
    """Why a decorator makes every call of ``func`` block (a database
    transaction, a remotable object method), or None."""
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) \
            else decorator
        name = dotted_name(target) or ""
        parts = {t for part in name.split(".") for t in name_tokens(part)}
        parts.update(name.split("."))
        if parts & DB_DECORATOR_TOKENS:
            return "queries the database (@%s)" % name
    return None


def concurrency(facts) -> Concurrency:
    """The module's model (use as ``facts.memo(concurrency)``)."""
    return Concurrency(facts)
