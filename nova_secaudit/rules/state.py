"""NSA2xx: module-level and class-level mutable state changed without a lock.

Fix data (for the codemod) on every finding:
    ``global``       the shared name (``CELLS`` or ``ClassName.attr``);
    ``scope``        ``module`` or ``class``;
    ``lock``         the lock to define and hold (``_CELLS_LOCK``);
    ``block_start``/``block_end`` (NSA202 only): first and last line of the
                     whole check-then-act block to wrap, both 1-based.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nova_secaudit.analysis import (
    FUNCTION_TYPES, block_of, enclosing_function, enclosing_statement,
    is_within, parent_of)
from nova_secaudit.analysis.concurrency import MUTATING_METHODS
from nova_secaudit.analysis.locking import Candidate, plan_locks
from nova_secaudit.analysis.functions import target_elements, walk_local
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.mutables import (
    SharedTarget, declared_global_names, declares_global, lock_name_for,
    module_state, shared_container, shared_names,
    statements_naming_shared_state)
from nova_secaudit.analysis.scopes import is_guarded, is_init_code
from nova_secaudit.engine import Example, FixSafety, Rule

FAMILY = ("2", "state", "Unsynchronized shared state")

LOOKUP_ERRORS = frozenset({"KeyError", "LookupError", "IndexError",
                           "Exception", "BaseException"})


@dataclass(frozen=True)
class Site:
    """One unguarded change of shared state."""

    node: ast.AST  # the reported node (statement or call)
    target: SharedTarget
    action: str
    key: str  # dotted expression naming the container, as written


def _target_key(expr: ast.AST) -> str | None:
    return dotted_name(expr)


def _module_global_target(name: str) -> SharedTarget:
    return SharedTarget(name, "module", lock_name_for(name))


def _rebinding_target(target: ast.AST, stmt: ast.AST, facts, *,
                      any_global: bool):
    """SharedTarget when ``target`` rebinds a global or a class mutable.

    ``any_global``: every module global declared ``global`` counts (lazy
    init, augmented assignment); otherwise only module-level mutables.
    """
    if isinstance(target, ast.Name):
        if target.id not in facts.memo(declared_global_names):
            return None
        func = enclosing_function(stmt)
        if func is None or isinstance(func, ast.Lambda) or \
                not declares_global(func, target.id, facts):
            return None
        if any_global or target.id in facts.memo(module_state).mutables:
            return _module_global_target(target.id)
        return None
    if isinstance(target, ast.Attribute) and \
            isinstance(target.value, ast.Name) and \
            target.value.id != "self":
        return shared_container(target, facts, at=stmt)
    return None


def change_sites(node: ast.AST, facts, any_global: bool = False):
    """Changes of shared state made by statement/call ``node``.

    With ``any_global`` a plain rebinding of any ``global``-declared name
    counts too (NSA202 asks; NSA201 only flags rebinding mutables).
    """
    call = getattr(node, "value", None)
    if isinstance(call, ast.Call):  # X.append(v), v = X.pop(k), return ...
        func = call.func
        if isinstance(func, ast.Attribute) and \
                func.attr in MUTATING_METHODS:
            target = shared_container(func.value, facts, at=node)
            if target is not None:
                yield Site(node, target, f"{func.attr}()",
                           _target_key(func.value))
    if isinstance(node, ast.Delete):
        targets, action = node.targets, "item deleted"
    elif isinstance(node, ast.Assign):
        targets, action = node.targets, "item stored"
    elif isinstance(node, ast.AnnAssign):
        targets, action = [node.target], "item stored"
    elif isinstance(node, ast.AugAssign):
        targets, action = [node.target], "augmented"
    else:  # Expr, Return: only their top call
        return
    for target in targets:
        for element in target_elements(target):
            if isinstance(element, ast.Subscript):
                shared = shared_container(element.value, facts, at=node)
                if shared is not None:
                    yield Site(node, shared, action,
                               _target_key(element.value))
            elif isinstance(node, ast.AugAssign):
                shared = _rebinding_target(element, node, facts,
                                           any_global=True)
                if shared is not None:
                    yield Site(node, shared, "augmented",
                               _target_key(element))
            elif not isinstance(node, ast.Delete):
                shared = _rebinding_target(element, node, facts,
                                           any_global=any_global)
                if shared is not None and not _is_lazy_import(node):
                    yield Site(node, shared, "rebound",
                               _target_key(element))


IMPORT_CALLS = frozenset({"import_module", "__import__", "try_import",
                          "import_class", "import_object"})


def _is_lazy_import(node: ast.AST) -> bool:
    """``X = importutils.import_module('guestfs')``: idempotent; also
    ``X = typing.cast(T, X)``, which changes nothing at run time."""
    value = getattr(node, "value", None)
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else \
        getattr(func, "id", None)
    return name in IMPORT_CALLS or name == "cast"


def _handler_catches_lookup(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) \
        else [handler.type]
    return any((dotted_name(n) or "").rpartition(".")[2] in LOOKUP_ERRORS
               for n in names)


def _loads_in(expr: ast.AST):
    """Dotted names read in ``expr`` (not entering nested scopes)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = dotted_name(node)
            if name is not None:
                yield name, node
                if isinstance(node, ast.Attribute):
                    continue  # the chain's prefixes are not the container
        if not isinstance(node, FUNCTION_TYPES + (ast.ClassDef,)):
            stack.extend(ast.iter_child_nodes(node))


def function_checks(facts, func) -> dict[str, list[ast.AST]]:
    """Reads of shared names that decide what a function does next.

    Dotted name -> checking nodes: names in an if/while/ternary/assert
    test, ``X.get(...)`` lookups, and ``X[k]`` reads in a ``try`` whose
    handler catches KeyError. Use as ``facts.memo(function_checks, func)``:
    the walk records the parents of the nodes it returns for this check
    (a memo kept on the node would hand a later check nodes whose parents
    it never recorded).
    """
    checks: dict[str, list[ast.AST]] = {}
    for node in walk_local(func):
        if isinstance(node, (ast.If, ast.While, ast.IfExp)):
            for name, at in _loads_in(node.test):
                checks.setdefault(name, []).append(node)
        elif isinstance(node, ast.Call) and \
                isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("get", "__contains__"):
            name = dotted_name(node.func.value)
            if name is not None:
                checks.setdefault(name, []).append(node)
        elif isinstance(node, ast.Try) and \
                any(_handler_catches_lookup(h) for h in node.handlers):
            for stmt in node.body:
                for inner in walk_local(stmt) if not isinstance(
                        stmt, FUNCTION_TYPES) else ():
                    if isinstance(inner, ast.Subscript) and \
                            isinstance(inner.ctx, ast.Load):
                        name = dotted_name(inner.value)
                        if name is not None:
                            checks.setdefault(name, []).append(node)
                if isinstance(stmt, ast.Assign) and \
                        isinstance(stmt.value, ast.Subscript):
                    name = dotted_name(stmt.value.value)
                    if name is not None:
                        checks.setdefault(name, []).append(node)
    return checks


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def preceding_check(site: Site, func, facts) -> ast.AST | None:
    """The first check of the site's container before the change."""
    checks = facts.memo(function_checks, func).get(site.key, ())
    at = _start(site.node)
    for check in checks:
        if _start(check) < at or is_within(site.node, check):
            return check
    return None


def _statement_chain(node: ast.AST, func) -> list[ast.AST]:
    chain = []
    stmt = enclosing_statement(node)
    while stmt is not None and stmt is not func:
        if isinstance(stmt, ast.stmt):
            chain.append(stmt)
        stmt = parent_of(stmt)
    return chain


def block_statements_span(check: ast.AST, site: ast.AST, func) -> list:
    """The smallest run of sibling statements holding both."""
    check_chain = _statement_chain(check, func)
    site_chain = _statement_chain(site, func)
    site_ids = {id(s): s for s in site_chain}
    for stmt in check_chain:
        if id(stmt) in site_ids:  # the check's statement holds the site
            return [stmt]
    check_parents = {id(parent_of(s)): s for s in check_chain}
    for stmt in site_chain:
        first = check_parents.get(id(parent_of(stmt)))
        if first is not None:
            block = block_of(first)
            return block[_index(block, first):_index(block, stmt) + 1]
    return [enclosing_statement(site)]


def _index(block: list, stmt: ast.stmt) -> int:
    return next(i for i, s in enumerate(block) if s is stmt)


def block_span(check: ast.AST, site: ast.AST, func) -> tuple[int, int]:
    """Lines of the smallest run of sibling statements holding both."""
    statements = block_statements_span(check, site, func)
    return statements[0].lineno, statements[-1].end_lineno


def _touched_name(expr: ast.AST) -> str | None:
    """``X`` of ``X``, ``X[k]``, ``a.X``, ``a.X[k]`` or ``X.method``."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def _may_change(node: ast.AST, names: frozenset[str]) -> bool:
    """Cheap test before :func:`change_sites`: the statement stores to,
    deletes or calls a method on one of ``names``."""
    call = getattr(node, "value", None)
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
            and call.func.attr in MUTATING_METHODS and \
            _touched_name(call.func.value) in names:
        return True
    targets = getattr(node, "targets", None)
    if targets is None:
        target = getattr(node, "target", None)
        targets = () if target is None else (target,)
    for target in targets:
        for element in target_elements(target):
            if _touched_name(element) in names:
                return True
    return False


def _relevant(node: ast.AST, facts):
    """Unguarded, non-initialisation change sites of ``node`` in a
    function, with that function."""
    sites = list(change_sites(node, facts, any_global=True))
    if not sites:
        return None, ()
    func = enclosing_function(node)
    if func is None or is_init_code(node, facts) or is_guarded(node, facts):
        return func, ()
    return func, sites


class _StateRule(Rule):
    _abstract = True
    # Statements only: a mutating call is seen when it is the statement's
    # own call (``X.append(v)``, ``v = X.pop(k)``, ``return X.pop(k)``).
    statement_only = True

    def applies(self, facts) -> bool:
        """Only modules with a module/class-level mutable or a ``global``
        declaration can have shared state changed in a function."""
        state = facts.memo(module_state)
        return bool(state.mutables or state.class_mutables or
                    facts.memo(declared_global_names))

    def visit_Module(self, node, facts):
        # One pass over the candidate statements, shared by both rules.
        return self._visit(facts.memo(state_changes), facts)


def state_changes(facts) -> tuple:
    """(site, check or None, function) for every unguarded change of shared
    state in a function of the module, in source order (``facts.memo``)."""
    names = facts.memo(shared_names)
    found = []
    for node in facts.memo(statements_naming_shared_state):
        if _may_change(node, names):
            func, sites = _relevant(node, facts)
            found.extend((site, preceding_check(site, func, facts), func)
                         for site in sites)
    found.sort(key=lambda item: _start(item[0].node))
    return tuple(found)


def _is_reported(site: Site, check, facts) -> bool:
    """NSA201 skips a plain rebinding of a non-mutable (NSA202 only)."""
    return check is not None or not (
        site.action == "rebound" and site.target.kind == "module" and
        site.target.name not in facts.memo(module_state).mutables)


def _build_call(site: Site, statements: list):
    """The call building the value the site stores: its own value, or
    the call assigned to the local it stores (``value = build(k)`` ...
    ``CACHE[k] = value``)."""
    if not isinstance(site.node, (ast.Assign, ast.AnnAssign)):
        return None
    value = site.node.value
    if isinstance(value, ast.Call):
        return value
    if not isinstance(value, ast.Name):
        return None
    for stmt in statements:
        for node in [stmt, *walk_local(stmt)]:
            if isinstance(node, ast.Assign) and \
                    isinstance(node.value, ast.Call) and any(
                        isinstance(t, ast.Name) and t.id == value.id
                        for t in node.targets):
                return node.value
    return None


def _half_fix(site: Site, statements: list, func) -> str | None:
    """``if loaded: return`` ... ``loaded = True`` followed by the work
    the flag announces (nova/version.py): locking the check and the flag
    alone lets a second caller return before that work is done."""
    first, node = statements[0], site.node
    if not (isinstance(first, ast.If) and len(first.body) == 1 and
            isinstance(first.body[0], ast.Return) and
            not is_within(node, first) and
            isinstance(getattr(node, "value", None), ast.Constant)):
        return None
    later = [s for s in func.body if s.lineno > node.end_lineno]
    if not later:
        return None
    return (f"{site.target.name} is set at line {node.lineno} before the "
            f"work it announces (lines {later[0].lineno}-"
            f"{later[-1].end_lineno}); a lock over the check and the flag "
            "alone lets other callers go on before that work is done: fix "
            "by hand")


def _is_atomic(site: Site) -> bool:
    """One statement that names the global once and is not a
    read-modify-write: a single dict/list operation, atomic under the
    GIL (``X[k] = v``, ``X.append(v)``, ``del X[k]``, ``X = {}``)."""
    node = site.node
    if isinstance(node, ast.AugAssign):
        return False
    owner, _, attr = site.target.name.rpartition(".")
    uses = 0
    for inner in [node, *walk_local(node)]:
        if isinstance(inner, ast.Name) and not owner and \
                inner.id == site.target.name:
            uses += 1
        elif isinstance(inner, ast.Attribute) and owner and \
                inner.attr == attr:
            uses += 1
    return uses == 1


def lock_plan(facts) -> dict[int, Candidate]:
    """id(site node) -> its decided :class:`Candidate` (``facts.memo``).
    Every reported site of the module is decided together."""
    candidates = {}
    for site, check, func in facts.memo(state_changes):
        if not _is_reported(site, check, facts) or \
                id(site.node) in candidates:
            continue
        statements = [site.node] if check is None else \
            block_statements_span(check, site.node, func)
        candidates[id(site.node)] = Candidate(
            site=site.node, name=site.target.name, kind=site.target.kind,
            lock=site.target.lock, statements=statements, func=func,
            build=_build_call(site, statements),
            half_fix=None if check is None else
            _half_fix(site, statements, func),
            atomic=check is None and _is_atomic(site))
    plan_locks(list(candidates.values()), facts)
    return candidates


def _fix_data(site: Site, facts) -> dict[str, str]:
    data = {"global": site.target.name, "scope": site.target.kind,
            "lock": site.target.lock}
    decided = facts.memo(lock_plan).get(id(site.node))
    if decided is None:
        return data
    if decided.reason:
        data["unfixable"] = decided.reason
        return data
    data["lock"] = decided.lock_text
    if decided.existing:
        data["lock_exists"] = "yes"
    if decided.decorate:
        data["decorate_line"] = str(decided.func.lineno)
    if decided.group or len(decided.statements) > 1 or \
            decided.statements[0] is not site.node:
        data.update(block_start=str(decided.first),
                    block_end=str(decided.last))
    return data


def _racy_statement(site: Site, check, func) -> ast.AST:
    """Where a rebinding after a check really races: the first call on
    the global between the two (``if X: X.clear()`` ... ``X = None``),
    else the rebinding itself."""
    if site.action != "rebound" or site.target.kind != "module":
        return site.node
    begin, end = _start(check), _start(site.node)
    for node in walk_local(func):
        if isinstance(node, ast.Expr) and \
                isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Attribute) and \
                isinstance(node.value.func.value, ast.Name) and \
                node.value.func.value.id == site.key and \
                begin < _start(node) < end:
            return node
    return site.node


class UnsynchronizedGlobalMutation(_StateRule):
    """Flags a module- or class-level mutable changed without a lock.

    Why this is bad:
        Module globals and class attributes are shared by every thread (and
        every greenthread) of a service. ``CELLS.append(x)``,
        ``CACHE[k] = v``, ``del CACHE[k]`` or ``COUNT += 1`` from request
        code interleave with other requests: updates are lost, readers see
        half-built state, iteration fails with "dictionary changed size"
        (CWE-362, CWE-667). Rebinding a global mutable under ``global``
        drops what other threads just stored.
    Fix:
        Wraps the statement in ``with <lock>:``, deciding with the module's
        concurrency model (analysis/concurrency.py): the lock the module
        already holds for that global, in the same form (``with
        lockutils.lock('x'):``, a module lock), else a new
        ``_<NAME>_LOCK = threading.Lock()`` defined after the global and
        before the first class or function that holds it. Declined, with
        the reason and the lines to look at, when the lock would deadlock
        (the statement reaches code taking it, or runs under it), would be
        held across blocking work, or would protect nothing: a lone atomic
        operation (``X.append(v)``, ``X[k] = v``, ``X = {}``) with no
        check-then-act or existing lock to join, or other unlocked writers
        or iterating readers of the global. Safe. Skipped across
        yield/await.
    Known limits:
        Not flagged: initialisation code (module top level, ``__main__``,
        functions whose every use is a call or decorator application at
        module top level -- a function also named in a dispatch dict, a
        ``Thread(target=...)``, a callback or a default argument runs
        later and is flagged --, configured init functions),
        ``setdefault`` (atomic), guarded code (``with`` a lock-like name or
        primitive, ``@synchronized`` on the function or an enclosing one,
        acquire/try/finally-release). Only the container
        itself is tracked: ``CACHE[a][b] = v`` and objects stored in it
        are not, nor state reached through another module's attribute. A
        mutating call is seen when it is its statement's own call
        (``X.append(v)``, ``v = X.pop(k)``, ``return X.pop(k)``), not
        nested inside another expression.
    """

    code = "NSA201"
    symbol = "unsynchronized-global-mutation"
    cwe = (362, 667)
    message = ("shared {name} {action} without a lock (CWE-362); "
               "hold {lock}")
    fix = FixSafety.SAFE
    bad = (
        Example("COUNTS = {}\n\n\n"
                "def count(name):\n"
                "    COUNTS[name] = COUNTS.get(name, 0) + 1\n",
                name="read-modify-write-of-module-dict",
                fixed="import threading\n\nCOUNTS = {}\n"
                      "_COUNTS_LOCK = threading.Lock()\n\n\n"
                      "def count(name):\n"
                      "    with _COUNTS_LOCK:\n"
                      "        COUNTS[name] = COUNTS.get(name, 0) + 1\n"),
        Example("CELLS = []\n\n\n"
                "def register_cell(cell):\n"
                "    CELLS.append(cell)\n",
                name="append-to-module-list"),
        Example("_COUNT = 0\n\n\n"
                "def bump():\n"
                "    global _COUNT\n"
                "    _COUNT += 1\n",
                name="global-augmented-assignment"),
        Example("class Driver(object):\n"
                "    _volumes = {}\n\n"
                "    def attach(self, vol):\n"
                "        self._volumes[vol.id] = vol\n",
                name="class-mutable-through-self"),
        Example("import collections\n\n"
                "STATS = collections.defaultdict(int)\n\n\n"
                "def forget(key):\n"
                "    del STATS[key]\n",
                name="delete-from-defaultdict"),
        Example("import contextlib\n\nclock = {}\n\n\n"
                "def tick(k, block):\n"
                "    with contextlib.closing(block):\n"
                "        clock[k] = 1\n",
                name="block-and-clock-are-not-locks"),
    )
    good = (
        Example("import threading\n\nCELLS = []\n"
                "_CELLS_LOCK = threading.Lock()\n\n\n"
                "def register_cell(cell):\n"
                "    with _CELLS_LOCK:\n"
                "        CELLS.append(cell)\n",
                name="with-module-lock"),
        Example("from oslo_concurrency import lockutils\n\nCACHE = {}\n\n\n"
                "@lockutils.synchronized('cache')\n"
                "def put(k, v):\n"
                "    CACHE[k] = v\n",
                name="synchronized-decorator"),
        Example("CACHE = {}\n\n\n"
                "def put(k, v):\n"
                "    CACHE.setdefault(k, v)\n",
                name="setdefault-is-atomic"),
        Example("CACHE = {}\n\n\n"
                "def build(k, v):\n"
                "    CACHE = {}\n"
                "    CACHE[k] = v\n"
                "    return CACHE\n",
                name="local-shadows-global"),
        Example("HANDLERS = {}\n\n\n"
                "def register(func):\n"
                "    HANDLERS[func.__name__] = func\n"
                "    return func\n\n\n"
                "@register\n"
                "def handle_boot():\n"
                "    pass\n",
                name="import-time-registration-decorator"),
    )

    def _visit(self, changes, facts):
        for site, check, func in changes:
            if check is not None:
                continue
            if not _is_reported(site, check, facts):
                continue  # plain rebinding of a non-mutable: NSA202 only
            data = _fix_data(site, facts)
            yield self.finding(site.node, facts, fix_data=data,
                               name=site.target.name, action=site.action,
                               lock=data["lock"])


class UnsynchronizedCheckThenAct(_StateRule):
    """Flags a shared global tested and then changed without a lock.

    Why this is bad:
        ``if k not in CACHE: CACHE[k] = build()``, ``if not CELLS: CELLS =
        load()`` and lazy singletons (``global X; if X is None: X =
        make()``) are check-then-act races: two threads both see the empty
        value and both build, one result is lost, and resources built by
        the loser (executors, connections) leak (CWE-362, CWE-667). Nova's
        DEFAULT_EXECUTOR and load_cells() have this shape.
    Fix:
        Wraps the whole check-then-act block, from the test to the last
        change, in ``with <lock>:``, the lock chosen
        as for NSA201 (the module's own lock for that global, in its form,
        else a new ``_<NAME>_LOCK``); lazy flags set one after another in
        one block share one lock and one ``with``. Safe: the block runs as
        before, one thread at a time. Declined, with reason and lines,
        when the block (or own code it calls) may block -- database, RPC,
        network, subprocess, sleep, fork/launch, waits, any call into code
        the module does not own except the lazy singleton's build --, when
        the lock would deadlock, when other writers or iterating readers
        stay unlocked, when the global is guarded per item
        (``synchronized(<uuid>)``) or by a decorator, and for a flag set
        before the work it announces (``if loaded: return`` ...
        ``loaded = True`` ... work: nova/version.py).
    Known limits:
        A check is a read of the same global in an if/while/ternary/assert
        test, a ``.get()`` lookup, or a subscript read in a try whose
        handler catches KeyError, anywhere earlier in the same function
        (early-return forms included); an ``assert`` is a precondition, not
        a decision, and does not count. Reported instead of NSA201 at the
        change. Guarded and initialisation code are not flagged (as
        NSA201), nor a lazy import (``X = importutils.import_module(...)``
        under ``if X is None``): the import system returns the same module
        object to every racer. A rebinding after a call on the global
        (``if X: X.clear()`` ... ``X = None``) is reported at that call,
        where the race is. Blocking is judged from names (the callee and
        its imported module, decorators such as ``@*.reader``), so a
        harmless call of code the module does not own also declines.
    """

    code = "NSA202"
    symbol = "unsynchronized-check-then-act"
    cwe = (362, 667)
    message = ("shared {name} tested then {action} without a lock "
               "(CWE-362); hold {lock} over both")
    fix = FixSafety.SAFE
    bad = (
        Example("import futurist\n\nDEFAULT_EXECUTOR = None\n\n\n"
                "def get_default_executor():\n"
                "    global DEFAULT_EXECUTOR\n"
                "    if DEFAULT_EXECUTOR is None:\n"
                "        DEFAULT_EXECUTOR = futurist.ThreadPoolExecutor(8)\n"
                "    return DEFAULT_EXECUTOR\n",
                name="lazy-singleton",
                fixed="import threading\n\nimport futurist\n\n"
                      "DEFAULT_EXECUTOR = None\n"
                      "_DEFAULT_EXECUTOR_LOCK = threading.Lock()\n\n\n"
                      "def get_default_executor():\n"
                      "    global DEFAULT_EXECUTOR\n"
                      "    with _DEFAULT_EXECUTOR_LOCK:\n"
                      "        if DEFAULT_EXECUTOR is None:\n"
                      "            DEFAULT_EXECUTOR = "
                      "futurist.ThreadPoolExecutor(8)\n"
                      "    return DEFAULT_EXECUTOR\n"),
        Example("CELLS = []\n\n\n"
                "def load_cells(loader):\n"
                "    global CELLS\n"
                "    if not CELLS:\n"
                "        CELLS = loader()\n",
                name="load-cells-not-empty-test"),
        Example("CACHE = {}\n\n\n"
                "def lookup(k, build):\n"
                "    try:\n"
                "        return CACHE[k]\n"
                "    except KeyError:\n"
                "        CACHE[k] = value = build(k)\n"
                "        return value\n",
                name="try-keyerror-then-store"),
        Example("CACHE = {}\n\n\n"
                "def lookup(k, build):\n"
                "    if k in CACHE:\n"
                "        return CACHE[k]\n"
                "    value = build(k)\n"
                "    CACHE[k] = value\n"
                "    return value\n",
                name="early-return"),
        Example("CACHE = {}\n\n\n"
                "def lookup(k, build):\n"
                "    value = CACHE.get(k)\n"
                "    if value is None:\n"
                "        value = CACHE[k] = build(k)\n"
                "    return value\n",
                name="get-then-store"),
    )
    good = (
        Example("import threading\n\nDEFAULT_EXECUTOR = None\n"
                "_LOCK = threading.Lock()\n\n\n"
                "def get_default_executor(make):\n"
                "    global DEFAULT_EXECUTOR\n"
                "    with _LOCK:\n"
                "        if DEFAULT_EXECUTOR is None:\n"
                "            DEFAULT_EXECUTOR = make()\n"
                "    return DEFAULT_EXECUTOR\n",
                name="with-lock"),
        Example("from nova import utils\n\nCELL_CACHE = {}\n\n\n"
                "def set_target_cell(context, cell_mapping, connect):\n"
                "    @utils.synchronized(cell_mapping.uuid)\n"
                "    def get_or_set_cached_cell():\n"
                "        try:\n"
                "            return CELL_CACHE[cell_mapping.uuid]\n"
                "        except KeyError:\n"
                "            CELL_CACHE[cell_mapping.uuid] = connect()\n"
                "    context.conn = get_or_set_cached_cell()\n",
                name="synchronized-nested-function"),
        Example("from oslo_concurrency import lockutils\n\nCACHE = {}\n\n\n"
                "def lookup(k, build):\n"
                "    with lockutils.lock('x'):\n"
                "        if k not in CACHE:\n"
                "            CACHE[k] = build(k)\n"
                "    return CACHE[k]\n",
                name="lockutils-lock"),
        Example("import threading\n\n_LOCK = threading.Lock()\nCACHE = {}"
                "\n\n\n"
                "def lookup(k, build):\n"
                "    _LOCK.acquire()\n"
                "    try:\n"
                "        if k not in CACHE:\n"
                "            CACHE[k] = build(k)\n"
                "    finally:\n"
                "        _LOCK.release()\n",
                name="acquire-try-finally-release"),
        Example("_CONF = None\n\n\n"
                "def parse_args(argv):\n"
                "    global _CONF\n"
                "    if _CONF is None:\n"
                "        _CONF = argv\n\n\n"
                "if __name__ == '__main__':\n"
                "    import sys\n"
                "    parse_args(sys.argv)\n",
                name="called-only-from-main"),
        Example("CACHE = {}\n\n\n"
                "def lookup(k, build):\n"
                "    CACHE = {}\n"
                "    if k not in CACHE:\n"
                "        CACHE[k] = build(k)\n"
                "    return CACHE[k]\n",
                name="local-dict-shadowing-global"),
    )

    def _visit(self, changes, facts):
        for site, check, func in changes:
            if check is None:
                continue
            data = _fix_data(site, facts)
            if "unfixable" not in data:
                start, end = block_span(check, site.node, func)
                data.setdefault("block_start", str(start))
                data.setdefault("block_end", str(end))
            yield self.finding(_racy_statement(site, check, func), facts,
                               fix_data=data, name=site.target.name,
                               action=site.action, lock=data["lock"])


RULES = (UnsynchronizedGlobalMutation, UnsynchronizedCheckThenAct)
