"""One URL-credential helper per package (issue 10, item 6): ``fix`` adds
``mask_url_credentials`` once, to the package's first leaf module among
safe_utils / utils / masking_utils (created when none is a leaf), and the
fixed modules import it from there; whether one file or the whole tree is
fixed, with any number of jobs."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import textwrap

import pytest

from nova_secaudit.cli import main

LOGS_URL = textwrap.dedent("""\
    from oslo_log import log as logging

    LOG = logging.getLogger(__name__)


    def connect(transport_url):
        LOG.info('connecting to %s', transport_url)
    """)
UTILS_IMPORTING_PACKAGE = "from pkg import sub\n\nVALUE = 1\n"
LEAF_SAFE_UTILS = '"""Helpers that import nothing of pkg."""\n\nimport os\n'


@pytest.fixture()
def package(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text(LOGS_URL)
    (root / "sub" / "b.py").write_text(LOGS_URL)
    (root / "utils.py").write_text(UTILS_IMPORTING_PACKAGE)
    return root


def defines_helper(path) -> bool:
    return "def mask_url_credentials(value):" in path.read_text()


def test_whole_tree_gets_one_helper_in_a_new_leaf_module(package, capsys):
    assert main(["fix", "--select", "NSA502", str(package)]) == 0
    out = capsys.readouterr().out
    home = package / "masking_utils.py"
    assert defines_helper(home)
    assert f"helper added once for its package: {home}" in out
    for module in (package / "a.py", package / "sub" / "b.py"):
        text = module.read_text()
        assert "from pkg import masking_utils\n" in text
        assert "masking_utils.mask_url_credentials(transport_url)" in text
        assert "def " + "_mask_url_credentials" not in text
    # utils.py imports the package: a helper there could close a cycle.
    assert (package / "utils.py").read_text() == UTILS_IMPORTING_PACKAGE
    assert main(["fix", "--check", str(package)]) == 0  # idempotent


def test_fixed_modules_import_and_mask(package, monkeypatch, caplog):
    oslo_log = type(sys)("oslo_log")
    oslo_log.log = __import__("logging")
    monkeypatch.setitem(sys.modules, "oslo_log", oslo_log)
    main(["fix", "--select", "NSA502", str(package)])
    monkeypatch.syspath_prepend(str(package.parent))
    for name in list(sys.modules):
        if name == "pkg" or name.startswith("pkg."):
            monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("pkg.sub.b")
    with caplog.at_level("INFO"):
        module.connect("rabbit://nova:s3cr3t@mq1/")
    assert [r.getMessage() for r in caplog.records] == [
        "connecting to rabbit://nova:***@mq1/"]


def test_existing_leaf_safe_utils_is_the_home(package):
    (package / "safe_utils.py").write_text(LEAF_SAFE_UTILS)
    main(["fix", "--select", "NSA502", str(package)])
    assert defines_helper(package / "safe_utils.py")
    assert not (package / "masking_utils.py").exists()
    assert "safe_utils.mask_url_credentials(transport_url)" in \
        (package / "a.py").read_text()


def test_fixing_one_file_then_another_adds_the_helper_once(package):
    main(["fix", "--select", "NSA502", str(package / "a.py")])
    home = package / "masking_utils.py"
    assert defines_helper(home)
    first = home.read_text()
    assert (package / "sub" / "b.py").read_text() == LOGS_URL
    main(["fix", "--select", "NSA502", str(package / "sub" / "b.py")])
    assert home.read_text() == first
    assert "masking_utils.mask_url_credentials(transport_url)" in \
        (package / "sub" / "b.py").read_text()


def test_jobs_give_the_same_tree(package, tmp_path):
    other = tmp_path / "other" / "pkg"
    shutil.copytree(package, other)
    main(["fix", "--select", "NSA502", "--jobs", "1", str(package)])
    main(["fix", "--select", "NSA502", "--jobs", "2", str(other)])
    for path in sorted(package.rglob("*.py")):
        assert path.read_text() == \
            (other / path.relative_to(package)).read_text(), path


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_creates_the_helper_module_with_git_apply(package, capsys,
                                                       monkeypatch):
    subprocess.run(["git", "init", "-q", str(package.parent)], check=True)
    monkeypatch.chdir(package.parent)
    assert main(["fix", "--select", "NSA502", "--diff", "pkg"]) == 0
    diff = capsys.readouterr().out
    assert "--- /dev/null\n+++ b/pkg/masking_utils.py\n" in diff
    assert not (package / "masking_utils.py").exists()
    patch = package.parent / "fix.diff"
    patch.write_text(diff)
    done = subprocess.run(["git", "apply", str(patch)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert defines_helper(package / "masking_utils.py")
    assert "from pkg import masking_utils\n" in \
        (package / "a.py").read_text()


def test_read_only_home_means_a_helper_per_module(package):
    (package / "safe_utils.py").write_text(LEAF_SAFE_UTILS)
    (package / "safe_utils.py").chmod(0o444)
    assert main(["fix", "--select", "NSA502", str(package)]) == 0
    assert (package / "safe_utils.py").read_text() == LEAF_SAFE_UTILS
    assert not (package / "masking_utils.py").exists()
    text = (package / "a.py").read_text()
    assert "def _mask_url_credentials(value):" in text
    assert "_mask_url_credentials(transport_url)" in text


def test_created_helper_module_has_the_license_header(package):
    main(["fix", "--select", "NSA502", str(package)])
    text = (package / "masking_utils.py").read_text()
    assert text.startswith("#    Licensed under the Apache License, "
                           "Version 2.0")
    compile(text, "masking_utils.py", "exec")
    assert max(len(line) for line in text.splitlines()) <= 79
