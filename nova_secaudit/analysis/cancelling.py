"""Where the futures a timed-out wait left pending can be cancelled.

NSA401's fix cancels what ``wait(fs, timeout)`` left running. A cancelled
future counts as done() and its result() raises CancelledError, so a
cancel must never come before code that still reads the futures. Two
shapes are safe and get a plan:

- nothing reads the pending futures after the wait: cancel them right
  after it (fix data ``pending``: ``not_done``, or the waited collection
  when the wait's result is not kept; cancel() of a done future does
  nothing);
- the only later read is the "did not respond" loop (``for uuid, fut in
  tasks.items(): if not fut.done(): results[uuid] = sentinel``): cancel
  each future inside its not-done branch, after the sentinel is recorded,
  and log when cancel() fails because the work already runs, as Nova
  32.0.0's scatter_gather_cells does (fix data ``branch_line``/``_col``,
  ``future``, ``label``, ``logger``).

Any other read -- through another name or collection (``by_future =
dict(zip(fs, jobs))``, ``late = list(not_done)``), or a second pass over
the futures -- gets the reason and the line instead (fix data
``unfixable``).
"""

from __future__ import annotations

import ast

from nova_secaudit.analysis import enclosing_function, is_within, parent_of
from nova_secaudit.analysis.functions import assigned_names, \
    enclosing_loops, walk_local
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.logs import module_logger

# Calls whose result holds no future even when given one.
_DERIVING_CALLS = frozenset({"len", "bool", "isinstance", "id", "hash",
                             "repr", "str", "any", "all", "sum"})
# Future methods that answer a question instead of returning the future.
_FUTURE_QUERIES = frozenset({"done", "running", "cancelled", "result",
                             "exception", "cancel"})
# Methods that put their arguments into the receiver.
_FILLING_METHODS = frozenset({"append", "add", "extend", "insert",
                              "update", "setdefault", "appendleft"})
_STATE_QUERIES = frozenset({"done", "running", "cancelled"})


def cancel_plan(wait: ast.Call, waited: set[str], facts) -> dict[str, str]:
    """NSA401 fix data for a collection wait that returns (done,
    not_done): how to cancel what it left pending, or why not."""
    func = enclosing_function(wait)
    if func is None:  # module level: not reported (nobody owns the work)
        return {"unfixable": "the wait is not in a function"}
    statement = parent_of(wait)
    kept = isinstance(statement, ast.Assign) and statement.value is wait \
        and len(statement.targets) == 1
    pending, seeds = _pending(wait, statement if kept else None, waited)
    holders = _holders(func, seeds, statement)
    reads = _reads_after(func, wait, statement, holders)
    if not reads:
        if pending is None:
            return {"unfixable": "keep the wait's result (done, not_done = "
                                 "...) and cancel not_done"}
        return {"pending": pending}
    loop = _sentinel_loop(reads, statement)
    if loop is None:
        first = reads[0]
        return {"unfixable": f"the futures are read after the wait "
                             f"(line {first.lineno}, "
                             f"{ast.unparse(first)!r}); cancelling them "
                             f"would make result() raise CancelledError"}
    branch, element, label = loop
    return {"branch_line": str(branch.lineno),
            "branch_col": str(branch.col_offset),
            "future": element, "label": label,
            "logger": module_logger(facts)}


def _pending(wait: ast.Call, statement, waited: set[str]):
    """(source of the pending futures or None, names holding them)."""
    seeds = {name.split(".", 1)[0] for name in waited}
    if statement is not None:
        target = statement.targets[0]
        if isinstance(target, (ast.Tuple, ast.List)) and \
                len(target.elts) == 2 and \
                isinstance(target.elts[1], ast.Name) and \
                target.elts[1].id != "_":
            return target.elts[1].id, seeds | {target.elts[1].id}
        if isinstance(target, ast.Name):
            return target.id + ".not_done", seeds | {target.id}
    collection = wait.args[0]
    view = collection.func.value if isinstance(collection, ast.Call) and \
        isinstance(collection.func, ast.Attribute) and \
        collection.func.attr == "values" and not collection.args else \
        collection
    if dotted_name(view) is None:
        return None, seeds  # re-evaluating it could have side effects
    return ast.unparse(collection), seeds


def _holders(func, seeds: set[str], skip) -> set[str]:
    """``seeds`` and every local name that may receive one of their
    futures (assignment, loop target, filling method, item store)."""
    holders = set(seeds)
    while True:
        found = set()
        for node in walk_local(func):
            if node is skip:
                continue
            for target, value in _bindings(node):
                if _carries(value, holders):
                    found.update(_receivers(target, value))
        if found <= holders:
            return holders
        holders |= found


def _bindings(node: ast.AST):
    if isinstance(node, ast.Assign):
        return [(target, node.value) for target in node.targets]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) \
            and node.value is not None:
        return [(node.target, node.value)]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return [(node.target, node.iter)]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [(item.optional_vars, item.context_expr)
                for item in node.items if item.optional_vars is not None]
    if isinstance(node, ast.Call) and \
            isinstance(node.func, ast.Attribute) and \
            node.func.attr in _FILLING_METHODS:
        return [(node.func.value, arg) for arg in node.args]
    return []


def _carries(value: ast.AST, holders: set[str]) -> bool:
    """Whether ``value`` may evaluate to (a collection of) the futures."""
    if isinstance(value, (ast.Compare, ast.UnaryOp)):
        return False
    if isinstance(value, ast.Call):
        callee = value.func
        if isinstance(callee, ast.Name) and callee.id in _DERIVING_CALLS or \
                isinstance(callee, ast.Attribute) and \
                callee.attr in _FUTURE_QUERIES:
            return False
    return any(isinstance(n, ast.Name) and n.id in holders
               for n in ast.walk(value))


def _receivers(target: ast.AST, value: ast.AST) -> set[str]:
    """Names bound by ``target`` that receive futures from ``value``:
    ``for key, fut in tasks.items()`` binds a future to ``fut`` only."""
    if isinstance(value, ast.Call) and \
            isinstance(value.func, ast.Attribute) and \
            isinstance(target, (ast.Tuple, ast.List)) and target.elts:
        if value.func.attr == "keys":
            return set()
        if value.func.attr == "items":
            return set(assigned_names(target.elts[-1]))
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value  # tasks[uuid] = fut fills tasks
    return set(assigned_names(target))


def _reads_after(func, wait: ast.Call, statement, holders) -> list:
    """Reads of a holder that run after the wait: later in the function,
    or anywhere in a loop around it (the next pass runs after it)."""
    end = (wait.end_lineno, wait.end_col_offset)
    loops = list(enclosing_loops(wait, func))
    start = (loops[-1].lineno, loops[-1].col_offset) if loops else end
    inside_wait = {id(n) for n in ast.walk(wait)}
    reads = []
    for node in walk_local(func):
        if not (isinstance(node, ast.Name) and node.id in holders and
                isinstance(node.ctx, ast.Load)) or id(node) in inside_wait:
            continue
        if (node.lineno, node.col_offset) > start and \
                not _is_done_set(node, statement):
            reads.append(node)
    return sorted(reads, key=lambda n: (n.lineno, n.col_offset))


def _is_done_set(name: ast.Name, statement) -> bool:
    """``result.done`` of ``result = wait(...)`` holds no pending work."""
    parent = parent_of(name)
    return isinstance(statement, ast.Assign) and \
        isinstance(statement.targets[0], ast.Name) and \
        statement.targets[0].id == name.id and \
        isinstance(parent, ast.Attribute) and parent.attr == "done"


def _sentinel_loop(reads, statement):
    """(not-done branch, future name, label) when every read is the
    "did not respond" loop right in the wait's block, else None."""
    loop = _loop_over(reads[0])
    if loop is None or not _in_same_block(loop, statement):
        return None
    element, label = _loop_element(loop)
    if element is None or any(isinstance(n, (ast.Break, ast.Return))
                              for n in walk_local(loop)):
        return None
    found = _not_done_branch(loop, element)
    if found is None:
        return None
    branch, body = found
    iter_nodes = {id(n) for n in ast.walk(loop.iter)}
    in_branch = {id(n) for stmt in body for n in ast.walk(stmt)}
    after_branch = (branch.end_lineno, branch.end_col_offset)
    for read in reads:
        if id(read) in iter_nodes:
            continue
        if read.id != element or not is_within(read, loop):
            return None
        if id(read) in in_branch and not _only_queries_state(read):
            return None
        if (read.lineno, read.col_offset) > after_branch:
            return None  # read again after the cancel in this pass
    return branch, element, label


def _loop_over(read: ast.Name):
    """The ``for`` statement whose iterable holds ``read``, if any."""
    child, node = read, parent_of(read)
    while node is not None and not isinstance(node, ast.stmt):
        child, node = node, parent_of(node)
    return node if isinstance(node, ast.For) and child is node.iter \
        else None


def _in_same_block(loop: ast.For, statement) -> bool:
    wait_statement = statement
    while wait_statement is not None and \
            not isinstance(wait_statement, ast.stmt):
        wait_statement = parent_of(wait_statement)
    return wait_statement is not None and \
        parent_of(wait_statement) is parent_of(loop)


def _loop_element(loop: ast.For):
    """(future name, name to log) of ``for [key,] fut in ...``."""
    target = loop.target
    if isinstance(target, ast.Name):
        return target.id, target.id
    if isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
            all(isinstance(e, ast.Name) for e in target.elts) and \
            isinstance(loop.iter, ast.Call) and \
            isinstance(loop.iter.func, ast.Attribute) and \
            loop.iter.func.attr == "items":
        return target.elts[1].id, target.elts[0].id
    return None, None


def _not_done_branch(loop: ast.For, element: str):
    """(if statement, its not-done body) of ``if not fut.done():`` or the
    else of ``if fut.done():``, a statement of the loop body itself."""
    for statement in loop.body:
        if not isinstance(statement, ast.If):
            continue
        test = statement.test
        negated = isinstance(test, ast.UnaryOp) and \
            isinstance(test.op, ast.Not)
        call = test.operand if negated else test
        if isinstance(call, ast.Call) and not call.args and \
                isinstance(call.func, ast.Attribute) and \
                call.func.attr == "done" and \
                dotted_name(call.func.value) == element:
            body = statement.body if negated else statement.orelse
            return (statement, body) if body else None
    return None


def _only_queries_state(read: ast.Name) -> bool:
    parent = parent_of(read)
    return isinstance(parent, ast.Attribute) and \
        parent.attr in _STATE_QUERIES and \
        isinstance(parent_of(parent), ast.Call)
