"""Module-level edits in Nova style: imports in their group, definitions
placed after the statement they belong to.

OpenStack hacking wants three import groups separated by a blank line --
standard library, third party, the project itself -- each sorted by the
normalised module path (``from a import b`` sorts as ``a.b``, case
ignored, H306). libcst's ``AddImportsVisitor`` appends after the last import
whatever its group, so these helpers place the line themselves.
"""

from __future__ import annotations

import sys
from typing import Sequence

import libcst as cst

FUTURE, STDLIB, THIRD_PARTY, PROJECT = range(4)
_STDLIB = frozenset(sys.stdlib_module_names)


def dotted(node: cst.BaseExpression | None) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return dotted(node.value) + "." + node.attr.value
    return ""


def category(module_name: str, project: str) -> int:
    head = module_name.lstrip(".").split(".", 1)[0]
    if module_name.startswith(".") or (project and head == project):
        return PROJECT
    if head == "__future__":
        return FUTURE
    return STDLIB if head in _STDLIB else THIRD_PARTY


def _import_of(stmt: cst.CSTNode):
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
            and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
        return stmt.body[0]
    return None


def import_key(node: cst.Import | cst.ImportFrom) -> str:
    """hacking's H306 key: ``from a import b`` -> ``a.b``, lower case."""
    if isinstance(node, cst.Import):
        return dotted(node.names[0].name).lower()
    module = "." * len(node.relative) + dotted(node.module)
    if isinstance(node.names, cst.ImportStar):
        return (module + ".*").lower()
    return (module + "." + dotted(node.names[0].name)).lower()


def _module_of(node: cst.Import | cst.ImportFrom) -> str:
    if isinstance(node, cst.Import):
        return dotted(node.names[0].name)
    return "." * len(node.relative) + dotted(node.module)


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and \
        len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) and \
        isinstance(stmt.body[0].value, (cst.SimpleString,
                                        cst.ConcatenatedString))


def _blank_before(stmt: cst.CSTNode) -> bool:
    return any(line.comment is None for line in
               getattr(stmt, "leading_lines", ()))


def import_region(body: Sequence[cst.CSTNode]) -> tuple[int, int]:
    """[start, end) of the leading run of top-level import statements."""
    index = 1 if body and _is_docstring(body[0]) else 0
    start = end = index
    while end < len(body) and _import_of(body[end]) is not None:
        end += 1
    return start, end


class ImportIndex:
    """What a module imports at top level, and where a new line goes."""

    def __init__(self, module: cst.Module, project: str = "nova"):
        self.module = module
        self.project = project
        self.imports = [node for node in map(_import_of, module.body)
                        if node is not None]

    def local_name(self, qualified: str, module: bool = False) -> str | None:
        """The expression text that reaches ``qualified`` (``pkg.mod.obj``
        or, with ``module``, the module ``pkg.mod``) through an existing
        import, or None. A module is reached only by importing it: ``import
        futurist`` does not load ``futurist.rejection``."""
        parent, _, leaf = qualified.rpartition(".")
        if module:
            parent = ""
        for node in self.imports:
            if isinstance(node, cst.Import):
                for alias in node.names:
                    name = dotted(alias.name)
                    asname = alias.asname and dotted(alias.asname.name)
                    if name == qualified:
                        return asname or name
                    if parent and name == parent:
                        return (asname or name) + "." + leaf
            elif not node.relative and not isinstance(node.names,
                                                      cst.ImportStar):
                base = dotted(node.module)
                for alias in node.names:
                    full = base + "." + dotted(alias.name)
                    asname = alias.asname and dotted(alias.asname.name)
                    if full == qualified:
                        return asname or dotted(alias.name)
                    if parent and full == parent:
                        return (asname or dotted(alias.name)) + "." + leaf
        return None


def _with_blank_lines(stmt: cst.CSTNode, count: int) -> cst.CSTNode:
    """``stmt`` with at least ``count`` blank lines before it (comments
    directly above it stay directly above it)."""
    lines = list(stmt.leading_lines)
    blanks = 0
    for line in lines:
        if line.comment is not None:
            break
        blanks += 1
    if blanks >= count:
        return stmt
    lines[0:0] = [cst.EmptyLine()] * (count - blanks)
    return stmt.with_changes(leading_lines=lines)


def _needs_two_lines(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, (cst.FunctionDef, cst.ClassDef))


def add_import(module: cst.Module, code: str,
               project: str = "nova") -> cst.Module:
    """``module`` with the one-line import ``code`` in its Nova group."""
    new = cst.parse_statement(code.rstrip("\n") + "\n")
    node = _import_of(new)
    key = import_key(node)
    group = category(_module_of(node), project)
    body = list(module.body)
    start, end = import_region(body)
    if start == end:
        return _insert_first_import(module, body, start, new)
    # Groups: runs of imports split by a blank line.
    groups: list[list[int]] = []
    for index in range(start, end):
        if not groups or _blank_before(body[index]):
            groups.append([])
        groups[-1].append(index)
    group_of = [category(_module_of(_import_of(body[g[0]])), project)
                for g in groups]
    same = [g for g, c in zip(groups, group_of) if c == group]
    if same:
        members = same[0]
        for index in members:
            if import_key(_import_of(body[index])) > key:
                if index == members[0]:
                    # Take over the group's blank line.
                    new = new.with_changes(
                        leading_lines=body[index].leading_lines)
                    body[index] = body[index].with_changes(leading_lines=())
                body.insert(index, new)
                return module.with_changes(body=body)
        body.insert(members[-1] + 1, new)
        return module.with_changes(body=body)
    # A new group, after every group that sorts before it.
    before = [g for g, c in zip(groups, group_of) if c < group]
    if before:
        at = before[-1][-1] + 1
        new = new.with_changes(leading_lines=(cst.EmptyLine(),))
        body.insert(at, new)
        return module.with_changes(body=body)
    at = groups[0][0]
    new = new.with_changes(leading_lines=body[at].leading_lines)
    body[at] = body[at].with_changes(leading_lines=(cst.EmptyLine(),))
    body.insert(at, new)
    return module.with_changes(body=body)


def _insert_first_import(module, body, at, new) -> cst.Module:
    if at < len(body):
        following = body[at]
        if at > 0:
            new = new.with_changes(leading_lines=(cst.EmptyLine(),))
        else:
            new = new.with_changes(leading_lines=following.leading_lines)
            following = following.with_changes(leading_lines=())
        body[at] = _with_blank_lines(
            following, 2 if _needs_two_lines(following) else 1)
    elif at > 0:
        new = new.with_changes(leading_lines=(cst.EmptyLine(),))
    body.insert(at, new)
    return module.with_changes(body=body)


def insert_after(module: cst.Module, index: int,
                 statements: Sequence[cst.CSTNode],
                 blank_lines: int = 0) -> cst.Module:
    """``statements`` placed right after top-level statement ``index``.

    With ``blank_lines`` (2 for a def), the first inserted statement gets
    that many blank lines before it and the statement that follows is
    separated by as many.
    """
    body = list(module.body)
    statements = list(statements)
    if blank_lines:
        statements[0] = _with_blank_lines(statements[0], blank_lines)
        if index + 1 < len(body):
            body[index + 1] = _with_blank_lines(body[index + 1], blank_lines)
    body[index + 1:index + 1] = statements
    return module.with_changes(body=body)


def imports_end(module: cst.Module) -> int:
    """Index of the last top-level import (or docstring), -1 if none."""
    start, end = import_region(module.body)
    return end - 1
