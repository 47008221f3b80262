"""libcst's ``PositionProvider`` results, computed with less overhead.

libcst computes positions by generating the module's code with a state
that, for every token, splits it with a regular expression to count
lines, enters a generator-based context manager for every expression and
statement, and builds a ``CodeRange`` of two ``CodePosition``\\ s (frozen
dataclasses) for every node, keyed by the node (whose hash is a Python
method). On the files a report proposes fixes for, that bookkeeping cost
five times the code generation itself. This state counts with plain
arithmetic, keys plain tuples by ``id`` and builds a ``CodeRange`` only
for the nodes a codemod asks about. A test checks that the result equals
libcst's on every fixture and rule example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState

_NEWLINE = re.compile(r"\r\n?|\n")


class _Syntactic:
    """What ``record_syntactic_position`` records, as a plain context
    manager: the node's range is what its code spans, or the start of
    ``start_node`` and the end of ``end_node`` when given."""

    __slots__ = ("state", "node", "start_node", "end_node", "line", "column")

    def __init__(self, state, node, start_node, end_node):
        self.state, self.node = state, node
        self.start_node, self.end_node = start_node, end_node

    def __enter__(self):
        self.line, self.column = self.state.line, self.state.column

    def __exit__(self, *exc_info):
        state = self.state
        computed = state.ranges
        start = (self.line, self.column) if self.start_node is None \
            else computed[id(self.start_node)][1:3]
        end = (state.line, state.column) if self.end_node is None \
            else computed[id(self.end_node)][3:5]
        computed[id(self.node)] = (self.node, *start, *end)
        return False


class FastPositionState(PositionProvidingCodegenState):
    """``PositionProvidingCodegenState`` with cheaper bookkeeping; the
    ranges go to ``ranges`` as ``id(node) -> (node, l1, c1, l2, c2)``,
    and where each statement's code is in ``tokens`` to ``statements`` as
    ``id(node) -> (node, first token, end token, indentation)``."""

    __slots__ = ("ranges", "statements")

    def add_indent_tokens(self) -> None:
        indent = self.indent_tokens
        self.tokens.extend(indent)
        for token in indent:  # indentation never holds a line break
            self.column += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node) -> None:
        self._stack.append((self.line, self.column, len(self.tokens)))

    def after_codegen(self, node) -> None:
        line, column, first_token = self._stack.pop()
        key = id(node)
        if key not in self.ranges:  # a syntactic range, when recorded, wins
            self.ranges[key] = (node, line, column, self.line, self.column)
        if type(node) in _STATEMENT_TYPES:
            self.statements[key] = (node, first_token, len(self.tokens),
                                    tuple(self.indent_tokens))

    def record_syntactic_position(self, node, *, start_node=None,
                                  end_node=None):
        return _Syntactic(self, node, start_node, end_node)


class Positions(Mapping):
    """node -> ``CodeRange``, each built when first asked for; and the
    code of each statement, as the pass generated it."""

    def __init__(self, state: FastPositionState):
        self._ranges = state.ranges
        self._statements = state.statements
        self._tokens = state.tokens
        self._built: dict[int, CodeRange] = {}

    def statement_code(self, node, indent: tuple[str, ...]) -> str | None:
        """The code of statement ``node`` of the module when generated at
        ``indent`` (the indentation it has in the module), else None."""
        entry = self._statements.get(id(node))
        if entry is None or entry[0] is not node or entry[3] != indent:
            return None
        return "".join(self._tokens[entry[1]:entry[2]])

    def __getitem__(self, node) -> CodeRange:
        key = id(node)
        built = self._built.get(key)
        if built is None:
            entry = self._ranges.get(key)
            if entry is None or entry[0] is not node:
                raise KeyError(node)
            _, line, column, end_line, end_column = entry
            built = self._built[key] = CodeRange(
                CodePosition(line, column), CodePosition(end_line, end_column))
        return built

    def holds(self, node) -> bool:
        """Whether ``node`` is a node of the module (cheaper than ``in``,
        which builds the range)."""
        entry = self._ranges.get(id(node))
        return entry is not None and entry[0] is node

    def __iter__(self):
        return (entry[0] for entry in self._ranges.values())

    def __len__(self) -> int:
        return len(self._ranges)


def compute_positions(module) -> Positions:
    """What libcst's ``PositionProvider`` gives for ``module``."""
    state = FastPositionState(default_indent=module.default_indent,
                              default_newline=module.default_newline,
                              provider=None)
    state.ranges, state.statements = {}, {}
    module._codegen(state)
    return Positions(state)


_STATEMENT_TYPES = frozenset(
    kind for kind in vars(cst).values()
    if isinstance(kind, type) and issubclass(kind, cst.BaseStatement))
