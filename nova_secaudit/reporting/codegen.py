"""The code of a transformed module, reusing the code of what it shares.

A report proposes one fix per finding, so libcst generates the code of
the same file once per finding; a fix changes one statement, yet a class
holding it (``LibvirtDriver``, ``ComputeManager``) was generated whole
each time. libcst trees are immutable and a transform keeps every node it
does not change, so a statement of the transformed tree that is the very
object of the original tree has the code it had. Here each such statement
stands in for itself through a :class:`_Verbatim` whose code is generated
once per file (and per indentation), and only the path from the module to
the changed statements is generated again. The code a statement had in
the original module usually comes from the position pass, which generated
it already.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import libcst as cst
from libcst._nodes.internal import CodegenState

# Nodes whose fields can hold a block of statements, followed even when the
# transform kept them (an unchanged ``else:`` of a changed ``if``).
_HOLDERS = (cst.BaseCompoundStatement, cst.BaseSuite, cst.Else,
            cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler)


@dataclass(frozen=True, eq=False)  # a node is equal to itself only
class _Verbatim(cst.BaseStatement):
    """An original statement standing in a block of the new tree: its
    code, at the indentation the block gives it, comes from ``codes``."""

    original: cst.BaseStatement
    codes: dict
    known_code: Callable[[cst.BaseStatement, tuple], str | None]

    def _visit_and_replace_children(self, visitor):
        return self

    def _codegen_impl(self, state: CodegenState) -> None:
        indent = tuple(state.indent_tokens)
        key = (id(self.original), indent)
        known = self.codes.get(key)
        if known is None or known[0] is not self.original:
            code = self.known_code(self.original, indent)
            if code is None:  # moved to another indentation by the fix
                alone = CodegenState(default_indent=state.default_indent,
                                     default_newline=state.default_newline,
                                     indent_tokens=list(indent))
                self.original._codegen(alone)
                code = "".join(alone.tokens)
            known = self.codes[key] = (self.original, code)
        state.add_token(known[1])


def module_code(new: cst.Module, is_original, known_code,
                codes: dict) -> str:
    """``new.code``, where ``is_original(node)`` tells the nodes ``new``
    shares with the module it was transformed from, ``known_code(node,
    indentation)`` gives the code such a statement had there if known
    (else None), and ``codes`` keeps the code of those statements for
    the file's next transform."""
    return _rebuild(new, is_original, known_code, codes).code


def _rebuild(node, is_original, known_code, codes):
    if isinstance(node, (cst.Module, cst.IndentedBlock)):
        body = [_Verbatim(stmt, codes, known_code) if is_original(stmt)
                else _rebuild(stmt, is_original, known_code, codes)
                for stmt in node.body]
        return node.with_changes(body=body)
    if is_original(node) and not isinstance(node, _HOLDERS):
        return node
    changes = {}
    for field in fields(node):
        value = getattr(node, field.name)
        if isinstance(value, cst.CSTNode):
            rebuilt = _rebuild(value, is_original, known_code, codes)
            if rebuilt is not value:
                changes[field.name] = rebuilt
        elif isinstance(value, (list, tuple)) and value and \
                isinstance(value[0], cst.CSTNode):
            rebuilt = [_rebuild(item, is_original, known_code, codes)
                       for item in value]
            if any(a is not b for a, b in zip(rebuilt, value)):
                changes[field.name] = rebuilt
    return node.with_changes(**changes) if changes else node
