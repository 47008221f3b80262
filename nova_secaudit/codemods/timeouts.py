"""NSA401: cancel what a bounded wait left pending.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.timeouts.CancelPendingFutures PATH
"""

from __future__ import annotations

import libcst as cst

from nova_secaudit.codemods.base import FindingCodemod

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
    """NSA401: insert ``for f in <pending>: f.cancel()`` right after the
    wait statement; ``<pending>`` is the ``not_done`` set when the wait's
    result is unpacked, else the collection waited on (fix data
    ``pending``). The loop variable never shadows a name of the function."""

    DESCRIPTION = "NSA401: cancel the futures a timed-out wait left running"
    CODES = ("NSA401",)
    REQUIRED_ARGS = {"NSA401": ("pending",)}

    def prepare(self, tree: cst.Module) -> None:
        self._functions: list[cst.CSTNode] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_FunctionDef(self, original, updated):
        self._functions.pop()
        return updated

    def leave_SimpleStatementSuite(self, original, updated):
        for target in self.targets_inside(original):
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
                body.append(self._cancel_loop(target.args["pending"]))
                self.applied(target)
                changed = True
        return updated.with_changes(body=body) if changed else updated

    def _cancel_loop(self, pending: str) -> cst.For:
        name = free_name(self._functions[-1] if self._functions else None)
        return cst.parse_statement(
            f"for {name} in {pending}:\n    {name}.cancel()\n")
