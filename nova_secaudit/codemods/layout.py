"""Keeping edited calls within 79 columns the way Nova code wraps them.

When an argument is added or wrapped and the line grows past the limit, the
call's arguments are re-filled: first aligned with the opening bracket
(pycodestyle's visual indent), then, if that still does not fit, as a
hanging indent four spaces deeper than the line the call starts on::

    executor = futurist.ThreadPoolExecutor(
        max_workers=4,
        check_and_reject=futurist.rejection.reject_when_reached(64))

A call with comments between its arguments is left as written: re-filling
would move the comments away from what they explain.
"""

from __future__ import annotations

import libcst as cst

MAX_LINE = 79
EMPTY_MODULE = cst.Module(body=())


def code_of(node: cst.CSTNode) -> str:
    return EMPTY_MODULE.code_for_node(node)


def _has_comment(node: cst.CSTNode) -> bool:
    class Finder(cst.CSTVisitor):
        found = False

        def visit_Comment(self, comment) -> bool:
            Finder.found = True
            return False

    finder = Finder()
    node.visit(finder)
    return Finder.found


def fits(prefix: str, text: str, suffix: str, limit: int = MAX_LINE,
         allowed: int = 0) -> bool:
    """Every line of ``prefix + text + suffix`` within ``limit`` (or within
    ``allowed``, the longest original line, when that was longer)."""
    widest = max(len(line) for line in (prefix + text + suffix).split("\n"))
    return widest <= max(limit, allowed)


def _arg_texts(call: cst.Call) -> list[str]:
    texts = []
    for arg in call.args:
        bare = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT,
                                whitespace_after_arg=cst.SimpleWhitespace(""))
        texts.append(code_of(bare).strip())
    return texts


def _fill(items: list[str], first_col: int, indent: str, tail: int,
          limit: int) -> str:
    """Items joined by ", " on lines starting at ``indent`` (the first at
    ``first_col``), breaking before an item that would not fit; ``tail``
    is what follows the last item on its line."""
    out = ""
    col = first_col
    for number, item in enumerate(items):
        last = number == len(items) - 1
        piece = item + ("," if not last else "")
        width = len(item.split("\n")[0]) + (1 if not last else tail)
        if number and col + 1 + width > limit:
            out += "\n" + indent
            col = len(indent)
        elif number:
            out += " "
            col += 1
        out += piece
        if "\n" in item:
            col = len(item.rsplit("\n", 1)[1]) + (0 if last else 1)
        else:
            col += len(piece)
    return out


class _Relative(cst.CSTTransformer):
    """Continuation lines relative to the statement's indentation, so they
    move with it when a later edit (a ``with`` block) indents it."""

    def __init__(self, base: str):
        self.base = base

    def leave_ParenthesizedWhitespace(self, original, updated):
        text = updated.last_line.value
        if text.startswith(self.base):
            return updated.with_changes(
                indent=True,
                last_line=cst.SimpleWhitespace(text[len(self.base):]))
        return updated.with_changes(indent=False)


def _align_column(call: cst.Call, first_col: int, stmt_indent: str) -> int:
    """The column the call's continuation lines start at (its first
    continuation line, else the visual indent after the bracket)."""
    spaces = [call.whitespace_before_args] + [
        arg.comma.whitespace_after for arg in call.args
        if arg.comma is not cst.MaybeSentinel.DEFAULT]
    for space in spaces:
        if isinstance(space, cst.ParenthesizedWhitespace):
            return (len(stmt_indent) if space.indent else 0) + \
                len(space.last_line.value)
    return first_col


def fits_in_statement(prefix: str, node: cst.CSTNode, suffix: str,
                      stmt_indent: str, limit: int = MAX_LINE) -> bool:
    """``node`` fits where it stands (continuation lines measured with
    the statement's indentation)."""
    lines = (prefix + code_of(node) + suffix).split("\n")
    return len(lines[0]) <= limit and all(
        len(stmt_indent) + len(line) <= limit for line in lines[1:])


def _fits_relative(prefix: str, call: cst.Call, suffix: str,
                   stmt_indent: str, limit: int,
                   unchanged: frozenset = frozenset()) -> bool:
    """Every line within ``limit``, except lines that were already there
    (``unchanged``: the stripped original lines); continuation lines are
    measured with the statement's indentation in front."""
    lines = (prefix + code_of(call) + suffix).split("\n")
    widths = [len(lines[0])] + [len(stmt_indent) + len(line)
                                for line in lines[1:]]
    return all(width <= limit or line.strip() in unchanged
               for line, width in zip(lines, widths))


def break_before(call: cst.Call, index: int, column: int,
                 stmt_indent: str) -> cst.Call | None:
    """``call`` with a line break before argument ``index``, the new line
    aligned at ``column`` (the smallest change: one line added)."""
    if index <= 0 or index >= len(call.args):
        return None
    args = list(call.args)
    previous = args[index - 1]
    comma = previous.comma
    if comma is cst.MaybeSentinel.DEFAULT or \
            isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        return None
    relative = column - len(stmt_indent)
    space = cst.ParenthesizedWhitespace(
        indent=relative >= 0,
        last_line=cst.SimpleWhitespace(
            " " * (relative if relative >= 0 else column)))
    args[index - 1] = previous.with_changes(
        comma=comma.with_changes(whitespace_after=space))
    return call.with_changes(args=args)


def relayout_call(call: cst.Call, prefix: str, suffix: str, indent: str,
                  original_width: int = 0, limit: int = MAX_LINE,
                  stmt_indent: str | None = None,
                  changed: int | None = None,
                  unchanged: frozenset = frozenset()) -> cst.Call:
    """``call`` re-filled so that ``prefix + call + suffix`` fits.

    ``prefix`` is the text before the call on its first line, ``suffix``
    what follows it on its last line, ``indent`` the indentation of the
    first line; ``original_width`` the longest line before the edit (a
    line that was already too long only has to get no longer);
    ``changed`` the index of the argument the edit added or grew: a break
    before it, aligned with the other arguments, is tried first;
    ``unchanged`` the original lines (stripped), which may stay as long as
    they were.
    """
    stmt_indent = indent if stmt_indent is None else stmt_indent
    if not call.args or _fits_relative(prefix, call, suffix, stmt_indent,
                                       limit, unchanged):
        return call
    func_text = code_of(call.func) + code_of(call.whitespace_after_func)
    if "\n" in func_text:
        return call
    visual = len(prefix.rsplit("\n", 1)[-1]) + len(func_text) + 1
    if changed is not None:
        # Break before the grown argument, then before each later one
        # until the call fits: the smallest change that does.
        column = _align_column(call, visual, stmt_indent)
        broken = call
        for index in range(changed, len(call.args)):
            broken = break_before(broken, index, column, stmt_indent)
            if broken is None:
                break
            if _fits_relative(prefix, broken, suffix, stmt_indent, limit,
                              unchanged):
                return broken
    if _has_comment(call):
        return call
    if any("\n" in code_of(arg) for arg in call.args):
        # A multi-line argument (implicitly joined strings, a dict) would
        # lose its alignment if re-filled as text.
        return call
    items = _arg_texts(call)
    tail = 1 + len(suffix)  # the closing bracket and what follows it
    candidates = []
    candidates.append(func_text + "(" + _fill(
        items, visual, " " * visual, tail, limit) + ")")
    # Hanging indent: one argument per line, as Nova writes long calls.
    hanging = indent + "    "
    candidates.append(func_text + "(\n" + hanging +
                      (",\n" + hanging).join(items) + ")")
    candidate = _best(candidates, prefix, suffix, limit, original_width)
    try:
        new = cst.parse_expression(candidate)
    except cst.ParserSyntaxError:
        return call
    if not isinstance(new, cst.Call):
        return call
    new = new.visit(_Relative(stmt_indent))
    return new.with_changes(lpar=call.lpar, rpar=call.rpar)


def _best(candidates, prefix, suffix, limit, allowed) -> str:
    """The first layout within the limit, else the first no wider than
    the original, else the narrowest."""
    for bound in (0, allowed):
        for candidate in candidates:
            if fits(prefix, candidate, suffix, limit, bound):
                return candidate
    return min(candidates, key=lambda c: max(
        len(line) for line in (prefix + c + suffix).split("\n")))
