"""The fix a codemod proposes for one finding, as a diff and as SARIF-style
replacements, for the json, sarif and html reports.

The codemods (``nova_secaudit.codemods``) turn a file's text into its fixed
text; this module asks for one finding at a time and turns the before/after
pair into a unified diff and line-granular replacements. Without libcst, or
for a rule with no codemod, there is no proposal.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import functools
from collections import Counter
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
               wrapper, pruned=None, tree=None
               ) -> tuple[str, list | None] | None:
    """The file's text after the codemod fixes ``found`` alone, with the
    opcodes from ``text`` to it when they are known already, or None.

    Uses the codemod registry (``codemods.CODEMOD_FOR``) and hands the
    command exactly this finding through its ``known=(tree, text,
    findings)`` argument (the fix run's own hand-over, which also spares a
    second engine run), so each reported result gets exactly its own fix.
    The result must pass ``fixing.verify`` (parses and compiles) like
    ``fix`` output. ``wrapper`` holds the file's libcst tree and its
    metadata (libcst trees are immutable: one parse and one position
    computation serve every finding).

    With ``pruned`` (see ``pruning``), ``wrapper`` holds the tree of that
    blanked copy; the codemod still reads ``text`` for everything textual,
    and its edits are mapped back onto ``text``. Raises ``Unpruned`` when
    that cannot be done, so the caller uses the whole file.
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
    module = wrapper.module
    try:
        codemod = _unused_command(command, settings).twin(
            CodemodContext(filename=path), [found.code],
            (module, text, [found]), wrapper, tree)
        fixed = codemod.transform_module(module)
        new_text = fixed.code if pruned is None else \
            module_code(fixed, module, wrapper, pruned.codes)
    except SkipFile:
        return None
    except Exception:  # noqa: BLE001 - a report must not die of a codemod
        if pruned is not None:
            raise Unpruned("the codemod failed on the blanked copy")
        return None
    if pruned is not None:
        if getattr(codemod, "_undone", False):
            # MaskSecrets then searches the generated code for uses.
            raise Unpruned("the codemod read the generated module")
        if new_text == pruned.text or verify(new_text, path) is not None:
            # The blanked bodies compile alone (they did in the file) and
            # no edit reaches into them: what does not compile is in the
            # edited lines, which the blanked copy holds as they are.
            return None
        from nova_secaudit.reporting.pruning import patch_original

        new = new_text.splitlines(keepends=True)
        opcodes = _opcodes(pruned.lines, new, _blank_line)
        new_text = patch_original(text.splitlines(keepends=True), pruned,
                                  new, opcodes)
        if new_text is None:
            raise Unpruned("an edit touches a blanked body")
        # The blanked copy has the file's lines, and its unchanged lines
        # are the file's own in the patched text: the same opcodes.
        return new_text, opcodes
    if new_text == text or verify(new_text, path) is not None:
        return None
    return new_text, None


@functools.lru_cache(maxsize=16)
def _unused_command(command, settings):
    """One never-run instance of ``command`` per settings in a process,
    whose twins fix one finding each (see ``FindingCodemod.twin``)."""
    from libcst.codemod import CodemodContext

    return command(CodemodContext(), settings=settings,
                   unsafe_fixes=True)  # shown with their safety


def module_code(new, old, wrapper, codes: dict) -> str:
    """``new.code`` for ``new``, a transform of ``old`` (the module of
    ``wrapper``): what ``new`` shares with ``old`` is generated once per
    file, its code kept in ``codes`` (see ``codegen``)."""
    if not new.has_trailing_newline or \
            new.default_newline != old.default_newline or \
            new.default_indent != old.default_indent:
        return new.code
    from libcst.metadata import PositionProvider

    from nova_secaudit.reporting import codegen

    # A node of the original module is one whose position was computed.
    positions = wrapper._metadata[PositionProvider]
    return codegen.module_code(new, positions.holds,
                               positions.statement_code, codes)


def _blank_line(line: str) -> bool:
    # A blanked body is runs of these: as anchors they would make the
    # matching quadratic in the number of blanked lines.
    return not line.strip()


class Unpruned(Exception):
    """The blanked copy cannot stand for the file: use the whole file."""


# How proposals were computed, per file: "pruned", "whole: <why>".
PRUNE_STATS: Counter = Counter()
# False: every file goes through libcst whole (the reference path).
PRUNE = True


def _opcodes(old: list[str], new: list[str], isjunk=None) -> list[tuple]:
    """difflib-style opcodes from ``old`` to ``new``.

    A fix changes a few places of a big file (an import at the top, a
    statement deep down), so matching the whole of it with
    ``SequenceMatcher`` costs time quadratic in the lines between the two.
    Lines that occur once in each side anchor the match instead (git's
    patience diff), and only the short runs between anchors go through
    ``SequenceMatcher`` (with ``isjunk``: lines never used to anchor a
    match there, though matches take them in).
    """
    blocks: list[tuple[int, int, int]] = []
    _match(old, 0, len(old), new, 0, len(new), isjunk, blocks, 0)
    codes: list[tuple] = []
    i = j = 0
    for a, b, size in blocks + [(len(old), len(new), 0)]:
        if i < a or j < b:
            tag = "replace" if i < a and j < b else \
                "delete" if i < a else "insert"
            codes.append((tag, i, a, j, b))
        if size:
            if codes and codes[-1][0] == "equal":
                last = codes.pop()
                codes.append(("equal", last[1], a + size, last[3], b + size))
            else:
                codes.append(("equal", a, a + size, b, b + size))
        i, j = a + size, b + size
    return codes


# Past this depth of anchoring, a run goes to SequenceMatcher as it is.
_MAX_ANCHOR_DEPTH = 6


def _match(a, alo, ahi, b, blo, bhi, isjunk, out, depth) -> None:
    """Append to ``out`` the matching blocks (i, j, n) of a[alo:ahi] and
    b[blo:bhi], in order."""
    head = 0
    while alo + head < ahi and blo + head < bhi and \
            a[alo + head] == b[blo + head]:
        head += 1
    if head:
        out.append((alo, blo, head))
        alo, blo = alo + head, blo + head
    tail = 0
    while alo < ahi - tail and blo < bhi - tail and \
            a[ahi - 1 - tail] == b[bhi - 1 - tail]:
        tail += 1
    ahi, bhi = ahi - tail, bhi - tail
    if alo < ahi and blo < bhi:
        anchors = _unique_anchors(a, alo, ahi, b, blo, bhi) \
            if depth < _MAX_ANCHOR_DEPTH else []
        if anchors:
            for i, j in anchors:
                if i > alo or j > blo:
                    _match(a, alo, i, b, blo, j, isjunk, out, depth + 1)
                out.append((i, j, 1))
                alo, blo = i + 1, j + 1
            _match(a, alo, ahi, b, blo, bhi, isjunk, out, depth + 1)
        else:
            matcher = difflib.SequenceMatcher(isjunk, a[alo:ahi], b[blo:bhi],
                                              autojunk=False)
            out.extend((i + alo, j + blo, n) for i, j, n
                       in matcher.get_matching_blocks() if n)
    if tail:
        out.append((ahi, bhi, tail))


def _unique_anchors(a, alo, ahi, b, blo, bhi) -> list[tuple[int, int]]:
    """Pairs (i, j) of lines that occur once in a[alo:ahi] and once in
    b[blo:bhi], the longest run of them in the same order on both sides."""
    seen_a: dict[str, int] = {}
    for i in range(alo, ahi):
        line = a[i]
        seen_a[line] = -1 if line in seen_a else i
    seen_b: dict[str, int] = {}
    for j in range(blo, bhi):
        line = b[j]
        if seen_a.get(line, -1) >= 0:
            seen_b[line] = -1 if line in seen_b else j
    pairs = sorted((seen_a[line], j) for line, j in seen_b.items() if j >= 0)
    # Longest increasing run of j (patience sorting), kept by back links.
    tops: list[int] = []
    top_index: list[int] = []
    back: list[int] = []
    for index, (_, j) in enumerate(pairs):
        pile = bisect.bisect_left(tops, j)
        back.append(top_index[pile - 1] if pile else -1)
        if pile == len(tops):
            tops.append(j)
            top_index.append(index)
        else:
            tops[pile] = j
            top_index[pile] = index
    chain: list[tuple[int, int]] = []
    index = top_index[-1] if top_index else -1
    while index >= 0:
        chain.append(pairs[index])
        index = back[index]
    return chain[::-1]


def replacements(old: list[str], new: list[str],
                 opcodes: list[tuple]) -> list[Replacement]:
    return [Replacement(i1 + 1, i2 + 1, "".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]


def unified_diff(path: str, old: list[str], new: list[str],
                 opcodes: list[tuple]) -> str:
    """What ``difflib.unified_diff`` prints (3 lines of context), from
    opcodes already computed."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    matcher.opcodes = opcodes  # get_grouped_opcodes reuses them
    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    for group in matcher.get_grouped_opcodes(3):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} "
                   f"+{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in old[i1:i2])
                continue
            out.extend("-" + line for line in old[i1:i2])
            out.extend("+" + line for line in new[j1:j2])
    return "".join(out)


def _range(start: int, stop: int) -> str:
    """A unified diff's ``start,length`` (as difflib formats it)."""
    length = stop - start
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def propose_fixes(text: str, path: str, findings, settings, tree=None
                  ) -> list[FixProposal | None]:
    """One proposal (or None) per finding of one file, same order.

    libcst parses the file once, and its positions are computed once, for
    every finding its codemod may fix; bodies of functions and classes
    that hold none are blanked first (``pruning``), unless that is not
    known to be safe for this file. The runner calls this in its worker
    processes when the output format shows fixes, so the libcst work runs
    in parallel and lands in the results cache with the findings.
    ``tree``, the ``ast`` tree of ``text`` when the caller has it, spares
    parsing the text again (it is only read).
    """
    fixable = [f for f in findings if _fixable_rule(f) is not None]
    if not fixable:
        return [None] * len(findings)
    if tree is None:  # one parse serves the pruning and every masking fix
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass  # the pruning says why it cannot blank the file
    if PRUNE:
        from nova_secaudit.reporting.pruning import prune

        pruned, why = prune(text, fixable, tree)
        if pruned is not None:
            try:
                proposals = _propose(text, path, findings, settings, pruned,
                                     tree)
            except Unpruned as exc:
                why = str(exc)
            else:
                _count("pruned")
                return proposals
        _count("whole: " + why)
    return _propose(text, path, findings, settings, None, tree)


def _count(key: str) -> None:
    PRUNE_STATS[key] += 1  # noqa: NSA201 - a worker is single-threaded


def _fixable_rule(found: Finding):
    """The rule of ``found`` when its codemod may fix it, else None: a
    finding the codemod declines on its fix data alone (the lock decision
    says ``unfixable``, a traceback is logged...) needs no libcst work,
    and a file holding only such findings is never parsed by libcst."""
    rule = RULES_BY_CODE.get(found.code)
    if rule is None or rule.fix is FixSafety.NONE:
        return None
    try:
        from nova_secaudit.codemods import CODEMOD_FOR
    except ImportError:  # libcst missing: no proposals, the report goes on
        return None
    command = CODEMOD_FOR.get(found.code)
    return rule if command is not None and command.fixable(found) is None \
        else None


def _propose(text: str, path: str, findings, settings, pruned,
             tree=None) -> list[FixProposal | None]:
    """``propose_fixes`` from the whole file, or from ``pruned``."""
    proposals: list[FixProposal | None] = []
    wrapper = None
    old = text.splitlines(keepends=True)
    for found in findings:
        rule = _fixable_rule(found)
        if rule is None:
            proposals.append(None)
            continue
        if wrapper is None:  # parsed once, for the first fixable finding
            try:
                from libcst import parse_module

                from nova_secaudit.codemods.base import position_wrapper

                wrapper = position_wrapper(parse_module(
                    text if pruned is None else pruned.text))
            except Exception:  # noqa: BLE001 - no libcst, or unparsable
                if pruned is not None:
                    raise Unpruned("libcst cannot parse the blanked copy")
                return [None] * len(findings)
        fixed = fixed_text(text, path, found, settings, wrapper, pruned,
                           tree)
        if fixed is None:
            proposals.append(None)
            continue
        new = fixed[0].splitlines(keepends=True)
        opcodes = fixed[1] or _opcodes(old, new)
        from nova_secaudit.codemods import fix_safety

        safety = "safe" if fix_safety(found) is FixSafety.SAFE else \
            "unsafe: review before applying; fix --unsafe-fixes"
        proposals.append(FixProposal(
            f"{rule.code} {rule.symbol} codemod ({safety})",
            unified_diff(path, old, new, opcodes),
            replacements(old, new, opcodes)))
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
