"""Exception handlers: what they catch, whether they re-raise, what is raw.

RULES.md, NSA3xx. The questions the rules ask about one ``except`` clause:

- which handler binds a name at a use (:func:`binding_handler`), so a nested
  ``except ... as e`` shadows the outer ``e`` for the uses inside it;
- what it catches (:func:`catch_kind`): ``"broad"`` (Exception,
  BaseException, bare except, or a tuple containing one), ``"driver"`` (an
  exception of a library known to put connection details in its text:
  sqlalchemy.exc, oslo_db.exception, oslo_messaging, keystoneauth1,
  requests, DB-API drivers), else None (builtins like ValueError, project
  exceptions, anything we cannot resolve);
- whether the exception goes on after a given statement
  (:func:`reraises_after`): a ``raise`` (not of an inner handler, not
  ``SystemExit``) or ``six.reraise`` that can run after it on some path
  through the handler (no ``return`` in between, not the other branch of
  an ``if``), or lexical nesting in ``with
  excutils.save_and_reraise_exception():`` (the OpenStack idiom) whose body
  never sets ``ctxt.reraise = False`` outside an inner handler;
- what is raw exception text (:func:`raw_text_source`): the bound exception,
  its ``args``/``message``/``msg``/``orig``/... attributes, ``str``/``repr``/
  ``format``/``six.text_type`` of it (through :class:`ExceptionTextFlow`,
  a :class:`~nova_secaudit.analysis.flow.ValueFlow`),
  ``traceback.format_exc()``
  / ``format_exception(...)``, ``sys.exc_info()``; never a masker's result
  nor ``e.format_message()`` (the project's user-safe message);
- whether a use is narrowed by ``isinstance(e, <specific>)`` first
  (:func:`is_narrowed`);
- whether a raise builds a new exception of the caught exception's own type
  (:func:`original_type_wrap`): ``type(e)(...)``, ``e.__class__(...)``,
  ``exc_type(...)`` with ``exc_type`` from ``sys.exc_info()[0]``.
"""

from __future__ import annotations

import ast
import bisect
from typing import Iterator

from nova_secaudit.analysis import (
    FUNCTION_TYPES, ancestors, block_statements, enclosing_function,
    parent_of, set_parent)
from nova_secaudit.analysis.flow import ValueFlow
from nova_secaudit.analysis.functions import (
    assigned_names, walk, walk_local)
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.masking import is_masked

BROAD_TYPES = frozenset({"builtins.Exception", "builtins.BaseException"})
# Libraries whose exceptions carry connection URLs, hosts, credentials or
# the failing SQL statement and its parameters in their text.
DRIVER_PREFIXES = ("sqlalchemy.exc.", "oslo_db.exception.",
                   "oslo_messaging.", "keystoneauth1.exceptions.",
                   # requests re-exports its exceptions at the top level
                   # (requests.ConnectionError): anything caught from it
                   "requests.", "pymysql.", "psycopg2.",
                   "psycopg.", "MySQLdb.")
# Attributes of a caught exception whose value is its raw text (or the
# wrapped driver error / failing statement with its parameters).
RAW_ATTRIBUTES = frozenset({"args", "message", "msg", "orig",
                            "inner_exception", "statement", "params",
                            "strerror", "detail", "details", "reason"})
TRACEBACK_TEXT = frozenset({
    "traceback.format_exc", "traceback.format_exception",
    "traceback.format_exception_only", "traceback.format_tb",
    "sys.exc_info"})
SAVE_AND_RERAISE = frozenset({
    "oslo_utils.excutils.save_and_reraise_exception"})
SIX_RERAISE = frozenset({"six.reraise"})
_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers")
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


# --- which handler, what it catches --------------------------------------

def enclosing_handlers(node: ast.AST) -> Iterator[ast.ExceptHandler]:
    """Except clauses around ``node`` in its own function, innermost first."""
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES + (ast.ClassDef,)):
            return
        if isinstance(parent, ast.ExceptHandler):
            yield parent


def binding_handler(name: ast.Name) -> ast.ExceptHandler | None:
    """The innermost enclosing handler that binds ``name`` (shadowing)."""
    for handler in enclosing_handlers(name):
        if handler.name == name.id:
            return handler
    return None


def catch_kind(handler: ast.ExceptHandler, facts) -> str | None:
    """``"broad"``, ``"driver"`` or None for what ``handler`` catches."""
    memo = facts.memo(_kind_memo)
    key = id(handler)
    if key not in memo:
        memo[key] = _catch_kind(handler.type, facts)
    return memo[key]


def _kind_memo(facts) -> dict:
    return {}


def _catch_kind(expr: ast.AST | None, facts) -> str | None:
    if expr is None:
        return "broad"
    types = expr.elts if isinstance(expr, ast.Tuple) else [expr]
    kinds = set()
    for item in types:
        qualified = facts.qualified_name(item)
        if qualified is None:
            continue
        if qualified in BROAD_TYPES:
            kinds.add("broad")
        elif qualified.startswith(DRIVER_PREFIXES):
            kinds.add("driver")
    if "broad" in kinds:
        return "broad"
    return "driver" if kinds else None


def is_specific_type(expr: ast.AST, facts) -> bool:
    """A class that is neither broad nor a connection-carrying driver one."""
    return _catch_kind(expr, facts) is None


# --- does the exception go on? -------------------------------------------

def reraise_context(node: ast.AST, facts) -> ast.With | None:
    """The ``with excutils.save_and_reraise_exception():`` around ``node``
    inside its innermost handler that really re-raises, or None. A with
    block around that handler re-raises the outer exception, not the one
    the inner handler caught."""
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES + (ast.ClassDef,
                                                ast.ExceptHandler)):
            return None
        if isinstance(parent, (ast.With, ast.AsyncWith)):
            for item in parent.items:
                if _is_save_and_reraise(item.context_expr, facts):
                    if _reraise_switched_off(parent, item):
                        return None
                    return parent
    return None


def _reraising_with(node: ast.With, facts) -> bool:
    """``with excutils.save_and_reraise_exception():`` never switched off:
    the exception goes on when the block ends."""
    return any(_is_save_and_reraise(item.context_expr, facts) and
               not _reraise_switched_off(node, item) for item in node.items)


def _is_save_and_reraise(expr: ast.AST, facts) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    name = func.attr if isinstance(func, ast.Attribute) else \
        getattr(func, "id", None)
    if name != "save_and_reraise_exception":
        return False
    qualified = facts.qualified_name(func)
    return qualified is None or qualified in SAVE_AND_RERAISE or \
        qualified.endswith(".save_and_reraise_exception")


def _reraise_switched_off(with_node: ast.AST, item: ast.withitem) -> bool:
    """``save_and_reraise_exception(reraise=False)``, or ``ctxt.reraise =
    False`` anywhere in the with body but in an inner handler (which
    deals with a cleanup's own failure): the block may swallow the
    exception, so it is not a reliable re-raise. ``reraise=<expression>``
    may re-raise and counts."""
    if any(kw.arg == "reraise" and isinstance(kw.value, ast.Constant) and
           not kw.value.value for kw in item.context_expr.keywords):
        return True
    if not isinstance(item.optional_vars, ast.Name):
        return False
    target_name = item.optional_vars.id
    for stmt in walk_local(with_node):
        if isinstance(stmt, ast.Assign) and not any(
                isinstance(a, ast.ExceptHandler) for a in
                _ancestors_below(stmt, with_node)):
            for target in stmt.targets:
                if isinstance(target, ast.Attribute) and \
                        target.attr == "reraise" and \
                        dotted_name(target.value) == target_name:
                    return True
    return False


def _ancestors_below(node: ast.AST, top: ast.AST) -> list[ast.AST]:
    """``node``'s ancestors up to (not including) ``top``."""
    found = []
    for parent in ancestors(node):
        if parent is top:
            break
        found.append(parent)
    return found


def is_reraise_statement(stmt: ast.AST, facts) -> bool:
    """A statement that lets an exception go on to the caller, who will
    log it again (RULES.md, re-raising handler): any ``raise`` (bare,
    ``raise e``, ``raise X``, ``raise X from e``: a new exception raised
    in a handler chains the caught one as its context, and the caller's
    traceback shows both) and ``six.reraise(...)``. Not ``raise
    SystemExit(...)``: the process ends and nothing logs it again."""
    if isinstance(stmt, ast.Raise):
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return exc is None or \
            facts.qualified_name(exc) != "builtins.SystemExit"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if (getattr(func, "attr", None) or getattr(func, "id", None)) == \
                "reraise":
            return facts.qualified_name(func) in SIX_RERAISE
    return False


def _handler_raises(handler: ast.ExceptHandler, facts) -> list[ast.stmt]:
    memo = facts.memo(_raises_memo)
    key = id(handler)
    if key not in memo:
        # Statements only: nested defs are listed, their bodies are not.
        # A raise in an inner handler raises that handler's (new)
        # failure, not this one's exception.
        memo[key] = [n for n in block_statements(handler.body)
                     if (isinstance(n, (ast.Raise, ast.Expr))
                         and is_reraise_statement(n, facts)
                         or isinstance(n, ast.With) and
                         _reraising_with(n, facts))
                     and next(enclosing_handlers(n), None) is handler]
    return memo[key]


def _raises_memo(facts) -> dict:
    return {}


def reraises_after(node: ast.AST, handler: ast.ExceptHandler,
                   facts) -> bool:
    """Whether ``handler``'s exception may go on after ``node`` runs."""
    if reraise_context(node, facts) is not None:
        return True
    statement = node
    while not isinstance(statement, ast.stmt):
        statement = parent_of(statement)
    return any(_may_follow(statement, raise_stmt, handler)
               for raise_stmt in _handler_raises(handler, facts))


def _path(node: ast.AST, root: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """(holder, field, index) steps from ``root`` down to ``node``."""
    steps = []
    child = node
    for parent in ancestors(node):
        for field in _STATEMENT_LISTS:
            block = getattr(parent, field, None)
            if isinstance(block, list) and child in block:
                steps.append((parent, field, block.index(child)))
                break
        if parent is root:
            break
        child = parent
    steps.reverse()
    return steps


def _may_follow(first: ast.stmt, later: ast.stmt,
                root: ast.ExceptHandler) -> bool:
    """Whether ``later`` can run after ``first`` (both inside ``root``)
    on some path: not in the other branch of an ``if``, and not after a
    ``return`` that follows ``first`` on its way there."""
    if first is later:
        return False
    first_path, later_path = _path(first, root), _path(later, root)
    for depth, ((holder_a, field_a, index_a),
                (holder_b, field_b, index_b)) in enumerate(
                    zip(first_path, later_path)):
        if holder_a is not holder_b:
            return False
        if field_a == field_b:
            if index_a == index_b:
                continue
            looping = isinstance(holder_a, _LOOPS) and field_a == "body"
            if index_a > index_b and not looping:
                return False
            stop = index_b if index_a < index_b else None
            return not _returns_after(first_path, depth, stop)
        if isinstance(holder_a, ast.If):
            return False  # body and orelse exclude each other
        order = {"body": 0, "handlers": 1, "orelse": 2, "finalbody": 3}
        if field_a == "handlers" and field_b == "orelse":
            return False
        if order[field_a] > order[field_b]:
            return False
        return field_b == "finalbody" or \
            not _returns_after(first_path, depth, None)
    return False


def _returns_after(steps: list[tuple[ast.AST, str, int]], depth: int,
                   stop: int | None) -> bool:
    """Whether the path from the statement ``steps`` lead to leaves the
    handler before reaching the level ``depth``: a ``return`` later in its
    own block or an enclosing one (at ``depth`` only up to ``stop``), or
    a ``continue``/``break`` of a loop around the handler (none of the
    blocks on the way is a loop body)."""
    leaves: tuple[type, ...] = (ast.Return,)
    if not any(isinstance(holder, _LOOPS) for holder, _, _ in steps):
        leaves += (ast.Continue, ast.Break)
    for level, (holder, field, index) in enumerate(steps[depth:]):
        block = getattr(holder, field)
        end = stop if level == 0 else None
        if any(isinstance(stmt, leaves) for stmt in block[index + 1:end]):
            return True
    return False


# --- raw exception text --------------------------------------------------

def _sys_exc_names(func: ast.AST | None, facts) -> dict[str, int]:
    """Names bound in ``func`` from ``sys.exc_info()``: name -> tuple index
    (0 type, 1 value, 2 traceback; -1 for the whole tuple)."""
    if func is facts.tree:
        func = None
    return facts.memo(_exc_info_bindings).get(id(func), {})


def _exc_info_bindings(facts) -> dict[int, dict[str, int]]:
    """id(function) -> its sys.exc_info() names, from the module's
    assignment statements (no expression is indexed or walked)."""
    found: dict[int, dict[str, int]] = {}
    if facts.source is not None and "exc_info" not in facts.source:
        return found
    for assign in facts.nodes(ast.Assign):
        value, index = assign.value, -1
        if isinstance(value, ast.Subscript) and \
                isinstance(value.slice, ast.Constant) and \
                isinstance(value.slice.value, int):
            value, index = value.value, value.slice.value
        if not (isinstance(value, ast.Call) and not value.args and
                getattr(value.func, "attr", None) == "exc_info" and
                facts.qualified_name(value.func) == "sys.exc_info"):
            continue
        names = found.setdefault(id(enclosing_function(assign)), {})
        for target in assign.targets:
            if isinstance(target, ast.Name):
                names[target.id] = index
            elif isinstance(target, (ast.Tuple, ast.List)) and index == -1:
                for position, element in enumerate(target.elts):
                    if isinstance(element, ast.Name):
                        names[element.id] = position
    return found


def has_exc_info_names(facts) -> bool:
    return bool(facts.memo(_exc_info_bindings))


def exc_info_type_name(name: ast.Name, facts) -> bool:
    """``name`` holds ``sys.exc_info()[0]`` (the caught exception's type)."""
    func = enclosing_function(name)
    return func is not None and \
        _sys_exc_names(func, facts).get(name.id) == 0


def caught_exception(expr: ast.AST, facts) -> ast.ExceptHandler | None:
    """The handler whose exception ``expr`` names: its bound name, or a name
    bound from ``sys.exc_info()[1]`` (whose handler is the innermost)."""
    if not isinstance(expr, ast.Name):
        return None
    handler = binding_handler(expr)
    if handler is not None:
        return handler
    func = enclosing_function(expr)
    if func is not None and _sys_exc_names(func, facts).get(expr.id) == 1:
        return next(enclosing_handlers(expr), None)
    return None


def raw_text_source(expr: ast.AST, facts) -> ast.ExceptHandler | bool:
    """Whether ``expr`` itself is raw exception text (not via assignments).

    Returns the handler whose exception it is when known, True for
    traceback/exc_info text inside a handler, else False.
    """
    if isinstance(expr, ast.Name):
        return caught_exception(expr, facts) or False
    if isinstance(expr, ast.Attribute):
        if expr.attr in RAW_ATTRIBUTES:
            return raw_text_source(expr.value, facts) \
                if isinstance(expr.value, ast.Name) else False
        return False
    if isinstance(expr, ast.Call):
        func = expr.func
        name = func.attr if isinstance(func, ast.Attribute) else \
            getattr(func, "id", None)
        if name in ("format_exc", "format_exception",
                    "format_exception_only", "format_tb", "exc_info") and \
                facts.qualified_name(func) in TRACEBACK_TEXT:
            return next(enclosing_handlers(expr), None) or True
    return False


class ExceptionTextFlow(ValueFlow):
    """Value flow of raw exception text in one function.

    ``accept(handler)`` says which handlers' exceptions are sources
    (NSA303 takes broad and driver ones, NSA302 any); with ``narrows``, a
    use narrowed by ``isinstance`` to a specific type is not a source.
    Attributes of a caught exception other than :data:`RAW_ATTRIBUTES`
    (``e.code``, ``e.kwargs``) carry nothing. Bindings are read from the
    statement index from ``start`` on (the first handler ``accept`` may
    take; see :meth:`_collect`): nothing earlier can carry its text.
    """

    def __init__(self, func: ast.AST, facts, accept,
                 start: tuple[int, int] | None, narrows: bool = True):
        self.accept = accept
        self.narrows = narrows
        self.func = func
        self.start = start
        self._not_text = {name for name, index in
                          _sys_exc_names(func, facts).items()
                          if index in (0, 2)}
        super().__init__(func, facts, None)

    def _collect(self, func: ast.AST) -> None:
        """The bindings of ``func`` from the statement index, only those at
        or after its first broad/driver handler (nothing earlier can carry
        exception text), instead of walking the whole function; the parts
        read get their parents set. Walrus and comprehension bindings are
        not followed."""
        if self.start is None:
            return
        for stmt in self.facts.memo(_binding_statements, func, self.start):
            if isinstance(stmt, ast.Assign):
                _index_parts(stmt, stmt.targets + [stmt.value])
                self._bind(stmt.targets, stmt.value, stmt)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is not None:
                    _index_parts(stmt, [stmt.target, stmt.value])
                    self._bind([stmt.target], stmt.value, stmt)
            elif isinstance(stmt, ast.AugAssign):
                _index_parts(stmt, [stmt.target, stmt.value])
                if isinstance(stmt.target, ast.Name) and \
                        self.carries(stmt.value, stmt):
                    self._record(stmt.target.id, stmt, True)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                _index_parts(stmt, [stmt.target, stmt.iter])
                self._bind([stmt.target], stmt.iter, stmt)
            else:
                for item in stmt.items:
                    if item.optional_vars is not None:
                        _index_parts(stmt, [item])
                        self._bind([item.optional_vars], item.context_expr,
                                   item.context_expr)

    def is_source(self, expr: ast.AST) -> bool:
        source = raw_text_source(expr, self.facts)
        if source is False:
            return False
        if source is True:
            return self.accept(None)
        if not self.accept(source):
            return False
        if is_masked(expr, self.facts):
            return False
        return not (self.narrows and
                    is_narrowed(expr, source, self.facts))

    def carries(self, expr, at=None):
        if isinstance(expr, ast.Name) and expr.id in self._not_text:
            return False  # the type or traceback from sys.exc_info()
        if isinstance(expr, ast.Subscript) and \
                isinstance(expr.slice, ast.Constant) and \
                expr.slice.value in (0, 2) and \
                isinstance(expr.value, ast.Call) and \
                raw_text_source(expr.value, self.facts) is not False:
            return False
        if isinstance(expr, ast.Attribute) and \
                expr.attr not in RAW_ATTRIBUTES and \
                isinstance(expr.value, ast.Name) and \
                caught_exception(expr.value, self.facts) is not None:
            return False
        return super().carries(expr, at)

    def raw_parts(self, expr: ast.AST, at: ast.AST | None = None
                  ) -> list[ast.AST]:
        """Smallest sub-expressions of ``expr`` that carry raw text."""
        at = at or expr
        if not self.carries(expr, at):
            return []
        if self.is_source(expr) or isinstance(expr, ast.Name):
            return [expr]
        if isinstance(expr, ast.Call) and (
                _text_call_of_source(expr, self) or
                not isinstance(expr.func, ast.Attribute)):
            return [expr]
        parts = []
        for child in ast.iter_child_nodes(expr):
            parts.extend(self.raw_parts(child, at))
        return parts or [expr]


def holds_exception_object(expr: ast.AST, facts) -> bool:
    """``e`` itself, or a name whose latest assignment before ``expr`` (in
    its function) is a bare caught exception: the object, not its text."""
    if not isinstance(expr, ast.Name):
        return False
    if caught_exception(expr, facts) is not None:
        return True
    latest = latest_assignment(expr, facts)
    return latest is not None and isinstance(latest.value, ast.Name) and \
        caught_exception(set_parents(latest).value, facts) is not None


def latest_assignment(name: ast.Name, facts) -> ast.Assign | None:
    """The last plain assignment to ``name`` before it in its function
    (source order, not paths)."""
    position = (name.lineno, name.col_offset)
    latest = None
    for assign in facts.memo(_assignments_in, enclosing_function(name)):
        if (assign.lineno, assign.col_offset) >= position:
            break
        if any(isinstance(t, ast.Name) and t.id == name.id
               for t in assign.targets):
            latest = assign
    return latest


def _assignments_in(facts, func) -> list[ast.Assign]:
    """Assignment statements of ``func`` itself (not nested scopes), in
    source order, found by position in the statement index."""
    assigns = facts.nodes(ast.Assign)
    if func is None:
        return [a for a in assigns if enclosing_function(a) is None]
    start = bisect.bisect_left(assigns, (func.lineno, func.col_offset),
                               key=lambda a: (a.lineno, a.col_offset))
    found = []
    for assign in assigns[start:]:
        if assign.lineno > func.end_lineno:
            break
        if enclosing_function(assign) is func:
            found.append(assign)
    return found


_BINDING_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
                       ast.AsyncFor, ast.With, ast.AsyncWith)


def _index_parts(statement: ast.AST, parts) -> None:
    """Set the parents of ``parts`` (children of ``statement``) and below."""
    for part in parts:
        set_parent(part, statement)
        set_parents(part)


def _binding_statements(facts, owner, start) -> list[ast.stmt]:
    """Binding statements of ``owner`` itself at or after ``start``, in
    source order (from the statement index, nothing is walked)."""
    end = getattr(owner, "end_lineno", None)
    found = []
    for kind in _BINDING_STATEMENTS:
        statements = facts.nodes(kind)
        first = bisect.bisect_left(statements, start,
                                   key=lambda n: (n.lineno, n.col_offset))
        for stmt in statements[first:]:
            if end is not None and stmt.lineno > end:
                break
            if (enclosing_function(stmt) or facts.tree) is owner:
                found.append(stmt)
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return found


def may_carry(expr: ast.AST, owner: ast.AST, start: tuple[int, int],
              facts) -> bool:
    """Cheap superset test before building a flow: ``expr`` mentions a
    name bound by a handler or a binding statement of ``owner`` at or after
    ``start`` (the first leaky handler), or calls ``exc_info``/``format_*``.
    A comprehension or walrus inside ``expr`` always counts."""
    names = facts.memo(_names_bound_after, owner, start)
    for node in walk(expr) if not isinstance(expr, ast.Name) else ():
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if isinstance(node, (ast.comprehension, ast.NamedExpr)):
            return True
        if isinstance(node, ast.Attribute) and node.attr in (
                "exc_info", "format_exc", "format_exception",
                "format_exception_only", "format_tb"):
            return True
    return isinstance(expr, ast.Name) and expr.id in names


def _names_bound_after(facts, owner, start) -> frozenset[str]:
    names = {h.name for h in handlers_by_function(facts).get(id(owner), ())
             if h.name}
    for stmt in facts.memo(_binding_statements, owner, start):
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in stmt.items
                       if i.optional_vars is not None]
        elif isinstance(stmt, ast.Assign):
            targets = stmt.targets
        else:
            targets = [stmt.target]
        for target in targets:
            names.update(assigned_names(target))
    return frozenset(names)


def _text_call_of_source(call: ast.Call, flow: ExceptionTextFlow) -> bool:
    """``str(e)``/``six.text_type(e)``: wrap the whole call, not ``e``."""
    return len(call.args) == 1 and not call.keywords and \
        flow.is_source(call.args[0])


def exception_flow(func: ast.AST, facts,
                   any_catch: bool = False) -> ExceptionTextFlow:
    """The memoised flow of exception text in ``func``: of broad and
    driver exceptions, or with ``any_catch`` of whatever a handler caught
    (traceback/exc_info text counts wherever it is taken)."""
    memo = facts.memo(_flow_memo)
    key = (id(func), any_catch)
    flow = memo.get(key)
    if flow is None:
        if any_catch:
            def accept(handler):
                return True
            start = facts.memo(first_handlers).get(id(func))
        else:
            def accept(handler):
                return handler is None or \
                    catch_kind(handler, facts) is not None
            start = facts.memo(first_leaky_handlers).get(id(func))
        flow = memo[key] = ExceptionTextFlow(
            func, facts, accept, start, narrows=not any_catch)
    return flow


def _flow_memo(facts) -> dict:
    return {}


def handlers_by_function(facts) -> dict[int, list[ast.ExceptHandler]]:
    """id(function, or the module) -> the except clauses directly in it."""
    return facts.memo(_handlers_by_function)


def set_parents(node: ast.AST) -> ast.AST:
    """Index the expressions under statement ``node`` (parents set), so
    the ancestor questions above can be asked of them."""
    for _ in walk(node):
        pass
    return node


def first_handlers(facts) -> dict[int, tuple[int, int]]:
    """id(function or module) -> where its first except clause is. Use as
    ``facts.memo(first_handlers)``."""
    return {owner: min((h.lineno, h.col_offset) for h in handlers)
            for owner, handlers in handlers_by_function(facts).items()}


def first_leaky_handlers(facts) -> dict[int, tuple[int, int]]:
    """id(function or module) -> where its first broad/driver handler is.
    Use as ``facts.memo(first_leaky_handlers)``."""
    first: dict[int, tuple[int, int]] = {}
    for owner, handlers in handlers_by_function(facts).items():
        for handler in handlers:
            if catch_kind(handler, facts) is not None:
                position = (handler.lineno, handler.col_offset)
                if owner not in first or position < first[owner]:
                    first[owner] = position
    return first


def leaky_spans(facts) -> list[tuple[tuple[int, int], float]]:
    """Sorted, merged (first broad/driver handler, last line of its
    function) spans: only statements inside one can carry the text of such
    an exception. Use as ``facts.memo(leaky_spans)``."""
    first: dict[int, tuple[tuple[int, int], float]] = {}
    for handler in facts.nodes(ast.ExceptHandler):
        if catch_kind(handler, facts) is None:
            continue
        owner = enclosing_function(handler)
        start = (handler.lineno, handler.col_offset)
        if id(owner) not in first or start < first[id(owner)][0]:
            first[id(owner)] = (start, float("inf") if owner is None
                                else owner.end_lineno)
    merged: list[list] = []
    for start, end in sorted(first.values()):
        if merged and start[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def statements_in_leaky_spans(facts, node_type: type) -> list[ast.stmt]:
    """The statements of ``node_type`` inside one of :func:`leaky_spans`,
    in source order, found by bisecting the (source-ordered) index instead
    of testing every statement."""
    nodes = facts.nodes(node_type)
    found = []
    for start, end in facts.memo(leaky_spans):
        index = bisect.bisect_left(nodes, start, key=_start)
        while index < len(nodes) and nodes[index].lineno <= end:
            found.append(nodes[index])
            index += 1
    return found


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _handlers_by_function(facts):
    found: dict[int, list[ast.ExceptHandler]] = {}
    for handler in facts.nodes(ast.ExceptHandler):
        owner = enclosing_function(handler) or facts.tree
        found.setdefault(id(owner), []).append(handler)
    return found


# --- isinstance narrowing ------------------------------------------------

def _isinstance_specific(test: ast.AST, name: str, facts,
                         negated: bool) -> bool:
    """``test`` is (``not`` when ``negated``) ``isinstance(name, T)`` with
    every T specific, possibly and-ed with other conditions."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and \
            not negated:
        return any(_isinstance_specific(v, name, facts, False)
                   for v in test.values)
    if negated:
        if not (isinstance(test, ast.UnaryOp) and
                isinstance(test.op, ast.Not)):
            return False
        test = test.operand
    if not (isinstance(test, ast.Call) and
            getattr(test.func, "id", None) == "isinstance" and
            len(test.args) == 2 and
            isinstance(test.args[0], ast.Name) and
            test.args[0].id == name):
        return False
    classes = test.args[1]
    items = classes.elts if isinstance(classes, ast.Tuple) else [classes]
    return all(is_specific_type(c, facts) for c in items)


def is_narrowed(use: ast.AST, handler: ast.ExceptHandler, facts) -> bool:
    """A use of ``handler``'s exception guarded by ``isinstance(e, T)``
    with T specific: inside ``if isinstance(e, T):``, in the else of
    ``if not isinstance(e, T):``, or after ``if not isinstance(e, T):
    raise/return``."""
    name = handler.name
    if name is None:
        return False
    child = use
    for parent in ancestors(use):
        if parent is handler:
            break
        if isinstance(parent, ast.If):
            if child in parent.body and \
                    _isinstance_specific(parent.test, name, facts, False):
                return True
            if child in parent.orelse and \
                    _isinstance_specific(parent.test, name, facts, True):
                return True
        if isinstance(parent, ast.IfExp) and child is parent.body and \
                _isinstance_specific(parent.test, name, facts, False):
            return True
        child = parent
    statement = use
    while not isinstance(statement, ast.stmt):
        statement = parent_of(statement)
    for stmt in handler.body:
        if stmt.lineno >= statement.lineno:
            break
        if isinstance(stmt, ast.If) and \
                _isinstance_specific(stmt.test, name, facts, True) and \
                stmt.body and isinstance(stmt.body[-1],
                                         (ast.Raise, ast.Return)):
            return True
    return False


# --- raise <original type>(...) ------------------------------------------

def original_type_wrap(call: ast.AST, facts
                       ) -> tuple[ast.ExceptHandler | None, str] | None:
    """For ``type(e)(...)``, ``e.__class__(...)`` or ``exc_type(...)``
    (``exc_type`` from ``sys.exc_info()[0]``): (the handler, the name of the
    caught exception or ""). None for any other call."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    target = None
    if isinstance(func, ast.Call) and getattr(func.func, "id", None) == \
            "type" and len(func.args) == 1 and not func.keywords and \
            facts.qualified_name(func.func) == "builtins.type":
        target = func.args[0]
    elif isinstance(func, ast.Attribute) and func.attr == "__class__":
        target = func.value
    elif isinstance(func, ast.Name) and has_exc_info_names(facts) and \
            exc_info_type_name(func, facts):
        handler = next(enclosing_handlers(func), None)
        value_name = next((n for n, i in _sys_exc_names(
            enclosing_function(func), facts).items() if i == 1), "")
        return handler, value_name or (handler.name if handler and
                                       handler.name else "")
    if isinstance(target, ast.Name):
        handler = caught_exception(target, facts)
        if handler is not None:
            return handler, target.id
    return None


def is_own_text(expr: ast.AST, name: str, facts) -> bool:
    """``e``, ``str(e)``, ``six.text_type(e)``, ``*e.args``, ``e.message``:
    nothing but the caught exception's own text."""
    if isinstance(expr, ast.Starred):
        expr = expr.value
    if isinstance(expr, ast.Name):
        return expr.id == name
    if isinstance(expr, ast.Attribute):
        return expr.attr in ("args", "message", "msg") and \
            isinstance(expr.value, ast.Name) and expr.value.id == name
    if isinstance(expr, ast.Call) and len(expr.args) == 1 and \
            not expr.keywords:
        qualified = facts.qualified_name(expr.func)
        return qualified in ("builtins.str", "six.text_type",
                             "oslo_utils.encodeutils.exception_to_unicode") \
            and is_own_text(expr.args[0], name, facts)
    return False
