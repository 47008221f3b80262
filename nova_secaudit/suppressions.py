"""``# noqa`` and ``# pylint: disable=`` for the CLI.

flake8 and pylint apply their own comments; only our CLI applies both, so
the engine never filters findings itself.
"""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE)
_PYLINT = re.compile(r"#\s*pylint\s*:\s*disable\s*=\s*(?P<names>[\w\-, ]+)")


def _comments(text: str) -> dict[int, list[str]]:
    comments: dict[int, list[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments.setdefault(token.start[0], []).append(token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return comments


def suppressed_lines(text: str) -> dict[int, set[str] | None]:
    """Line -> suppressed codes/symbols (None means every code)."""
    result: dict[int, set[str] | None] = {}
    for line, comments in _comments(text).items():
        for comment in comments:
            noqa = _NOQA.search(comment)
            if noqa:
                if noqa.group("codes") is None:
                    result[line] = None
                    break
                codes = set(re.split(r"[,\s]+", noqa.group("codes").upper()))
                _add(result, line, codes)
            pylint = _PYLINT.search(comment)
            if pylint:
                names = {n.strip() for n in pylint.group("names").split(",")}
                if "all" in names:
                    result[line] = None
                    break
                _add(result, line, names)
    return result


def _add(result, line, names) -> None:
    if line in result and result[line] is None:
        return
    result.setdefault(line, set()).update(names)


def is_suppressed(finding, lines: dict[int, set[str] | None],
                  msgid: str) -> bool:
    if finding.line not in lines:
        return False
    names = lines[finding.line]
    return names is None or bool(
        {finding.code, finding.symbol, msgid} & names
        or any(finding.code.startswith(n) for n in names
               if n.startswith("NSA")))
