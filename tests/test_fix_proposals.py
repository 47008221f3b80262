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

    def counting_parse(*args, **kwargs):
        parses.append(1)
        return real_parse(*args, **kwargs)

    from nova_secaudit.codemods import base

    real_positions = base.compute_positions
    libcst_passes = []

    def counting_positions(module):
        position_passes.append(1)
        return real_positions(module)

    monkeypatch.setattr(libcst, "parse_module", counting_parse)
    monkeypatch.setattr(base, "compute_positions", counting_positions)
    monkeypatch.setattr(PositionProvider, "_gen_impl",
                        lambda *args: libcst_passes.append(1))
    settings = Settings()
    findings = [f for f in check_source(MODULE, "m.py", settings)
                if f.code == "NSA101"]
    assert [f.line for f in findings] == [3, 7, 14]
    proposals = fixes.propose_fixes(MODULE, "m.py", findings, settings)
    assert parses == [1] and position_passes == [1] and not libcst_passes
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


def test_positions_equal_libcsts_on_every_fixture_and_example():
    from pathlib import Path

    from libcst.metadata import MetadataWrapper

    from nova_secaudit.codemods.base import position_wrapper
    from nova_secaudit.rules import ALL_RULES

    root = Path(__file__).parent
    texts = [p.read_text() for folder in (root / "data",
                                          root.parent / "fixtures")
             for p in sorted(folder.rglob("*.py"))]
    texts += [example.source for rule in ALL_RULES
              for example in (*rule.bad, *rule.good)]
    # CRLF and lone-CR line ends, a backslash continuation, and tabs.
    texts += ["x = 1\r\nif x:\r\n    y = (1,\r\n         2)\r\n",
              "a = 1\rb = [\r  2]\r", "z = 1 + \\\n    2\n",
              "def f():\n\treturn {'k':\n\t\t1}\n"]
    assert len(texts) > 40
    for text in texts:
        module = libcst.parse_module(text)
        mine = position_wrapper(module).resolve(PositionProvider)
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(
            PositionProvider)
        assert dict(mine) == dict(theirs)


@pytest.mark.parametrize("seed", range(40))
def test_anchored_opcodes_rebuild_the_new_text(seed):
    # Random files over a tiny alphabet (so lines repeat, as blank lines
    # and closing brackets do) with random edits: the opcodes must turn
    # the old lines into the new ones exactly, cover both sides in order,
    # and change no more lines than difflib's own matching does.
    import random

    rng = random.Random(seed)
    old = [rng.choice("abcdefgh") + "\n" for _ in range(rng.randint(0, 300))]
    old += [f"unique {n}\n" for n in range(rng.randint(0, 50))]
    rng.shuffle(old)
    new = list(old)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(new))
        if new and rng.random() < 0.4:
            del new[at:at + rng.randint(1, 4)]
        else:
            new[at:at] = [rng.choice("abxyz") + "\n"
                          for _ in range(rng.randint(1, 4))]
    opcodes = fixes._opcodes(old, new)
    assert opcodes[0][1] == opcodes[0][3] == 0
    assert (opcodes[-1][2], opcodes[-1][4]) == (len(old), len(new))
    assert [c[1] for c in opcodes[1:]] == [c[2] for c in opcodes[:-1]]
    assert [c[3] for c in opcodes[1:]] == [c[4] for c in opcodes[:-1]]
    rebuilt = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            assert old[i1:i2] == new[j1:j2]
        rebuilt.extend(new[j1:j2])
    assert rebuilt == new
    assert apply("".join(old), fixes.FixProposal(
        "", "", fixes.replacements(old, new, opcodes))) == "".join(new)
    ours = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag != "equal")
    theirs = sum(i2 - i1 for tag, i1, i2, _, _ in difflib.SequenceMatcher(
        None, old, new, autojunk=False).get_opcodes() if tag != "equal")
    assert ours <= theirs + 8


def test_reused_statement_code_equals_libcsts_code_of_the_new_module():
    # A transform that moves an original statement to a deeper indentation
    # (as a lock fix does), changes one inside an else branch, and keeps a
    # decorated method, comments and blank lines: the code built from the
    # original statements' code must be exactly libcst's own.
    from nova_secaudit.codemods.base import position_wrapper
    from nova_secaudit.reporting import codegen

    source = (
        "import threading\n\n\n"
        "class Manager(object):\n"
        "    # the cache\n"
        "    @staticmethod\n"
        "    def helper():\n"
        "        return 1\n\n"
        "    def run(self, x):\n"
        "        if x:\n"
        "            CACHE[x] = 1  # store\n"
        "        else:\n\n"
        "            value = 2\n"
        "            return value\n"
        "        return None\n")

    class Transform(libcst.CSTTransformer):
        def leave_SimpleStatementLine(self, original, updated):
            code = libcst.Module([]).code_for_node(original).strip()
            if code.startswith("CACHE"):
                return libcst.With(
                    [libcst.WithItem(libcst.parse_expression("LOCK"))],
                    libcst.IndentedBlock([original]))
            if code.startswith("value"):
                return libcst.parse_statement("value = 3\n")
            return updated

    module = libcst.parse_module(source)
    wrapper = position_wrapper(module)
    new = module.visit(Transform())
    positions = wrapper.resolve(PositionProvider)
    codes = {}
    for _ in range(2):  # the second time from the codes kept
        assert codegen.module_code(new, positions.holds,
                                   positions.statement_code,
                                   codes) == new.code
    assert "            with LOCK:\n                CACHE[x] = 1  # store" \
        in new.code
