"""Fix proposals from a blanked copy of the file (``reporting.pruning``)
are exactly the proposals from the whole file: description, diff and
replacements, for every fixture, every rule example and (network) every
file of nova 34.0.0 with a fixable finding."""

from __future__ import annotations

import ast

import pytest

from nova_secaudit.engine import check_source
from nova_secaudit.reporting import fixes, pruning
from nova_secaudit.rules import ALL_RULES
from support import EVERY_RULE, FIXTURES

pytest.importorskip("libcst")


def compare(text: str, path: str, settings) -> str:
    """"same" when both paths agree (else the first difference), or why
    the file was not blanked."""
    findings = check_source(text, path, settings)
    fixable = [f for f in findings if fixes._fixable_rule(f) is not None]
    if not fixable:
        return "no fixable finding"
    pruned, why = pruning.prune(text, fixable)
    if pruned is None:
        return why
    whole = fixes._propose(text, path, findings, settings, None)
    try:
        # The blanked path reads the tree the check made, as the runner's
        # workers hand it over; the whole path parses the text itself.
        blanked = fixes._propose(text, path, findings, settings, pruned,
                                 ast.parse(text))
    except fixes.Unpruned as exc:
        return f"fallback: {exc}"
    for found, a, b in zip(findings, whole, blanked):
        if a != b:
            return f"{path}:{found.line} {found.code}: {a!r} != {b!r}"
    return "same"


@pytest.fixture(params=[pruning.MIN_LINES, 1], ids=["default", "every-body"])
def min_lines(request, monkeypatch):
    monkeypatch.setattr(pruning, "MIN_LINES", request.param)
    return request.param


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")),
                         ids=lambda p: p.name)
def test_fixture_proposals_are_the_same_blanked(fixture, min_lines,
                                                monkeypatch):
    monkeypatch.chdir(FIXTURES.parent)
    path = f"{FIXTURES.name}/{fixture.name}"
    text = fixture.read_text(encoding="utf-8")
    assert compare(text, path, EVERY_RULE) == "same"
    # CRLF line endings blank and map back the same way.
    assert compare(text.replace("\n", "\r\n"), path, EVERY_RULE) == "same"
    # With CR alone libcst drops the last line's ending: where that line
    # is blanked, the edit is refused and the whole file is used.
    assert compare(text.replace("\n", "\r"), path, EVERY_RULE) in (
        "same", "fallback: an edit touches a blanked body")


def _examples():
    return [pytest.param(rule, example, id=f"{rule.code}-{example.name}")
            for rule in ALL_RULES for example in rule.bad
            if rule.fix.value != "none"]


@pytest.mark.parametrize("rule,example", _examples())
def test_example_proposals_are_the_same_blanked(rule, example):
    from nova_secaudit.settings import Settings

    pruning.MIN_LINES, saved = 1, pruning.MIN_LINES
    try:
        result = compare(example.source, "example.py",
                         Settings(select=(rule.code,)))
    finally:
        pruning.MIN_LINES = saved
    assert result in ("same", "nothing to blank", "no fixable finding")


EXTRA = '''\
import futurist


class Unrelated(object):
    @staticmethod
    def helper():
        """Doc

        string."""
        return 1 + \\
            2

    def other(self):
        x = """multi
line"""
        return x


async def also():
    await thing()
    return 2


def build():
    return futurist.ThreadPoolExecutor(thread_name_prefix="b")


def tail(x):
    # comment
    y = x

    # trailing comment
    return y


C = 1  # the last line is kept (see the CR case above)
'''


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_decorators_docstrings_continuations_and_line_endings(newline):
    text = EXTRA.replace("\n", newline)
    assert compare(text, "m.py", EVERY_RULE) == "same"
    findings = check_source(text, "m.py", EVERY_RULE)
    pruned, why = pruning.prune(text, findings)
    assert why == "pruned"
    assert pruned.text.count(newline) == text.count(newline)
    assert "return 1" not in pruned.text and "futurist.Thread" in \
        pruned.text


def test_form_feed_falls_back_to_the_whole_file():
    text = EXTRA.replace("# comment", "# comment\f")
    findings = check_source(text, "m.py", EVERY_RULE)
    assert pruning.prune(text, findings) == (None, "line separators")
    before = fixes.PRUNE_STATS["whole: line separators"]
    assert fixes.propose_fixes(text, "m.py", findings, EVERY_RULE)[0]
    assert fixes.PRUNE_STATS["whole: line separators"] == before + 1


@pytest.mark.network
def test_nova_proposals_are_the_same_blanked():
    from nova_secaudit.releases import package_dir

    root = package_dir("nova", "34.0.0")
    results = {}
    for path in sorted(root.rglob("*.py")):
        if "tests" in path.relative_to(root).parts:
            continue
        relative = str(path.relative_to(root.parent))
        result = compare(path.read_text(encoding="utf-8"), relative,
                         EVERY_RULE)
        if result != "no fixable finding":
            results[relative] = result
    assert not [r for r in results.values()
                if r not in ("same", "nothing to blank")], results
    assert sum(r == "same" for r in results.values()) >= 30
