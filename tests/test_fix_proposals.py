"""Fix proposals for reports: one libcst parse and one position
computation per file, every finding's own fix, and diffs that apply."""

from __future__ import annotations

import ast
import difflib

import libcst
import pytest
from libcst.metadata import PositionProvider

from nova_secaudit.engine import check_source
from nova_secaudit.reporting import fixes
from nova_secaudit.settings import Settings

MODULE = """\
import futurist

A = futurist.ThreadPoolExecutor()


def build():
    return futurist.ThreadPoolExecutor(thread_name_prefix="b")


def other(x):
    return x + 1


C = futurist.ThreadPoolExecutor()
"""


def apply(text: str, proposal) -> str:
    lines = text.splitlines(keepends=True)
    for change in sorted(proposal.replacements, reverse=True):
        lines[change.start_line - 1:change.end_line - 1] = [change.text]
    return "".join(lines)


def test_one_parse_and_one_position_pass_serve_every_finding(monkeypatch):
    parses, position_passes = [], []
    real_parse = libcst.parse_module
    real_positions = PositionProvider._gen_impl

    def counting_parse(*args, **kwargs):
        parses.append(1)
        return real_parse(*args, **kwargs)

    def counting_positions(self, module):
        position_passes.append(1)
        return real_positions(self, module)

    monkeypatch.setattr(libcst, "parse_module", counting_parse)
    monkeypatch.setattr(PositionProvider, "_gen_impl", counting_positions)
    settings = Settings()
    findings = [f for f in check_source(MODULE, "m.py", settings)
                if f.code == "NSA101"]
    assert [f.line for f in findings] == [3, 7, 14]
    proposals = fixes.propose_fixes(MODULE, "m.py", findings, settings)
    assert parses == [1] and position_passes == [1]
    # Each proposal fixes its own finding and no other.
    for found, proposal in zip(findings, proposals):
        fixed = apply(MODULE, proposal)
        ast.parse(fixed)
        left = [f.line for f in check_source(fixed, "m.py", settings)
                if f.code == "NSA101"]
        assert left == [f.line for f in findings if f is not found]


@pytest.mark.parametrize("old,new", [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\n" * 40 + "x\n" + "b\n" * 40, "i\n" + "a\n" * 40 + "y\n" +
     "b\n" * 40),
    ("a\nb\n", "a\nb\nc\n"),
    ("", "a\n"),
    ("a\n\n\nb\n", "a\n\nimport c\n\nb\n"),
], ids=["one-line", "two-hunks-far-apart", "append", "from-empty",
        "blank-lines-around-an-insert"])
def test_diff_and_replacements(old, new):
    before = old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    opcodes = fixes._opcodes(before, after)
    assert apply(old, fixes.FixProposal(
        "", "", fixes.replacements(before, after, opcodes))) == new
    diff = fixes.unified_diff("p.py", before, after, opcodes)
    expected = "".join(difflib.unified_diff(
        before, after, fromfile="a/p.py", tofile="b/p.py"))
    # The same hunks as difflib (the alignment of equal blank lines may
    # differ, so compare what each side removes and adds).
    assert _changes(diff) == _changes(expected)
    assert diff.splitlines()[:2] == expected.splitlines()[:2]


def _changes(diff: str) -> list[str]:
    return sorted(line for line in diff.splitlines()
                  if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def test_positions_stored_directly_equal_libcsts_own(monkeypatch):
    from libcst.metadata import MetadataWrapper

    from nova_secaudit.codemods.base import position_wrapper

    module = libcst.parse_module(MODULE)
    ours = position_wrapper(module)
    walks = []
    real_visit = MetadataWrapper.visit_batched

    def counting_visit(self, visitors):
        walks.append(list(visitors))
        return real_visit(self, visitors)

    monkeypatch.setattr(MetadataWrapper, "visit_batched", counting_visit)
    mine = ours.resolve(PositionProvider)
    assert walks == []  # no whole-module walk for an empty batch
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(
        PositionProvider)
    assert walks == [[]]  # what it saves
    assert dict(mine) == dict(theirs) and len(mine) > 50
