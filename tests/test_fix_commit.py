"""``nova-secaudit fix --commit-per-rule`` on throwaway git repositories:
one commit per rule, OpenStack-style messages, refusals with exit 2, and
the committed code run with threads."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import threading

import pytest

pytest.importorskip("libcst")

CACHES = '''\
import concurrent.futures

_EXECUTOR = None
_CELLS = {}


def get_executor():
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = concurrent.futures.ThreadPoolExecutor()
    return _EXECUTOR


def lookup(key):
    if key not in _CELLS:
        _CELLS[key] = "a value long enough that one more indent passes 79 cols"
    return _CELLS[key]
'''
# A finding no codemod fixes (NSA303), reported at the end of the run.
LEAKY = '''\
import webob


def show(body):
    try:
        return body["id"]
    except Exception as exc:
        raise webob.exc.HTTPBadRequest(explanation=str(exc))
'''


def git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def fix_commit(cwd, *args):
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "fix",
         "--commit-per-rule", "--jobs", "1", *args],
        capture_output=True, text=True, cwd=cwd,
        env={**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00",
             "GIT_COMMITTER_DATE": "2026-01-01T00:00:00"})
    return done.returncode, done.stdout, done.stderr


@pytest.fixture()
def repo(tmp_path):
    root = tmp_path / "nova"
    (root / "nova").mkdir(parents=True)
    (root / "nova" / "caches.py").write_text(CACHES)
    (root / "nova" / "api.py").write_text(LEAKY)
    git(root, "init", "-q")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Initial import")
    return root


def subjects(repo) -> list[str]:
    return git(repo, "log", "--format=%s").splitlines()


def test_one_commit_per_rule_with_openstack_messages(repo):
    code, out, err = fix_commit(repo, ".")
    assert code == 0, err
    assert subjects(repo) == [
        "Fix unsynchronized-check-then-act (NSA202)",
        "Fix unbounded-executor (NSA101)",
        "Initial import"]
    assert git(repo, "status", "--porcelain") == ""
    # Each commit holds its own rule's change only.
    first = git(repo, "show", "HEAD~1", "--format=")
    assert "max_workers=8" in first and "_LOCK" not in first
    second = git(repo, "show", "HEAD", "--format=")
    assert "with _EXECUTOR_LOCK:" in second and "max_workers" not in \
        second.replace("ThreadPoolExecutor(max_workers=8)\n", "")
    for sha in ("HEAD", "HEAD~1"):
        message = git(repo, "log", "-1", "--format=%B", sha)
        summary, blank, *body = message.splitlines()
        assert len(summary) < 50 and blank == ""
        assert all(len(line) <= 72 for line in body), message
        text = " ".join(message.split())
        assert "Why it matters:" in text and "The fix:" in text
        assert "``" not in message
    nsa202 = " ".join(git(repo, "log", "-1", "--format=%B").split())
    assert "CWE-362 (Concurrent Execution using Shared Resource" in nsa202
    assert "fixes 1 place in 1 file." in nsa202
    # The declined fix and its reason are in the message.
    assert "Left unfixed (1), for a human to judge: - inside the with " \
        "block a line would pass 79 columns; wrap it by hand: " \
        "nova/caches.py:16" in nsa202
    assert "NSA303 x1" in err and "not auto-fixable" in err


def test_committed_fix_holds_under_threads(repo):
    assert fix_commit(repo, ".")[0] == 0
    spec = importlib.util.spec_from_file_location(
        "fixed_caches", repo / "nova" / "caches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    barrier = threading.Barrier(8)
    seen = []

    def racer():
        barrier.wait()
        seen.append(module.get_executor())

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert len(seen) == 8 and len({id(e) for e in seen}) == 1
    assert seen[0]._max_workers == 8
    seen[0].shutdown()


def test_fix_options_apply_to_the_series(repo):
    code, _, err = fix_commit(repo, "--max-workers", "4", "nova/caches.py")
    assert code == 0, err
    assert "ThreadPoolExecutor(max_workers=4)" in git(
        repo, "show", "HEAD~1", "--format=")


def test_dirty_tree_is_refused(repo):
    (repo / "nova" / "api.py").write_text(LEAKY + "# local edit\n")
    code, out, err = fix_commit(repo, ".")
    assert code == 2 and out == ""
    assert err == ("nova-secaudit: error: the work tree has uncommitted "
                   "changes (nova/api.py ...); commit or stash them "
                   "first\n")
    assert subjects(repo) == ["Initial import"]
    assert (repo / "nova" / "caches.py").read_text() == CACHES


def test_staged_change_is_refused(repo):
    (repo / "nova" / "new.py").write_text("X = 1\n")
    git(repo, "add", "nova/new.py")
    code, _, err = fix_commit(repo, ".")
    assert code == 2 and "uncommitted changes (nova/new.py" in err
    assert subjects(repo) == ["Initial import"]


def test_outside_git_is_refused(tmp_path):
    (tmp_path / "caches.py").write_text(CACHES)
    code, out, err = fix_commit(tmp_path, ".",)
    assert code == 2 and out == ""
    assert err == ("nova-secaudit: error: not inside a git checkout; "
                   "--commit-per-rule commits to the current branch\n")
    assert (tmp_path / "caches.py").read_text() == CACHES


def test_untracked_files_are_left_alone(repo):
    (repo / "nova" / "scratch.py").write_text(CACHES)
    code, _, err = fix_commit(repo, ".")
    assert code == 0, err
    assert (repo / "nova" / "scratch.py").read_text() == CACHES
    assert git(repo, "status", "--porcelain") == "?? nova/scratch.py\n"
    assert "nova/scratch.py" not in git(repo, "show", "--stat", "HEAD")


def test_run_from_a_subdirectory_commits_only_its_files(repo):
    (repo / "other").mkdir()
    (repo / "other" / "pool.py").write_text(
        "import concurrent.futures\n\n"
        "POOL = concurrent.futures.ThreadPoolExecutor()\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Add other")
    code, _, err = fix_commit(repo / "other", ".")
    assert code == 0, err
    assert subjects(repo)[0] == "Fix unbounded-executor (NSA101)"
    assert git(repo, "show", "--format=", "--name-only", "HEAD") == \
        "other/pool.py\n"
    assert (repo / "nova" / "caches.py").read_text() == CACHES


def test_nothing_to_fix_commits_nothing(repo):
    code, _, err = fix_commit(repo, "nova/api.py")
    assert code == 0, err
    assert subjects(repo) == ["Initial import"]


@pytest.mark.parametrize("flag", ["--diff", "--check"])
def test_commit_does_not_go_with_dry_runs(repo, flag):
    code, _, err = fix_commit(repo, flag, ".")
    assert code == 2 and "does not go with --diff or --check" in err
    assert subjects(repo) == ["Initial import"]


def test_every_summary_line_fits():
    from nova_secaudit.codemods import FIXABLE_CODES
    from nova_secaudit.commits import summary_line
    from nova_secaudit.rules import RULES_BY_CODE

    for code in FIXABLE_CODES:
        assert len(summary_line(RULES_BY_CODE[code])) < 50


def test_paths_name_the_checkout_wherever_the_run_starts(repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, _, err = fix_commit(elsewhere, str(repo / "nova" / "caches.py"))
    assert code == 0, err
    assert subjects(repo)[:2] == [
        "Fix unsynchronized-check-then-act (NSA202)",
        "Fix unbounded-executor (NSA101)"]
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.network
@pytest.mark.slow
def test_series_on_nova_equals_one_fix_run(tmp_path):
    """Nova 34.0.0's service code as a throwaway repository: the series
    holds exactly what one plain ``fix`` run writes, one rule per commit,
    every message in form."""
    import shutil

    from nova_secaudit.releases import package_dir

    source = package_dir("nova", "34.0.0")
    copies = []
    for name in ("series", "plain"):
        root = tmp_path / name
        shutil.copytree(source, root / "nova",
                        ignore=shutil.ignore_patterns("tests"))
        copies.append(root)
    series, plain = copies
    git(series, "init", "-q")
    git(series, "config", "user.email", "dev@example.org")
    git(series, "config", "user.name", "Dev")
    git(series, "add", "-A")
    git(series, "commit", "-qm", "nova 34.0.0 service code")
    code, _, err = fix_commit(series, "--jobs", "2", "nova")
    assert code == 0, err
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "fix", "--jobs", "2",
         "nova"], cwd=plain, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    changed = git(series, "diff", "--name-only", "HEAD~1", "HEAD")
    assert changed  # the series is not empty
    for path in git(series, "ls-files").splitlines():
        assert (series / path).read_bytes() == \
            (plain / path).read_bytes(), path
    for subject in subjects(series)[:-1]:
        assert len(subject) < 50 and subject.startswith("Fix ")
        message = git(series, "log", "-1", "--format=%B",
                      f"--grep={subject}", "--fixed-strings")
        assert all(len(line) <= 72 for line in message.splitlines()[2:])


def test_rejecting_hook_stops_the_series(repo):
    hook = repo / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho 'Change-Id missing' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = fix_commit(repo, ".")
    assert code == 2
    assert err.splitlines()[-1] == \
        "nova-secaudit: error: git commit: Change-Id missing"
    assert subjects(repo) == ["Initial import"]
    assert git(repo, "diff", "--cached", "--name-only") == "nova/caches.py\n"


def test_url_helper_goes_into_the_commit_that_imports_it(repo):
    """The shared URL-credential helper is part of the NSA502 commit: a
    series whose fixed modules import a helper no commit adds would not
    even import (the commit must stand on its own in Gerrit)."""
    package = repo / "nova"
    (package / "__init__.py").write_text("")
    (package / "safe_utils.py").write_text('"""Leaf helpers."""\n')
    (package / "rpc.py").write_text(textwrap.dedent("""\
        import logging

        LOG = logging.getLogger(__name__)


        def connect(transport_url):
            LOG.info('connecting to %s', transport_url)
        """))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Add rpc")
    code, _, err = fix_commit(repo, "--select", "NSA502")
    assert code == 0, err
    assert git(repo, "status", "--porcelain") == ""
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["nova/rpc.py", "nova/safe_utils.py"]
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import logging, nova.rpc; logging.basicConfig(level=20); "
         "nova.rpc.connect('rabbit://nova:s3cr3t@mq/')"],
        cwd=repo, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert "s3cr3t" not in loaded.stderr and "rabbit://" in loaded.stderr
