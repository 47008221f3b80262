"""The real test: patch nova 34.0.0 with ``nova-secaudit fix`` and run
Nova's own unit tests for every module the fix touched, before and after.

Downloads the release and Nova's requirements (cached under
``$NOVA_SECAUDIT_CACHE``); deselect offline with ``-m 'not network'``.
The choice of test modules is tested offline on a small fake tree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location(
        "patch_nova", REPO / "scripts" / "patch_nova.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FAKE_TESTS = {
    # every import form of nova.compute.manager
    "compute/test_compute_mgr.py": "from nova.compute import manager\n",
    "conductor/test_conductor.py": "import nova.compute.manager as m\n",
    "test_notifications.py":
        "from nova.compute.manager import ComputeManager\n",
    "virt/test_hooks.py":
        "def test():\n    from nova.compute import manager\n",
    "compute/test_relative.py": "from ....compute import manager\n",
    # lookalikes that do not import it
    "compute/test_api.py": "from nova.compute import api\n",
    "compute/test_utils.py": "from nova.compute import manager_utils\n",
    "test_comment.py": "# from nova.compute import manager\nimport os\n",
    "test_broken.py": "from nova.compute import manager(\n",
    # the package's __init__ and a module of another package
    "test_context.py": "import nova.context\nfrom nova import utils\n",
}


@pytest.fixture()
def fake_nova(tmp_path):
    for rel in ("nova/compute/manager.py", "nova/compute/api.py",
                "nova/compute/__init__.py", "nova/context.py",
                "nova/utils.py", "nova/__init__.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    for rel, text in FAKE_TESTS.items():
        path = tmp_path / "nova/tests/unit" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_tests_of_a_module_are_the_modules_importing_it(fake_nova):
    script = load_script()
    unit = "nova/tests/unit/"
    assert script.test_modules(
        fake_nova, ["nova/compute/manager.py"], per_module=10) == ([
            unit + "compute/test_compute_mgr.py",
            unit + "compute/test_relative.py",
            unit + "conductor/test_conductor.py",
            unit + "test_notifications.py",
            unit + "virt/test_hooks.py"], 0)
    assert script.test_modules(fake_nova, ["nova/utils.py"]) == (
        [unit + "test_context.py"], 0)
    # __init__.py is the package: ``import nova.context`` does not count,
    # the conventional name does (tests/unit/compute/test_api.py).
    assert script.test_modules(
        fake_nova, ["nova/compute/api.py", "nova/tests/unit/test_x.py"]) \
        == ([unit + "compute/test_api.py"], 0)


def test_the_nearest_importers_are_taken_first(fake_nova):
    """Bounded per module: the importers in the module's own test folder
    come first (compute/ for nova/compute/manager.py), then a file naming
    it, then the rest; the count of those left out is returned."""
    script = load_script()
    unit = "nova/tests/unit/"
    assert script.test_modules(
        fake_nova, ["nova/compute/manager.py"], per_module=2) == ([
            unit + "compute/test_compute_mgr.py",
            unit + "compute/test_relative.py"], 3)
    assert script.test_modules(
        fake_nova, ["nova/compute/manager.py"], per_module=3) == ([
            unit + "compute/test_compute_mgr.py",
            unit + "compute/test_relative.py",
            unit + "test_notifications.py"], 2)


def test_created_files_count_as_changed(fake_nova, tmp_path):
    script = load_script()
    patched = tmp_path / "patched"
    import shutil

    shutil.copytree(fake_nova, patched)
    (patched / "nova/masking_utils.py").write_text("import re\n")
    (patched / "nova/context.py").write_text("X = 1\n")
    assert script.changed_files(fake_nova, patched) == [
        "nova/context.py", "nova/masking_utils.py"]


def test_environment_records_the_fixing_tools_versions():
    found = load_script().environment(None)
    assert found["libcst"][0].isdigit()
    assert found["fix_python"] == ".".join(map(str, sys.version_info[:3]))
    assert "test_venv_packages" not in found  # no venv built


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
    for changed, test in (("nova/context.py", "test_context.py"),
                          ("nova/compute/manager.py",
                           "compute/test_compute_mgr.py"),
                          ("nova/conductor/manager.py",
                           "conductor/test_conductor.py")):
        assert changed not in data["changed"] or \
            "nova/tests/unit/" + test in data["test_modules"]
    assert data["tests_after"]["passed"] > 0
    assert any(line.startswith("oslo.utils==") for line in
               data["environment"]["test_venv_packages"])
    # the per-id comparison reads every passing test, not a sample
    for run in (data["tests_before"], data["tests_after"]):
        assert len(run["passing"]) == run["passed"]
    assert data["new_failures"] == []
    assert data["passing_only_before"] == []
    assert done.returncode == 0
