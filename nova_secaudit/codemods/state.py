"""NSA201 / NSA202: hold a module lock around changes of shared state.

For each reported global the module gets ``_<NAME>_LOCK =
threading.Lock()`` right after the global's definition (once; an existing
top-level binding of that name is reused, and ``--reuse-lock NAME`` reuses
a lock the module already has), plus ``import threading`` in the standard
library group. The statement that changes the global -- for NSA202 the
whole check-then-act run of statements the rule reports as
``block_start``-``block_end`` -- is wrapped in ``with <lock>:``.

Never wrapped: a block that contains ``yield`` or ``await`` (holding a lock
across a suspension point blocks every other thread until the consumer
resumes) or a one-line ``if x: y`` suite; those are skipped with the reason.
Ranges of the same lock that overlap or nest are merged into one ``with``,
so a non-reentrant lock is never taken twice by the same code.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.state.GuardWithLock PATH
"""

from __future__ import annotations

import argparse
import bisect
from dataclasses import dataclass, field

import libcst as cst

from nova_secaudit.codemods.base import FindingCodemod, Target, \
    add_common_args
from nova_secaudit.codemods.imports import ImportIndex, add_import, \
    imports_end, insert_after
from nova_secaudit.codemods.layout import MAX_LINE, code_of, relayout_call


@dataclass
class Wrap:
    """Statements [first, last] (line numbers) of one block, one lock."""

    block: int  # id() of the original IndentedBlock
    first: int
    last: int
    locks: set[str]
    targets: list[Target] = field(default_factory=list)


class _Suspends(cst.CSTVisitor):
    """Finds yield/await outside nested functions and lambdas."""

    def __init__(self):
        self.found = False

    def visit_Yield(self, node) -> bool:
        self.found = True
        return False

    def visit_Await(self, node) -> bool:
        self.found = True
        return False

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False


def suspends(statements) -> bool:
    finder = _Suspends()
    for stmt in statements:
        stmt.visit(finder)
    return finder.found


def _binds(stmt: cst.CSTNode, name: str) -> bool:
    """Whether top-level ``stmt`` binds ``name`` (assignment, def, class,
    or inside a top-level if/try/with)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            targets = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets = [small.target]
            for target in targets:
                if isinstance(target, cst.Name) and target.value == name:
                    return True
                if isinstance(target, (cst.Tuple, cst.List)) and any(
                        isinstance(e.value, cst.Name) and
                        e.value.value == name for e in target.elements):
                    return True
        return False
    if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
        return stmt.name.value == name
    if isinstance(stmt, (cst.If, cst.Try, cst.With)):
        blocks = [stmt.body]
        for attr in ("orelse", "finalbody"):
            extra = getattr(stmt, attr, None)
            if extra is not None:
                blocks.append(extra.body if hasattr(extra, "body") and
                              not isinstance(extra, cst.IndentedBlock)
                              else extra)
        for handler in getattr(stmt, "handlers", ()):
            blocks.append(handler.body)
        for block in blocks:
            if isinstance(block, cst.If):
                if _binds(block, name):
                    return True
                continue
            for inner in getattr(block, "body", ()):
                if _binds(inner, name):
                    return True
    return False


class GuardWithLock(FindingCodemod):
    """NSA201/NSA202: ``with _<NAME>_LOCK:`` around the reported change
    (NSA202: around the whole check-then-act block)."""

    DESCRIPTION = "NSA201/NSA202: hold a lock around shared-state changes"
    CODES = ("NSA201", "NSA202")
    REQUIRED_ARGS = {"NSA201": ("global", "lock"),
                     "NSA202": ("global", "lock", "block_start",
                                "block_end")}

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        add_common_args(arg_parser)
        arg_parser.add_argument(
            "--reuse-lock", default=None, metavar="NAME",
            help="use the module's existing lock NAME instead of adding "
                 "_<GLOBAL>_LOCK")

    def prepare(self, tree: cst.Module) -> None:
        self.imports = ImportIndex(tree, self.project())
        self.top_names = {name for stmt in tree.body
                          for name in _top_level_names(stmt)}
        reuse = self.options.get("reuse_lock")
        self.reuse = reuse if reuse and reuse in self.top_names else None
        self.wraps: list[Wrap] = []
        self.assigned: dict[Target, Wrap] = {}
        self.used_locks: dict[str, str] = {}  # lock -> global it guards
        # lock -> index of the first top-level statement that holds it
        self.first_user: dict[str, int] = {}
        self.top_starts = [self.start_of(stmt)[0] for stmt in tree.body]
        # Every block is assigned before any is wrapped, so a wrap knows
        # all the wraps of enclosing blocks when it is applied.
        tree.visit(_Assigner(self))

    def lock_for(self, target: Target) -> str:
        return self.reuse or target.args["lock"]

    # -- phase 1 (top-down): which block and lines each finding wraps ------
    def assign(self, node: cst.IndentedBlock) -> None:
        spans = [(self.start_of(s)[0], self.end_of(s)[0], s)
                 for s in node.body]
        for target in self.targets.all:
            if target in self._handled or "decorate_line" in target.args:
                continue
            previous = self.assigned.get(target)
            if "block_start" in target.args and previous is not None:
                continue  # the first block with the check's line is it
            first = last = None
            if "block_start" in target.args:
                start = int(target.args["block_start"])
                end = int(target.args["block_end"])
                inside = [(a, b) for a, b, _ in spans
                          if start <= a <= end]
                if inside and inside[0][0] == start:
                    first, last = start, max(b for _, b in inside)
            else:
                for a, b, stmt in spans:
                    if (a, 0) <= target.start and \
                            target.start < self.end_pos(stmt):
                        first, last = a, b
                        break
            if first is None:
                continue
            wrap = Wrap(id(node), first, last, {self.lock_for(target)},
                        [target])
            if previous is not None:
                self.wraps.remove(previous)
            self.wraps.append(wrap)
            self.assigned[target] = wrap

    def top_index(self, line: int) -> int:
        """Index of the top-level statement holding ``line``."""
        return bisect.bisect_right(self.top_starts, line) - 1

    def end_pos(self, stmt) -> tuple[int, int]:
        return self.end_of(stmt)

    # -- the module's synchronized decorator, reused ------------------------
    def leave_FunctionDef(self, original: cst.FunctionDef,
                          updated: cst.FunctionDef):
        line = str(self.start_of(original.name)[0])
        mine = [t for t in self.targets_inside(original)
                if t.args.get("decorate_line") == line]
        if not mine:
            return updated
        # Innermost, so the lock is held exactly while the body runs
        # (under @staticmethod/@classmethod, like the module's own uses).
        decorator = cst.Decorator(cst.parse_expression(mine[0].args["lock"]))
        for target in mine:
            self.applied(target)
        return updated.with_changes(
            decorators=[*updated.decorators, decorator])

    # -- phase 2 (bottom-up): wrap ------------------------------------------
    def leave_SimpleStatementSuite(self, original, updated):
        for target in self.targets_inside(original):
            if target not in self.assigned:
                self.skip(target, "the change shares its line with an "
                                  "if/for/with header; wrap it by hand")
        return updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock,
                            updated: cst.IndentedBlock):
        mine = [w for w in self.wraps if w.block == id(original)]
        if not mine:
            return updated
        lines = [self.start_of(s)[0] for s in original.body]
        merged = self._merge(mine, lines)
        body = list(updated.body)
        # Replace from the bottom so indexes stay valid.
        for wrap in sorted(merged, key=lambda w: w.first, reverse=True):
            if self._covered_by_outer(wrap):
                for target in wrap.targets:
                    self.applied(target)
                continue
            indexes = [i for i, line in enumerate(lines)
                       if wrap.first <= line <= wrap.last]
            statements = body[indexes[0]:indexes[-1] + 1]
            if suspends(statements):
                for target in wrap.targets:
                    self.skip(target, "the block holds yield/await; a lock "
                                      "held across it would block others")
                continue
            indent = self.indent_of_line(wrap.first) + "    "
            refitted = [refit_statement(stmt, indent) for stmt in statements]
            if None in refitted:
                for target in wrap.targets:
                    self.skip(target, "inside the with block a line would "
                                      "pass 79 columns; wrap it by hand")
                continue
            body[indexes[0]:indexes[-1] + 1] = [self._with(wrap, refitted)]
            top = self.top_index(wrap.first)
            for target in wrap.targets:
                self.applied(target)
                if target.args.get("lock_exists") and not self.reuse:
                    continue  # the module's own lock, already defined
                lock = self.lock_for(target)
                self.used_locks.setdefault(lock, target.args["global"])
                self.first_user[lock] = min(
                    self.first_user.get(lock, top), top)
        return updated.with_changes(body=body)

    def _merge(self, wraps: list[Wrap], lines: list[int]) -> list[Wrap]:
        """Overlapping wraps, and neighbouring wraps of the same lock (no
        statement between them), become one ``with``."""
        merged: list[Wrap] = []
        for wrap in sorted(wraps, key=lambda w: (w.first, -w.last)):
            if merged and (wrap.first <= merged[-1].last or (
                    wrap.locks == merged[-1].locks and not any(
                        merged[-1].last < line < wrap.first
                        for line in lines))):
                last = merged[-1]
                last.last = max(last.last, wrap.last)
                last.locks |= wrap.locks
                last.targets.extend(wrap.targets)
            else:
                merged.append(Wrap(wrap.block, wrap.first, wrap.last,
                                   set(wrap.locks), list(wrap.targets)))
        return merged

    def _covered_by_outer(self, wrap: Wrap) -> bool:
        """A wrap of an enclosing block already holds every lock needed."""
        return any(other.block != wrap.block and
                   other.first <= wrap.first and wrap.last <= other.last and
                   wrap.locks <= other.locks and
                   not (other.first == wrap.first and
                        other.last == wrap.last)
                   for other in self.wraps)

    def _with(self, wrap: Wrap, statements) -> cst.With:
        first = statements[0]
        leading = first.leading_lines
        statements = [first.with_changes(leading_lines=())] + \
            list(statements[1:])
        items = [cst.WithItem(cst.parse_expression(lock))
                 for lock in sorted(wrap.locks)]
        if len(items) > 1:
            items = [item.with_changes(comma=cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" ")))
                for item in items[:-1]] + [items[-1]]
        return cst.With(items=items, body=cst.IndentedBlock(body=statements),
                        leading_lines=leading)

    # -- module level: lock definitions and the import ---------------------
    def finish(self, tree: cst.Module) -> cst.Module:
        new_locks = {lock: name for lock, name in self.used_locks.items()
                     if lock not in self.top_names}
        if not new_locks:
            return tree
        threading = self.imports.local_name("threading", module=True)
        if threading is None:
            threading = "threading"
        body = list(tree.body)
        placement: dict[int, list[str]] = {}
        for lock, name in sorted(new_locks.items()):
            # After the global's definition, but never after the first
            # class or function that holds the lock (nor before imports).
            owner = name.split(".", 1)[0]
            index = next((i for i, stmt in enumerate(body)
                          if _binds(stmt, owner)), imports_end(tree))
            user = self.first_user.get(lock, index + 1) - 1
            index = max(min(index, user), imports_end(tree))
            placement.setdefault(index, []).append(lock)
        for index in sorted(placement, reverse=True):
            statements = [cst.parse_statement(
                f"{lock} = {threading}.Lock()\n")
                for lock in placement[index]]
            blank = 2 if index >= 0 and isinstance(
                body[index], (cst.ClassDef, cst.FunctionDef)) else 0
            tree = insert_after(tree, index, statements, blank)
            body = list(tree.body)
        if self.imports.local_name("threading", module=True) is None:
            tree = add_import(tree, "import threading", self.project())
        return tree


def _overflows(stmt: cst.CSTNode, indent: str) -> bool:
    """Whether a line of ``stmt``, indented by ``indent``, passes 79
    columns when it did not one level up."""
    for line in code_of(stmt).split("\n"):
        width = len(indent) + len(line.rstrip("\r"))
        if MAX_LINE < width <= MAX_LINE + 4:
            return True
    return False


def refit_statement(stmt: cst.CSTNode, indent: str):
    """``stmt`` laid out to fit one level deeper, or None if it cannot be.

    A simple statement whose value is a call (``x = f(...)``, ``f(...)``,
    ``return f(...)``) gets that call's arguments re-filled."""
    if not _overflows(stmt, indent):
        return stmt
    if isinstance(stmt, cst.BaseCompoundStatement):
        refit = _RefitBlocks(indent)
        new = stmt.visit(refit)
        return None if refit.failed or _overflows(new, indent) else new
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    value = getattr(small, "value", None)
    if not isinstance(value, cst.Call):
        return None
    marker = cst.Name("__nsa_call__")
    text = code_of(small.with_changes(value=marker))
    before, _, after = text.partition("__nsa_call__")
    suffix = after + code_of(stmt.trailing_whitespace).rstrip("\r\n")
    new_value = relayout_call(value, indent + before, suffix, indent,
                              stmt_indent=indent)
    new = stmt.with_changes(body=[small.with_changes(value=new_value)])
    return None if _overflows(new, indent) else new


class _RefitBlocks(cst.CSTTransformer):
    """Refits the simple statements of a compound one, block by block."""

    def __init__(self, indent: str):
        super().__init__()
        self.indents = [indent]
        self.failed = False

    def visit_IndentedBlock(self, node) -> None:
        self.indents.append(self.indents[-1] + "    ")

    def leave_IndentedBlock(self, original, updated):
        self.indents.pop()
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        if len(self.indents) == 1:
            return updated  # a one-line suite: left to the check above
        new = refit_statement(updated, self.indents[-1])
        if new is None:
            self.failed = True
            return updated
        return new


class _Assigner(cst.CSTVisitor):
    def __init__(self, codemod: GuardWithLock):
        super().__init__()
        self.codemod = codemod

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.codemod.assign(node)


def _top_level_names(stmt: cst.CSTNode):
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        yield target.target.value
            elif isinstance(small, cst.AnnAssign) and \
                    isinstance(small.target, cst.Name):
                yield small.target.value
    elif isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
        yield stmt.name.value
