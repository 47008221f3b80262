"""``nova-secaudit fix``: --diff, --check, --select/--ignore, --jobs, the
summary, and the same transforms under ``python -m libcst.tool codemod``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nova_secaudit.cli import main

REPO = Path(__file__).resolve().parent.parent

UNBOUNDED = textwrap.dedent("""\
    import futurist


    def make():
        return futurist.ThreadPoolExecutor()
    """)
CELLS = textwrap.dedent("""\
    CELLS = {}


    def register_cell(cell):
        CELLS[cell] = CELLS.get(cell, 0) + 1
    """)
LEAKY = textwrap.dedent("""\
    from nova import exception


    def respond(fn):
        try:
            return fn()
        except Exception as exc:
            raise exception.NovaException('failed: %s' % exc)
    """)
CLEAN = "VALUE = 1\n"
SECRET_LOGGED = textwrap.dedent("""\
    from oslo_log import log as logging

    LOG = logging.getLogger(__name__)


    def connect(transport_url):
        LOG.info('connecting to %s', transport_url)
    """)


@pytest.fixture()
def tree(tmp_path):
    (tmp_path / "pkg").mkdir()
    files = {"pkg/executors.py": UNBOUNDED, "pkg/cells.py": CELLS,
             "pkg/leaky.py": LEAKY, "pkg/clean.py": CLEAN}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def read(tree, name):
    return (tree / name).read_text()


def test_fix_rewrites_in_place_and_summarises(tree, capsys):
    assert main(["fix", str(tree / "pkg")]) == 0
    out = capsys.readouterr().out
    assert "max_workers=8" in read(tree, "pkg/executors.py")
    assert "with _CELLS_LOCK:" in read(tree, "pkg/cells.py")
    assert read(tree, "pkg/clean.py") == CLEAN
    assert "files scanned: 4" in out
    assert "files changed: 2" in out
    assert "files parsed by libcst: 2" in out
    assert "  NSA101: 1\n" in out and "  NSA201: 1\n" in out
    assert "not auto-fixable (fix by hand): NSA303 x1" in out
    assert read(tree, "pkg/leaky.py") == LEAKY


def test_diff_prints_unified_diff_and_writes_nothing(tree, capsys):
    assert main(["fix", "--diff", str(tree / "pkg")]) == 0
    captured = capsys.readouterr()
    assert "-    return futurist.ThreadPoolExecutor()\n" in captured.out
    assert "+    return futurist.ThreadPoolExecutor(max_workers=8)\n" \
        in captured.out
    assert captured.out.startswith("--- ")
    assert "files would change: 2" in captured.err
    assert read(tree, "pkg/executors.py") == UNBOUNDED


def test_check_exits_1_when_something_would_change(tree, capsys):
    assert main(["fix", "--check", str(tree / "pkg")]) == 1
    assert read(tree, "pkg/executors.py") == UNBOUNDED
    assert main(["fix", "--check", str(tree / "pkg/clean.py")]) == 0


def test_check_after_fix_exits_0(tree):
    assert main(["fix", str(tree / "pkg")]) == 0
    assert main(["fix", "--check", str(tree / "pkg")]) == 0


def test_select_and_ignore(tree, capsys):
    assert main(["fix", "--select", "NSA1", str(tree / "pkg")]) == 0
    assert "max_workers=8" in read(tree, "pkg/executors.py")
    assert read(tree, "pkg/cells.py") == CELLS
    capsys.readouterr()
    assert main(["fix", "--ignore", "NSA2", str(tree / "pkg/cells.py")]) == 0
    assert read(tree, "pkg/cells.py") == CELLS
    assert main(["fix", "--select", "NSA201", str(tree / "pkg/cells.py")]) \
        == 0
    assert "with _CELLS_LOCK:" in read(tree, "pkg/cells.py")


def test_opt_in_backlog_fix_only_when_selected_and_unsafe_allowed(
        tree, capsys):
    main(["fix", str(tree / "pkg/executors.py")])
    assert "check_and_reject" not in read(tree, "pkg/executors.py")
    capsys.readouterr()
    main(["fix", "--select", "NSA102", str(tree / "pkg/executors.py")])
    assert "check_and_reject" not in read(tree, "pkg/executors.py")
    assert "unsafe fixes held back: 1 (NSA102 x1; apply with " \
        "--unsafe-fixes after review)" in capsys.readouterr().out
    main(["fix", "--select", "NSA102", "--unsafe-fixes",
          str(tree / "pkg/executors.py")])
    text = read(tree, "pkg/executors.py")
    assert "check_and_reject=futurist.rejection.reject_when_reached(64)" \
        in text and "import futurist.rejection\n" in text


def test_max_workers_option(tree):
    main(["fix", "--max-workers", "3", str(tree / "pkg/executors.py")])
    assert "ThreadPoolExecutor(max_workers=3)" in \
        read(tree, "pkg/executors.py")


def test_jobs_give_the_same_result(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        for n in range(20):  # more than one chunk
            (folder / f"m{n}.py").write_text(
                UNBOUNDED if n % 2 else CELLS)
    assert main(["fix", "--jobs", "1", str(one)]) == 0
    out_one = capsys.readouterr().out
    assert main(["fix", "--jobs", "2", str(two)]) == 0
    out_two = capsys.readouterr().out
    for n in range(20):
        assert (one / f"m{n}.py").read_text() == \
            (two / f"m{n}.py").read_text()
    assert out_one == out_two and "files changed: 20" in out_one


def test_unreadable_and_unparsable_files_are_reported(tree, capsys):
    (tree / "pkg/broken.py").write_text("def broken(:\n")
    code = main(["fix", str(tree / "pkg"), str(tree / "missing.py")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "files skipped: 1" in out
    assert "broken.py: syntax error" in out
    assert f"{tree / 'missing.py'}: error: no such file or directory\n" \
        == err
    assert "max_workers=8" in read(tree, "pkg/executors.py")


def _libcst_tool(command, *paths, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "libcst.tool", "codemod", "--no-format",
         "--hide-progress", "-j1", "-x", command, *map(str, paths)],
        capture_output=True, text=True, cwd=cwd, env=env)


@pytest.mark.parametrize("command, name, expected", [
    ("nova_secaudit.codemods.executors.AddExecutorBound", "executors.py",
     "max_workers=8"),
    ("nova_secaudit.codemods.state.GuardWithLock", "cells.py",
     "with _CELLS_LOCK:"),
], ids=["NSA101-executors", "NSA201-state"])
def test_same_transform_under_libcst_runner(tree, tmp_path, command, name,
                                            expected):
    ours = tmp_path / "ours.py"
    ours.write_text(read(tree, f"pkg/{name}"))
    main(["fix", str(ours)])
    done = _libcst_tool(command, tree / "pkg" / name, cwd=tree)
    assert done.returncode == 0, done.stderr
    assert expected in read(tree, f"pkg/{name}")
    assert read(tree, f"pkg/{name}") == ours.read_text()
    # Files without findings are skipped by the command itself.
    assert read(tree, "pkg/clean.py") == CLEAN


def test_libcst_runner_with_yaml_module_line(tree):
    """docs/codemods.md: ``modules: [nova_secaudit.codemods]`` in
    .libcst.codemod.yaml lets users name commands by module.Class."""
    (tree / ".libcst.codemod.yaml").write_text(
        "generated_code_marker: '@generated'\nformatter: []\n"
        "blacklist_patterns: []\nmodules:\n- 'nova_secaudit.codemods'\n"
        "repo_root: '.'\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "libcst.tool", "codemod", "--hide-progress",
         "--no-format", "-j1", "executors.AddExecutorBound",
         "--max-workers", "5",
         "pkg/executors.py"], capture_output=True, text=True, cwd=tree,
        env=env)
    assert done.returncode == 0, done.stderr
    assert "ThreadPoolExecutor(max_workers=5)" in \
        read(tree, "pkg/executors.py")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_applies_with_plain_git_apply(tree, monkeypatch, capsys):
    """``fix --diff`` from the top of a work tree is a patch ``git apply``
    takes as it is (a/ and b/ prefixes) and gives what ``fix`` writes."""
    fixed = tree.parent / "fixed"
    shutil.copytree(tree, fixed)
    assert main(["fix", str(fixed / "pkg")]) == 0
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    monkeypatch.chdir(tree)
    capsys.readouterr()
    assert main(["fix", "--diff", "pkg"]) == 0
    diff = capsys.readouterr().out
    assert "--- a/pkg/executors.py\n+++ b/pkg/executors.py\n" in diff
    (tree.parent / "fix.diff").write_text(diff)
    for extra in (["--check"], []):
        done = subprocess.run(["git", "apply", *extra,
                               str(tree.parent / "fix.diff")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    for name in ("executors.py", "cells.py", "leaky.py", "clean.py"):
        assert read(tree, f"pkg/{name}") == read(fixed, f"pkg/{name}")


@pytest.mark.parametrize("key, value", [
    ("masker", "getattr(__import__('os'), 'system')"),
    ("url-masker", "nova.cmd.import.mask"),
    ("url-masker", "mask_url"),
    ("masker", "nova.utils.mask password"),
], ids=["call-expression", "keyword-part", "not-qualified", "space"])
def test_masker_that_is_not_a_dotted_name_is_refused(tree, capsys, key,
                                                     value):
    (tree / "pyproject.toml").write_text(
        f"[tool.nova-secaudit]\n{key} = {json.dumps(value)}\n")
    (tree / "pkg/secret.py").write_text(SECRET_LOGGED)
    assert main(["fix", str(tree / "pkg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"pyproject.toml: {key}: {value!r} is not a" in err[0]
    assert read(tree, "pkg/secret.py") == SECRET_LOGGED
    assert read(tree, "pkg/executors.py") == UNBOUNDED


def test_masker_option_that_is_not_a_dotted_name_is_refused(tree, capsys):
    (tree / "pkg/secret.py").write_text(SECRET_LOGGED)
    with pytest.raises(SystemExit) as exited:
        main(["fix", "--url-masker", "os.system;x", str(tree / "pkg")])
    assert exited.value.code == 2
    assert "--url-masker" in capsys.readouterr().err
    assert read(tree, "pkg/secret.py") == SECRET_LOGGED


def test_dotted_masker_is_imported_and_called(tree):
    (tree / "pyproject.toml").write_text(
        '[tool.nova-secaudit]\nurl-masker = "nova.cmd.manage.'
        'mask_passwd_in_url"\n')
    (tree / "pkg/secret.py").write_text(SECRET_LOGGED)
    assert main(["fix", "--select", "NSA502", str(tree / "pkg")]) == 0
    text = read(tree, "pkg/secret.py")
    assert "from nova.cmd import manage\n" in text
    assert "manage.mask_passwd_in_url(transport_url)" in text


def test_reuse_lock_that_is_not_a_name_is_refused(tree, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["fix", "--reuse-lock", "L:\n    import os", str(tree / "pkg")])
    assert exited.value.code == 2
    assert "--reuse-lock" in capsys.readouterr().err
    assert read(tree, "pkg/cells.py") == CELLS
