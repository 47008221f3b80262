"""Rule docs: one source for ``explain``, ``rules`` and docs/rules.md, the
same headings for every rule, and a stale docs/rules.md fails."""

from __future__ import annotations

import re

import pytest

from nova_secaudit.cli import main
from nova_secaudit.docs import (
    CWE_TITLES, HEADINGS, RULES_MD, render_markdown, render_text)
from nova_secaudit.rules import ALL_RULES

RULE_IDS = [f"{rule.code}-{rule.symbol}" for rule in ALL_RULES]


def test_docs_rules_md_is_up_to_date():
    assert RULES_MD.exists(), "run: python -m nova_secaudit.docs --write"
    assert RULES_MD.read_text(encoding="utf-8") == render_markdown(), (
        "docs/rules.md is stale; run: python -m nova_secaudit.docs --write")


def _sections(markdown: str) -> dict[str, list[str]]:
    """Rule heading -> its ### headings, in order."""
    sections: dict[str, list[str]] = {}
    current = None
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif in_code:
            continue
        elif line.startswith("## "):
            current = line[3:]
            sections[current] = []
        elif line.startswith("### ") and current:
            sections[current].append(line[4:])
    return sections


def test_every_rule_has_the_same_headings():
    sections = _sections(render_markdown())
    assert list(sections) == [f"{r.code} {r.symbol}" for r in ALL_RULES]
    for name, headings in sections.items():
        assert tuple(headings) == HEADINGS, name


def test_the_heading_check_catches_a_missing_heading():
    broken = render_markdown().replace("### Known limits\n", "", 1)
    sections = _sections(broken)
    assert any(tuple(h) != HEADINGS for h in sections.values())


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_sections_have_content(rule):
    text = render_text(rule)
    for heading in HEADINGS:
        assert f"\n{heading}:\n" in text
        body = text.split(f"\n{heading}:\n", 1)[1].split("\n\n", 1)[0]
        assert body.strip(), f"{rule.code}: empty {heading}"
    for number in rule.cwe:
        assert number in CWE_TITLES, f"CWE-{number} needs a title"
    for example in rule.bad:
        assert example.source.strip().splitlines()[0] in text


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_explain_prints_the_rendered_docs(rule, capsys):
    assert main(["explain", rule.code.lower()]) == 0
    assert capsys.readouterr().out == render_text(rule)


def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^(NSA\d{3})\s", out, re.M)
    assert listed == [rule.code for rule in ALL_RULES]


def test_table_links_resolve_to_rule_headings():
    text = render_markdown()
    anchors = set(re.findall(r"\]\(#([a-z0-9-]+)\)", text))
    headings = {f"{r.code}-{r.symbol}".lower() for r in ALL_RULES}
    assert anchors == headings
