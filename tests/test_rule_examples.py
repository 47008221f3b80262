"""Every rule's own bad/good examples are tests (STYLE.md, convention 4)."""

from __future__ import annotations

import pytest

from nova_secaudit.engine import iter_example_findings
from nova_secaudit.rules import ALL_RULES


def _cases(kind: str) -> list:
    return [pytest.param(rule, example,
                         id=f"{rule.code}-{kind}-{example.name}")
            for rule in ALL_RULES for example in getattr(rule, kind)]


def test_every_example_is_named():
    names = [(rule.code, e.name) for rule in ALL_RULES
             for e in rule.bad + rule.good]
    assert all(name for _, name in names)
    assert len(names) == len(set(names)), "example names repeat in a rule"


@pytest.mark.parametrize("rule,example", _cases("bad"))
def test_bad_example_gives_exactly_one_finding(rule, example):
    found = list(iter_example_findings(rule, example))
    assert len(found) == 1, [(f.line, f.col, f.message) for f in found]
    assert found[0].symbol == rule.symbol
    assert found[0].message and "CWE-" in found[0].message


@pytest.mark.parametrize("rule,example", _cases("good"))
def test_good_example_is_a_hard_negative(rule, example):
    found = list(iter_example_findings(rule, example))
    assert found == [], [(f.line, f.col, f.message) for f in found]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_documents_why_fix_and_cwe(rule):
    sections = rule.doc_sections()
    assert sections["summary"].startswith("Flags ")
    assert "CWE-" in sections["Why this is bad"]
    assert sections["Fix"]
    assert rule.pylint_msgid() == "W6" + rule.code[3:]
