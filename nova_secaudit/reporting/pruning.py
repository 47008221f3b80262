"""A copy of a file that libcst can parse cheaply, for proposing fixes.

The codemods behind a report's fix proposals only edit the statements the
engine reported, plus module-level lines (imports, lock definitions, a
helper after the imports). Everything they read of the module outside the
reported statements is top level: imports, the names of top-level
bindings, defs and classes, and the top-level statement sequence (never
the methods of a class). What they read of the text (loggers, the
bindings of a masked name) comes from the original text, which the
codemods still get. So the body of a function or class that holds no
finding (and no line any finding's fix data names), and the whole of such
a method, signature and decorators included, can be blanked before libcst
parses the file: libcst then parses, positions and regenerates a fraction
of the file.

Blanking keeps every line number and every line outside the blanked
bodies: the body's first line becomes ``<indent>(0,`` and the opening of
a triple-quoted string, its last line closes the string and the bracket,
and the lines between are empty (each keeps its own line ending). So the
block is one expression statement (never a docstring) that ends on the
very line the body ended, and its empty lines are one string token.
:func:`patch_original` maps the codemod's output back onto the original
text, and refuses (the caller then uses the whole file) when an edit
touches a blanked line.
"""

from __future__ import annotations

import ast
import re
from typing import NamedTuple

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_NUMBER = re.compile(r"\d+")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Bodies shorter than this are not worth blanking.
MIN_LINES = 3


class Pruned(NamedTuple):
    text: str
    lines: list[str]  # of ``text``
    blanked: frozenset[int]  # 0-based indexes of blanked lines
    # (id of a statement of its libcst tree, indentation) -> (it, its
    # code there): see ``codegen``
    codes: dict


def split_lines(text: str) -> list[str]:
    """Lines as ``ast`` counts them (``\\r\\n``, ``\\r``, ``\\n``)."""
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def needed_lines(findings) -> set[int]:
    """Every line a finding covers, and every number in its fix data
    (block ranges, decorated defs, raw text positions...): read as line
    numbers, columns among them only keep more of the file."""
    needed: set[int] = set()
    for found in findings:
        needed.update(range(found.line, (found.end_line or found.line) + 1))
        for value in found.fix_args.values():
            needed.update(int(n) for n in _NUMBER.findall(str(value)))
    return needed


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def prune(text: str, findings, tree: ast.Module | None = None
          ) -> tuple[Pruned | None, str]:
    """The blanked copy of ``text`` (whose ``ast`` tree ``tree`` is, when
    given) and "pruned", or None and why not."""
    lines = split_lines(text)
    if lines != text.splitlines(keepends=True):
        # Form feeds, \x1c-\x1e, \x85, \u2028...: the report's lines
        # (str.splitlines) and ast's lines would not be the same lines.
        return None, "line separators"
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None, "unparsable"
    needed = sorted(needed_lines(findings))
    spans: list[tuple[int, int, str]] = []

    def holds(first: int, last: int) -> bool:
        return any(first <= n <= last for n in needed)

    def visit(body, in_class: bool) -> None:
        for node in body:
            if not isinstance(node, _DEFS):
                continue
            first = min([node.lineno] +
                        [d.lineno for d in node.decorator_list])
            if holds(first, node.end_lineno):
                if isinstance(node, ast.ClassDef):
                    visit(node.body, True)
                continue
            # A method goes whole, decorators and signature too: no fix
            # reads the methods of a class (top-level names it does).
            head = node if in_class and \
                not isinstance(node, ast.ClassDef) else node.body[0]
            start = min([head.lineno] + [
                d.lineno for d in getattr(head, "decorator_list", ())])
            end = node.end_lineno
            if end - start + 1 < MIN_LINES:
                continue
            line = lines[start - 1]
            indent = line[:len(line) - len(line.lstrip(" \t"))]
            if not indent or len(indent.encode()) != head.col_offset:
                continue  # the body starts on the header's line
            if start != head.lineno and line[len(indent)] != "@":
                continue
            spans.append((start, end, indent))

    visit(tree.body, False)
    if not spans:
        return None, "nothing to blank"
    new = list(lines)
    blanked: set[int] = set()
    for start, end, indent in spans:
        if start == end:
            new[start - 1] = indent + "()" + _ending(lines[start - 1])
        else:
            # The empty lines inside one string token: libcst would make
            # nodes of each empty line between brackets, and a string
            # alone could pass for a docstring.
            new[start - 1] = indent + '(0, """' + _ending(lines[start - 1])
            for index in range(start, end - 1):
                new[index] = _ending(lines[index])
            new[end - 1] = '""")' + _ending(lines[end - 1])
        blanked.update(range(start - 1, end))
    return Pruned("".join(new), new, frozenset(blanked), {}), "pruned"


def patch_original(original: list[str], pruned: Pruned, new: list[str],
                   opcodes) -> str | None:
    """The original text with the edits that turned ``pruned`` into
    ``new`` (given as ``opcodes`` from pruned to new lines), or None when
    an edit touches or falls inside a blanked body."""
    out: list[str] = []
    blanked = pruned.blanked
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            out.extend(original[i1:i2])
            continue
        if any(i in blanked for i in range(i1, i2)) or \
                (i1 == i2 and i1 - 1 in blanked and i1 in blanked):
            return None
        out.extend(new[j1:j2])
    return "".join(out)
