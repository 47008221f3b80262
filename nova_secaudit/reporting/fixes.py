"""The fix a codemod proposes for one finding, as a diff and as SARIF-style
replacements, for the json, sarif and html reports.

The codemods (``nova_secaudit.fixing``) turn a file's text into its fixed
text for a chosen set of findings; this module asks for one finding at a time
and turns the before/after pair into line-granular replacements. Without
libcst, or for a rule with no codemod, there is no proposal.
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
    """The file's text after the codemod fixes ``found`` alone, or None."""
    try:
        from nova_secaudit import fixing
    except ImportError:  # libcst missing, or no codemods in this build
        return None
    fix_one = getattr(fixing, "fix_findings", None)
    if fix_one is None:
        return None
    try:
        result = fix_one(text, path, [found], settings)
    except Exception:  # noqa: BLE001 - a report must not die of a codemod
        return None
    new_text = getattr(result, "text", result)
    if not isinstance(new_text, str) or new_text == text:
        return None
    return new_text


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
