"""``# noqa`` and ``# pylint: disable=`` for the CLI.

flake8 and pylint apply their own comments; only our CLI applies both, so
the engine filters findings only when its caller asks (``suppress=True``).

Which comments count for a finding on line L: the comments on L, and on
every line a token spanning lines joins to L. That is flake8's noqa line
mapping (checked against flake8 7): a multi-line string joins its lines,
and so does a backslash continuation, but the lines of a bracketed
multi-line call stay apart, so a ``# noqa`` on a call's last line does
not cover a finding on its first. Unlike flake8, only real comments count:
``"# noqa"`` inside a string literal suppresses nothing.

Cost: only the statement holding a finding is looked at, and it is
tokenized only when its text names ``noqa`` or ``pylint``; a file is never
tokenized whole unless that statement alone cannot be tokenized.
"""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE)
_PYLINT = re.compile(r"#\s*pylint\s*:\s*disable\s*=\s*(?P<names>[\w\-, ]+)")
# Text a statement must hold before its comments are worth tokenizing.
_MARKER = re.compile(r"noqa|pylint", re.IGNORECASE)
_NOT_IN_GROUP = (tokenize.ENDMARKER, tokenize.DEDENT)
_GROUP_END = (tokenize.NL, tokenize.NEWLINE)


def unsuppressed(findings: list, facts) -> list:
    """``findings`` of the module of ``facts`` (its source text known)
    without those its comments suppress."""
    comments = _Comments(facts)
    return [found for found in findings
            if not is_suppressed(found, comments.names(found.line),
                                 "W6" + found.code[3:])]


def is_suppressed(finding, names: set[str] | None, msgid: str) -> bool:
    """Whether ``names`` (None: every code) cover ``finding``."""
    return names is None or bool(
        {finding.code, finding.symbol, msgid} & names
        or any(finding.code.startswith(n) for n in names
               if n.startswith("NSA")))


class _Comments:
    """The suppression comments of one module, tokenized statement by
    statement as findings ask for them."""

    def __init__(self, facts):
        self.facts = facts
        self.by_line: dict[int, set[str] | None] = {}
        self.seen_spans: set[tuple[int, int]] = set()
        self.whole_file = False

    def names(self, line: int) -> set[str] | None:
        """What the comments of ``line`` suppress (None: everything)."""
        if line not in self.by_line and not self.whole_file:
            self._read(*self.facts.statement_lines(line))
        return self.by_line.get(line, set())

    def _read(self, first: int, last: int) -> None:
        if (first, last) in self.seen_spans:
            return
        self.seen_spans.add((first, last))
        text = "\n".join(self.facts.lines[first - 1:last]) + "\n"
        if "#" not in text or not _MARKER.search(text):
            return
        try:
            self._record(text, first)
        except (tokenize.TokenError, SyntaxError):
            # The statement's lines do not tokenize on their own (a string
            # ending on its first line, say): read the whole file once.
            self.whole_file = True
            self.by_line.clear()
            try:
                self._record(self.facts.source, 1)
            except (tokenize.TokenError, SyntaxError):
                pass

    def _record(self, text: str, first: int) -> None:
        for start, end, comments in _line_groups(text):
            names = _suppressed_names(comments)
            if names is None or names:
                for line in range(start + first - 1, end + first):
                    self.by_line[line] = names


def _line_groups(text: str):
    """(first line, last line, comments) of each run of lines that tokens
    join, as flake8 maps lines for noqa; raises what tokenize raises."""
    first, last, comments = None, 0, []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        kind = token.type
        if kind in _NOT_IN_GROUP:
            continue
        if first is None:
            first = token.start[0]
        last = max(last, token.end[0])
        if kind == tokenize.COMMENT:
            comments.append(token.string)
        elif kind in _GROUP_END:
            yield first, last, comments
            first, last, comments = None, 0, []


def _suppressed_names(comments: list[str]) -> set[str] | None:
    """Codes and symbols the comments name (None: every code)."""
    names: set[str] = set()
    for comment in comments:
        noqa = _NOQA.search(comment)
        if noqa:
            if noqa.group("codes") is None:
                return None
            names.update(re.split(r"[,\s]+", noqa.group("codes").upper()))
        pylint = _PYLINT.search(comment)
        if pylint:
            disabled = {n.strip() for n in pylint.group("names").split(",")}
            if "all" in disabled:
                return None
            names.update(disabled)
    return names
