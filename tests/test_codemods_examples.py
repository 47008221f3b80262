"""Rule examples with ``fixed=`` are codemod pairs too (STYLE.md rule 4):
the codemod turns the bad example into ``fixed``, the engine finds nothing
of that code there, and a second run changes nothing."""

from __future__ import annotations

import pytest

pytest.importorskip("libcst")

from nova_secaudit.codemods import CODEMOD_FOR  # noqa: E402
from nova_secaudit.rules import ALL_RULES  # noqa: E402
from nova_secaudit.settings import Settings  # noqa: E402
from test_codemods import findings, run_commands  # noqa: E402

PAIRS = [(rule, example) for rule in ALL_RULES for example in rule.bad
         if example.fixed is not None]


def _id(pair):
    rule, example = pair
    return f"{rule.code}-fixed-{example.name or 'example'}"


def test_every_rule_with_a_codemod_has_a_fixed_example():
    with_pair = {rule.code for rule, _ in PAIRS}
    assert set(CODEMOD_FOR) - with_pair <= {"NSA202", "NSA301", "NSA401",
                                            "NSA502", "NSA201", "NSA101",
                                            "NSA102", "NSA302"}
    assert with_pair <= set(CODEMOD_FOR), "fixed= on a rule without codemod"


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_example_fixed_by_codemod(pair):
    rule, example = pair
    settings = Settings(select=(rule.code,))
    after, fixed = run_commands(example.source, {rule.code}, settings,
                                path="example.py")
    assert after == example.fixed
    assert fixed == {rule.code: 1}
    assert not findings(after, {rule.code}, settings, "example.py")
    again, fixed_again = run_commands(after, {rule.code}, settings,
                                      path="example.py")
    assert again == after and not fixed_again
