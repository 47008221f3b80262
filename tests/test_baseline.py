"""Fingerprints survive line shifts; a baseline hides only what it recorded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nova_secaudit.baseline import (
    Baseline, BaselineError, fingerprints, read_baseline)
from nova_secaudit.engine import check_source

BODY = '''\
import futurist


def make_a():
    return futurist.ThreadPoolExecutor()


def make_b():
    return futurist.ThreadPoolExecutor()
'''


def prints(source, path="svc.py"):
    found = check_source(source, path)
    return found, fingerprints(found, source.splitlines())


def test_fingerprints_ignore_lines_added_above():
    _, before = prints(BODY)
    shifted = BODY.replace("import futurist\n",
                           "import futurist\nimport os\n\n\nX = 1\n")
    found, after = prints(shifted)
    assert [f.line for f in found] == [9, 13]
    assert before == after


def test_fingerprints_ignore_reindentation_and_spacing():
    _, before = prints(BODY)
    _, after = prints(BODY.replace("return futurist.ThreadPoolExecutor()",
                                   "return  futurist.ThreadPoolExecutor( )"))
    assert before == after


def test_identical_lines_get_distinct_fingerprints():
    _, values = prints(BODY)
    assert len(values) == 2 and values[0] != values[1]


def test_fingerprint_depends_on_code_path_and_text():
    _, here = prints(BODY)
    _, elsewhere = prints(BODY, "other.py")
    _, changed = prints(BODY.replace("ThreadPoolExecutor()",
                                     "GreenThreadPoolExecutor()"))
    assert not set(here) & set(elsewhere)
    assert not set(here) & set(changed)


def run_cli(cwd, *args):
    done = subprocess.run([sys.executable, "-m", "nova_secaudit.cli",
                           "check", "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def test_baseline_workflow(tmp_path):
    svc = tmp_path / "svc.py"
    svc.write_text(BODY)
    code, _, err = run_cli(tmp_path, "--write-baseline", "base.json", ".")
    assert code == 0, err
    recorded = json.loads((tmp_path / "base.json").read_text())
    assert [e["code"] for e in recorded["findings"]] == ["NSA101", "NSA101"]

    # Unchanged: nothing new.
    assert run_cli(tmp_path, "--baseline", "base.json", ".")[0] == 0
    # Edits above the findings shift them; they stay accepted.
    svc.write_text('"""Docs."""\nimport os\n\n' + BODY +
                   "\n\ndef helper():\n    return os.getpid()\n")
    code, out, _ = run_cli(tmp_path, "--baseline", "base.json", ".")
    assert (code, out) == (0, "")
    # A new finding is reported, the accepted ones are not.
    svc.write_text(BODY + "\n\ndef make_c():\n"
                   "    return futurist.GreenThreadPoolExecutor()\n")
    code, out, _ = run_cli(tmp_path, "--baseline", "base.json", ".")
    assert code == 1
    assert out.splitlines() == [
        "./svc.py:13:12: NSA101 futurist.GreenThreadPoolExecutor() has no "
        "max_workers bound (CWE-770); pass max_workers=<N>"]


def test_a_third_copy_of_an_accepted_line_is_new(tmp_path):
    svc = tmp_path / "svc.py"
    svc.write_text(BODY)
    run_cli(tmp_path, "--write-baseline", "base.json", "svc.py")
    svc.write_text(BODY + "\n\ndef make_c():\n"
                   "    return futurist.ThreadPoolExecutor()\n")
    code, out, _ = run_cli(tmp_path, "--baseline", "base.json", "svc.py")
    assert code == 1 and len(out.splitlines()) == 1


def test_baseline_counts_each_fingerprint_once():
    accepted = Baseline(read_counter({"a": 1}))
    assert not accepted.is_new("a")
    assert accepted.is_new("a")
    assert accepted.is_new("b")
    assert accepted.matched == 1 and accepted.fixed == 0


def read_counter(mapping):
    import collections

    return collections.Counter(mapping)


@pytest.mark.parametrize("text,message", [
    ("not json", "bad JSON"),
    ('{"version": 99, "findings": []}', "not a nova-secaudit baseline"),
    ('{"version": 1, "findings": [{"code": "NSA101"}]}',
     "without a fingerprint"),
], ids=["not-json", "wrong-version", "entry-without-fingerprint"])
def test_bad_baseline_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "base.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        read_baseline(path)
    code, _, err = run_cli(tmp_path, "--baseline", str(path), ".")
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_baseline_file_exits_two(tmp_path):
    code, _, err = run_cli(tmp_path, "--baseline", "nope.json", ".")
    assert code == 2 and "cannot read baseline" in err


def test_baseline_keeps_fixes_with_their_findings(tmp_path):
    pytest.importorskip("libcst")
    svc = tmp_path / "svc.py"
    svc.write_text("import futurist\n\n\ndef make_a():\n"
                   "    return futurist.ThreadPoolExecutor()\n")
    run_cli(tmp_path, "--write-baseline", "base.json", "svc.py")
    svc.write_text("import futurist\n\n\ndef make_a():\n"
                   "    return futurist.ThreadPoolExecutor()\n\n\n"
                   "def make_b():\n"
                   "    return futurist.ThreadPoolExecutor(None)\n")
    code, out, err = run_cli(tmp_path, "--baseline", "base.json",
                             "--format", "json", "svc.py")
    assert code == 1, err
    (new,) = json.loads(out)["findings"]
    assert new["line"] == 9
    diff = new["fix"]["diff"]
    assert "-    return futurist.ThreadPoolExecutor(None)\n" in diff
    assert "-    return futurist.ThreadPoolExecutor()\n" not in diff


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "project"
    (root / "nova" / "compute").mkdir(parents=True)
    (root / "nova" / "compute" / "svc.py").write_text(BODY)
    code, _, err = run_cli(root, "--write-baseline", "base.json", "nova")
    assert code == 0, err
    return root


def test_baseline_paths_are_relative_to_the_baseline_file(project):
    document = json.loads((project / "base.json").read_text())
    assert document["version"] == 2
    assert {e["path"] for e in document["findings"]} == {
        "nova/compute/svc.py"}


@pytest.mark.parametrize("cwd,baseline,target", [
    (".", "base.json", "nova"),
    ("nova", "../base.json", "."),
    ("nova/compute", "../../base.json", "svc.py"),
    ("..", "project/base.json", "project"),
], ids=["root", "subdirectory", "file-from-its-folder", "parent"])
def test_baseline_matches_from_any_working_directory(project, cwd, baseline,
                                                     target):
    where = (project / cwd).resolve()
    assert run_cli(where, "--baseline", baseline, target)[:2] == (0, "")
    # It still bites there: a new finding is reported.
    svc = project / "nova" / "compute" / "svc.py"
    svc.write_text(BODY + "\n\ndef make_c():\n"
                   "    return futurist.GreenThreadPoolExecutor()\n")
    code, out, _ = run_cli(where, "--baseline", baseline, target)
    assert code == 1 and len(out.splitlines()) == 1
    assert "svc.py:13:12: NSA101 " in out


def test_version_1_baseline_is_still_read(tmp_path):
    (tmp_path / "svc.py").write_text(BODY)
    found, values = prints(BODY, "svc.py")  # cwd-relative, as v1 wrote
    (tmp_path / "old.json").write_text(json.dumps({
        "version": 1, "tool": "nova-secaudit", "findings": [
            {"fingerprint": v, "code": f.code, "path": "svc.py",
             "line": f.line, "message": f.message}
            for f, v in zip(found, values)]}))
    assert run_cli(tmp_path, "--baseline", "old.json", "svc.py")[:2] == \
        (0, "")
    assert run_cli(tmp_path, "--baseline", "old.json", ".")[:2] == (0, "")
    # Its paths are relative to where it was written, as before.
    assert run_cli(tmp_path.parent, "--baseline",
                   f"{tmp_path.name}/old.json", tmp_path.name)[0] == 1
