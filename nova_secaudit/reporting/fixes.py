"""The fix a codemod proposes for one finding, as a diff and as SARIF-style
replacements, for the json, sarif and html reports.

The codemods (``nova_secaudit.codemods``) turn a file's text into its fixed
text; this module asks for one finding at a time and turns the before/after
pair into a unified diff and line-granular replacements. Without libcst, or
for a rule with no codemod, there is no proposal.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

from nova_secaudit.engine import FixSafety, Finding
from nova_secaudit.rules import RULES_BY_CODE


class Replacement(NamedTuple):
    """Replace lines ``start_line`` .. ``end_line - 1`` (1-based; equal
    start and end means insert before ``start_line``) with ``text``."""

    start_line: int
    end_line: int
    text: str


class FixProposal(NamedTuple):
    description: str
    diff: str
    replacements: list[Replacement]


def fixed_text(text: str, path: str, found: Finding, settings) -> str | None:
    """The file's text after the codemod fixes ``found`` alone, or None.

    Uses the codemod registry (``codemods.CODEMOD_FOR``) and narrows the
    command's own engine run (``FindingCodemod.engine_findings``) to the one
    finding, so each reported result gets exactly its own fix; the result
    must pass ``fixing.verify`` (parses and compiles) like ``fix`` output.
    """
    try:
        from libcst import parse_module
        from libcst.codemod import CodemodContext, SkipFile

        from nova_secaudit.codemods import CODEMOD_FOR
        from nova_secaudit.fixing import verify
    except ImportError:  # libcst missing: no proposals, the report goes on
        return None
    command = CODEMOD_FOR.get(found.code)
    if command is None:
        return None
    one = _only(command, found)
    try:
        codemod = one(CodemodContext(filename=path), settings=settings,
                      codes=[found.code])
        new_text = codemod.transform_module(parse_module(text)).code
    except SkipFile:
        return None
    except Exception:  # noqa: BLE001 - a report must not die of a codemod
        return None
    if new_text == text or verify(new_text, path) is not None:
        return None
    return new_text


def _only(command, found: Finding):
    """``command`` restricted to the finding at ``found``'s position."""
    key = (found.line, found.col, found.code)

    class OneFinding(command):
        def engine_findings(self, text):
            return [f for f in super().engine_findings(text)
                    if (f.line, f.col, f.code) == key]

    OneFinding.__name__ = f"{command.__name__}OneFinding"
    return OneFinding


def replacements(before: str, after: str) -> list[Replacement]:
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [Replacement(i1 + 1, i2 + 1, "".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag != "equal"]


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{path}", tofile=f"b/{path}"))


def proposed_fix(report, found: Finding) -> FixProposal | None:
    """The codemod's fix for ``found`` (memoised on the report)."""
    rule = RULES_BY_CODE.get(found.code)
    if rule is None or rule.fix is FixSafety.NONE:
        return None
    memo = report.__dict__.setdefault("_fix_memo", {})
    key = (found, found.message)
    if key not in memo:
        memo[key] = None
        text = report.source(found.path)
        after = None if text is None else fixed_text(
            text, found.path, found, report.settings)
        if after is not None:
            safety = "safe" if rule.fix is FixSafety.SAFE else \
                "unsafe: review before applying"
            memo[key] = FixProposal(
                f"{rule.code} {rule.symbol} codemod ({safety})",
                unified_diff(found.path, text, after),
                replacements(text, after))
    return memo[key]
