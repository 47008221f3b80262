"""The seed fixture, fixed, equals the committed expected output byte for
byte (tests/data/nova_context_seed.fixed.py, reviewed by eye), and every
guarantee holds on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("libcst")

from nova_secaudit.fixing import FixOptions, fix_file, fixable_codes  # noqa: E402,E501
from nova_secaudit.settings import Settings  # noqa: E402
from support import FIXTURES  # noqa: E402
from test_codemods import (edited_lines_outside_findings, findings,  # noqa: E402,E501
                           new_style_errors)

SEED = FIXTURES / "nova_context_seed.py"
EXPECTED = Path(__file__).resolve().parent / "data" / \
    "nova_context_seed.fixed.py"
SETTINGS = Settings()


@pytest.fixture()
def fixed_seed(tmp_path):
    path = tmp_path / "nova_context_seed.py"
    shutil.copyfile(SEED, path)
    result = fix_file(str(path), SETTINGS,
                      FixOptions(codes=fixable_codes(SETTINGS)))
    return path, result


def test_fixed_seed_equals_committed_expected_output(fixed_seed):
    path, result = fixed_seed
    assert result.changed and result.error is None
    assert path.read_bytes() == EXPECTED.read_bytes()


def test_fixed_seed_reports_no_fixed_code_and_only_unfixable_ones(fixed_seed):
    path, result = fixed_seed
    after = path.read_text()
    compile(after, str(path), "exec", dont_inherit=True)
    left = {f.code for f in findings(after, settings=SETTINGS)}
    skipped = {code for _, code, _ in result.skipped}
    assert not left & (set(result.fixes) - skipped)
    # NSA303, NSA403, NSA501 have no codemod; the seed's NSA401 wait is
    # followed by its "did not respond" loop, which now cancels each
    # future it records as such. The NSA201/NSA202 locks are declined (the
    # cell cache would hold a lock across create_transport, load_cells
    # across a DB query, the other writers are lone atomic stores racing
    # those): each with its reason.
    assert left == set(result.not_fixable) | skipped
    assert set(result.not_fixable) == {"NSA303", "NSA403", "NSA501"}
    assert result.fixes["NSA401"] == 1
    assert skipped == {"NSA201", "NSA202"}
    reasons = " | ".join(reason for _, code, reason in result.skipped
                         if code in ("NSA201", "NSA202"))
    assert "rpc.create_transport() (line" in reasons
    assert "get_all() (line" in reasons and "queries the database" in reasons
    assert "CELLS is also used without a lock" in reasons


def test_fixed_seed_second_run_changes_nothing(fixed_seed):
    path, _ = fixed_seed
    again = fix_file(str(path), SETTINGS,
                     FixOptions(codes=fixable_codes(SETTINGS)))
    assert not again.changed and not again.fixes
    assert path.read_bytes() == EXPECTED.read_bytes()


def test_fixed_seed_edits_only_reported_lines_and_keeps_style():
    before = SEED.read_text()
    after = EXPECTED.read_text()
    assert edited_lines_outside_findings(before, after) == []
    # The seed's trailing "# expect:" markers make some lines long before
    # and after; no new kind or count of error appears.
    assert new_style_errors(before, after) == {}
