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


def fixed_text(text: str, path: str, found: Finding, settings,
               module) -> str | None:
    """The file's text after the codemod fixes ``found`` alone, or None.

    Uses the codemod registry (``codemods.CODEMOD_FOR``) and hands the
    command exactly this finding through its ``known=(tree, text,
    findings)`` argument (the fix run's own hand-over, which also spares a
    second engine run), so each reported result gets exactly its own fix.
    The result must pass ``fixing.verify`` (parses and compiles) like
    ``fix`` output. ``module`` is the file's libcst tree (libcst trees are
    immutable: one parse serves every finding).
    """
    try:
        from libcst.codemod import CodemodContext, SkipFile

        from nova_secaudit.codemods import CODEMOD_FOR
        from nova_secaudit.fixing import verify
    except ImportError:  # libcst missing: no proposals, the report goes on
        return None
    command = CODEMOD_FOR.get(found.code)
    if command is None:
        return None
    try:
        codemod = command(CodemodContext(filename=path), settings=settings,
                          codes=[found.code], known=(module, text, [found]),
                          unsafe_fixes=True)  # shown with their safety
        new_text = codemod.transform_module(module).code
    except SkipFile:
        return None
    except Exception:  # noqa: BLE001 - a report must not die of a codemod
        return None
    if new_text == text or verify(new_text, path) is not None:
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


def propose_fixes(text: str, path: str, findings, settings
                  ) -> list[FixProposal | None]:
    """One proposal (or None) per finding of one file, same order.

    The runner calls this in its worker processes when the output format
    shows fixes, so the libcst work runs in parallel and lands in the
    results cache with the findings.
    """
    proposals: list[FixProposal | None] = []
    module = None
    for found in findings:
        rule = RULES_BY_CODE.get(found.code)
        if rule is None or rule.fix is FixSafety.NONE:
            proposals.append(None)
            continue
        if module is None:  # parsed once, for the first fixable finding
            try:
                from libcst import parse_module

                module = parse_module(text)
            except Exception:  # noqa: BLE001 - no libcst, or unparsable
                return [None] * len(findings)
        after = fixed_text(text, path, found, settings, module)
        if after is None:
            proposals.append(None)
            continue
        from nova_secaudit.codemods import fix_safety

        safety = "safe" if fix_safety(found) is FixSafety.SAFE else \
            "unsafe: review before applying; fix --unsafe-fixes"
        proposals.append(FixProposal(
            f"{rule.code} {rule.symbol} codemod ({safety})",
            unified_diff(path, text, after), replacements(text, after)))
    return proposals


def proposal_to_json(proposal: FixProposal | None):
    if proposal is None:
        return None
    return [proposal.description, proposal.diff,
            [list(r) for r in proposal.replacements]]


def proposal_from_json(data) -> FixProposal | None:
    if data is None:
        return None
    description, diff, changes = data
    return FixProposal(str(description), str(diff),
                       [Replacement(int(a), int(b), str(c))
                        for a, b, c in changes])


def proposed_fix(report, found: Finding) -> FixProposal | None:
    """The codemod's fix for ``found``: from the run's results when the
    runner computed them, else worked out here (memoised per file)."""
    rule = RULES_BY_CODE.get(found.code)
    if rule is None or rule.fix is FixSafety.NONE or not report.with_fixes:
        return None
    memo = report.__dict__.setdefault("_fix_memo", {})
    if not memo:
        for result in report.results:
            if result.fixes is not None:
                memo.update(zip(result.findings, result.fixes))
        memo[None] = None  # built
    if found not in memo:
        text = report.source(found.path)
        same_file = [f for r in report.results if r.path == found.path
                     for f in r.findings] or [found]
        proposals = [None] * len(same_file) if text is None else \
            propose_fixes(text, found.path, same_file, report.settings)
        memo.update(zip(same_file, proposals))
        memo.setdefault(found, None)
    return memo[found]


def finding_fix_safety(report, found: Finding, proposal) -> str:
    """"safe", "unsafe" or "none" for this very finding: "none" when no
    codemod fixes it here (also when the report worked out the fixes and
    the codemod produced none), never the rule's class-wide claim."""
    if report.with_fixes and proposal is None:
        return FixSafety.NONE.value
    from nova_secaudit.codemods import fix_safety

    return fix_safety(found).value
