"""Every fixture against its inline ``# expect:`` markers, both ways."""

from __future__ import annotations

import pytest

from support import FIXTURES, assert_markers, parse_markers

FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_matches_its_markers(path):
    assert_markers(path.read_text(encoding="utf-8"), path=str(path))


def test_seed_fixture_marks_every_seed_defect_family():
    codes = {code for _, _, code in parse_markers(
        (FIXTURES / "nova_context_seed.py").read_text())}
    assert {"NSA101", "NSA401"} <= codes
    assert {c[:4] for c in codes} >= {"NSA1", "NSA2", "NSA3", "NSA4", "NSA5"}


def test_fixed_twin_has_no_markers():
    assert parse_markers((FIXTURES / "nova_context_fixed.py").read_text()) \
        == set()


def test_marker_diff_reports_both_directions():
    from support import marker_diff
    source = ("import futurist\n"
              "futurist.ThreadPoolExecutor()\n"
              "futurist.ThreadPoolExecutor(4)  # expect: NSA101\n")
    assert marker_diff(source) == [
        "missing    3:* NSA101",
        "unexpected 2:1 NSA101 futurist.ThreadPoolExecutor() has no "
        "max_workers bound (CWE-770); pass max_workers=<N>",
    ]


def test_markers_parse_offsets_and_columns():
    source = "# expect+2: NSA101:5, NSA401\nx = 1\ny = 2  # expect: NSA403\n"
    assert parse_markers(source) == {(3, 5, "NSA101"), (3, None, "NSA401"),
                                     (3, None, "NSA403")}
