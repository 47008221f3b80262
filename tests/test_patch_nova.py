"""The real test: patch nova 34.0.0 with ``nova-secaudit fix`` and run
Nova's own unit tests for every module the fix touched, before and after.

Downloads the release and Nova's requirements (cached under
``$NOVA_SECAUDIT_CACHE``); deselect offline with ``-m 'not network'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("libcst")
pytest.importorskip("pycodestyle")

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.network
@pytest.mark.slow
def test_patched_nova_passes_its_own_unit_tests(tmp_path):
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "patch_nova.py"),
         "--workdir", str(tmp_path / "work"), "--json", str(results)],
        capture_output=True, text=True, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=3600)
    print(done.stdout[-4000:], done.stderr[-4000:])
    data = json.loads(results.read_text())
    assert data["files_changed"] > 0 and sum(data["fixes"].values()) > 0
    assert data["guarantee_problems"] == []
    assert "nova/context.py" not in data["changed"] or \
        "nova/tests/unit/test_context.py" in data["test_modules"]
    assert "nova/utils.py" not in data["changed"] or \
        "nova/tests/unit/test_utils.py" in data["test_modules"]
    assert data["tests_after"]["passed"] > 0
    # the per-id comparison reads every passing test, not a sample
    for run in (data["tests_before"], data["tests_after"]):
        assert len(run["passing"]) == run["passed"]
    assert data["new_failures"] == []
    assert data["passing_only_before"] == []
    assert done.returncode == 0
