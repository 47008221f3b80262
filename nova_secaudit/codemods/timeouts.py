"""NSA401: cancel what a bounded wait left pending.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.timeouts.CancelPendingFutures PATH
"""

from __future__ import annotations

import libcst as cst

from nova_secaudit.codemods.base import FindingCodemod
from nova_secaudit.codemods.layout import MAX_LINE

LOOP_NAMES = ("f", "fut", "future", "pending_future")


class _Names(cst.CSTVisitor):
    """Names a new local could clash with: every name used in the scope,
    except the targets of comprehensions (their own scope) that appear
    nowhere else."""

    def __init__(self):
        self.outside: set[str] = set()
        self.inside: set[str] = set()
        self.comprehension_targets: set[str] = set()
        self.depth = 0

    def _enter(self, node) -> None:
        self.depth += 1

    def _leave(self, node) -> None:
        self.depth -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = \
        visit_GeneratorExp = _enter
    leave_ListComp = leave_SetComp = leave_DictComp = \
        leave_GeneratorExp = _leave

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for name in _target_names(node.target):
            self.comprehension_targets.add(name)

    def visit_Name(self, node: cst.Name) -> None:
        (self.inside if self.depth else self.outside).add(node.value)

    @property
    def names(self) -> set[str]:
        return self.outside | (self.inside - self.comprehension_targets)


def _target_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


def free_name(scope: cst.CSTNode | None, candidates=LOOP_NAMES) -> str:
    """The first candidate not used anywhere in ``scope``."""
    used: set[str] = set()
    if scope is not None:
        collector = _Names()
        scope.visit(collector)
        used = collector.names
    for name in candidates:
        if name not in used:
            return name
    number = 1
    while f"pending_future{number}" in used:
        number += 1
    return f"pending_future{number}"


class CancelPendingFutures(FindingCodemod):
    """NSA401: cancel what a timed-out wait left pending, where the rule's
    plan (``analysis.cancelling``) says it is safe.

    - fix data ``pending``: ``for f in <pending>: f.cancel()`` right after
      the wait statement (``not_done``, or the waited collection when the
      result is not kept);
    - fix data ``branch_line``: inside the "did not respond" branch, after
      what it records, ``if not fut.cancel(): LOG.warning(...)`` (or just
      ``fut.cancel()`` in a module without a logger).

    The loop variable never shadows a name of the function."""

    DESCRIPTION = "NSA401: cancel the futures a timed-out wait left running"
    CODES = ("NSA401",)

    @classmethod
    def fixable(cls, found):
        args = found.fix_args
        if "pending" not in args and "branch_line" not in args and \
                "unfixable" not in args:
            return "the rule gave no pending futures to cancel"
        return super().fixable(found)

    def prepare(self, tree: cst.Module) -> None:
        self._functions: list[cst.CSTNode] = []
        # (line, character col) of a not-done branch -> its target.
        self._branches = {}
        for target in self.targets.all:
            args = target.args
            if "branch_line" in args:
                line = int(args["branch_line"])
                position = self.targets._char_pos(line,
                                                  int(args["branch_col"]))
                self._branches[position] = target

    def edit_starts(self):
        return self._branches

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_FunctionDef(self, original, updated):
        self._functions.pop()
        return updated

    def leave_SimpleStatementSuite(self, original, updated):
        for target in self.targets_inside(original):
            if "pending" in target.args:
                self.skip(target, "the wait shares its line with an if/for/"
                                  "with header; cancel by hand")
        return updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock,
                            updated: cst.IndentedBlock):
        body, changed = [], False
        for before, after in zip(original.body, updated.body):
            body.append(after)
            if not isinstance(before, cst.SimpleStatementLine):
                continue
            for target in self.targets_inside(before):
                if "pending" in target.args:
                    body.append(self._cancel_loop(target.args["pending"]))
                    self.applied(target)
                    changed = True
        return updated.with_changes(body=body) if changed else updated

    def leave_If(self, original: cst.If, updated: cst.If):
        target = self._branches.pop(self.start_of(original), None)
        if target is None:
            return updated
        args = target.args
        negated = isinstance(original.test, cst.UnaryOperation)
        block = updated.body if negated else updated.orelse.body
        if not isinstance(block, cst.IndentedBlock):
            self.skip(target, "the not-done branch is on its header's "
                              "line; cancel by hand")
            return updated
        # Nova indents by four spaces; the check is only for 79 columns.
        indent = self.indent_of_line(self.start_of(original)[0]) + " " * 4
        cancel = self._cancel_in_branch(args, indent)
        if cancel is None:
            self.skip(target, "the cancel and its warning would pass 79 "
                              "columns here; cancel by hand")
            return updated
        statements = list(block.body)
        at = len(statements)
        while at and _ends_the_pass(statements[at - 1]):
            at -= 1
        statements[at:at] = cancel
        block = block.with_changes(body=statements)
        self.applied(target)
        if negated:
            return updated.with_changes(body=block)
        return updated.with_changes(
            orelse=updated.orelse.with_changes(body=block))

    def _cancel_in_branch(self, args, indent: str):
        future, logger = args["future"], args.get("logger")
        if not logger:
            return [cst.parse_statement(f"{future}.cancel()\n")]
        code = (f"if not {future}.cancel():\n"
                f"    {logger}.warning(\n"
                f"        'Could not cancel the work for %s after the "
                f"timeout; it '\n"
                f"        'goes on running in the background.', "
                f"{args['label']})\n")
        if any(len(indent + line) > MAX_LINE
               for line in code.splitlines()):
            return None
        return [cst.parse_statement(code)]

    def _cancel_loop(self, pending: str) -> cst.For:
        name = free_name(self._functions[-1] if self._functions else None)
        return cst.parse_statement(
            f"for {name} in {pending}:\n    {name}.cancel()\n")


def _ends_the_pass(statement) -> bool:
    """``continue`` (the only jump the plan allows) must stay last."""
    return isinstance(statement, cst.SimpleStatementLine) and \
        isinstance(statement.body[-1], cst.Continue)
