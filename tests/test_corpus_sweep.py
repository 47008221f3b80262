"""The corpus sweep (scripts/corpus_sweep.py) and the diffs it checks.

The sweep itself downloads thirteen releases: it is marked ``network`` and
``slow`` (deselect offline with ``-m 'not network'``). The tests of its diff
handling, and of ``fix --diff`` output against what ``fix`` writes, run
offline on files written here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "corpus_sweep.py"


def load_sweep():
    spec = importlib.util.spec_from_file_location("corpus_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("corpus_sweep", module)
    spec.loader.exec_module(module)
    return module


sweep = load_sweep()

FIXABLE = "import futurist\n\n\ndef start():\n    return futurist." \
          "ThreadPoolExecutor()\n"

# Files whose diff is easy to get wrong: (name, bytes).
AWKWARD = [
    ("plain.py", FIXABLE.encode()),
    ("crlf.py", FIXABLE.replace("\n", "\r\n").encode()),
    ("no_final_newline.py", FIXABLE.rstrip("\n").encode()),
    ("crlf_no_final_newline.py",
     FIXABLE.replace("\n", "\r\n").rstrip("\r\n").encode()),
    ("form_feed.py", FIXABLE.replace("\n\n\n", "\n\x0c\n\n").encode()),
    ("line_separator.py",
     ("SEP = 'a\u2028b'\n" + FIXABLE).encode("utf-8")),
    ("bom.py", b"\xef\xbb\xbf" + FIXABLE.encode()),
    ("latin1.py", ("# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n"
                   + FIXABLE).encode("latin-1")),
    ("dashes.py", ("'''\n-- a docstring line\n'''\n" + FIXABLE).encode()),
]


def fix_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "fix",
         "--select=NSA101", *args], capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=300)


@pytest.fixture(scope="module")
def awkward_tree(tmp_path_factory):
    """(original tree, tree fixed by ``fix``, diff text of ``fix --diff``)."""
    pytest.importorskip("libcst")
    base = tmp_path_factory.mktemp("awkward")
    original, fixed = base / "original", base / "fixed"
    original.mkdir()
    for name, data in AWKWARD:
        (original / name).write_bytes(data)
    shutil.copytree(original, fixed)
    done = fix_cli("--diff", "--jobs=1", str(original))
    assert done.returncode == 0, done.stderr
    written = fix_cli("--jobs=1", str(fixed))
    assert written.returncode == 0, written.stderr
    return original, fixed, done.stdout.decode("utf-8")


def test_fix_diff_applies_to_exactly_what_fix_writes(awkward_tree):
    original, fixed, diff = awkward_tree
    diffs = sweep.split_diff(diff)
    assert sorted(Path(p).name for p in diffs) == sorted(n for n, _ in AWKWARD)
    for path, lines in diffs.items():
        name = Path(path).name
        data = (original / name).read_bytes()
        patched = sweep.apply_hunks(sweep_decode(data), lines)
        assert sweep._encode_like(patched, data) == \
            (fixed / name).read_bytes(), name


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fix_diff_is_accepted_by_git_apply(awkward_tree, tmp_path):
    original, fixed, diff = awkward_tree
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    # The diff names files relative to the directory fix ran in; make
    # them relative to the copy's top, where git apply runs.
    here = os.path.relpath(original).replace(os.sep, "/")
    relative = diff.replace(f"--- a/{here}/", "--- a/").replace(
        f"+++ b/{here}/", "+++ b/")
    (tmp_path / "fix.diff").write_bytes(relative.encode("utf-8"))
    done = subprocess.run(["git", "apply", "--whitespace=nowarn",
                           str(tmp_path / "fix.diff")], cwd=copy,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name, _ in AWKWARD:
        assert (copy / name).read_bytes() == (fixed / name).read_bytes(), name


def sweep_decode(data: bytes) -> str:
    from nova_secaudit.source import decode_source

    return decode_source(data)


def test_apply_hunks_is_strict():
    old = "a\nb\nc\n"
    good = ["@@ -1,3 +1,3 @@\n", " a\n", "-b\n", "+B\n", " c\n"]
    assert sweep.apply_hunks(old, good) == "a\nB\nc\n"
    with pytest.raises(ValueError, match="does not match"):
        sweep.apply_hunks("a\nx\nc\n", good)
    with pytest.raises(ValueError, match="counts do not match"):
        sweep.apply_hunks(old, good[:-1])
    # CRLF content must match byte for byte.
    with pytest.raises(ValueError, match="does not match"):
        sweep.apply_hunks("a\r\nb\r\nc\r\n", good)


def test_split_diff_counts_hunk_lines():
    text = ("--- x.py\n+++ x.py\n@@ -1,2 +1,2 @@\n"
            "--- not a header\n"   # removes the line '-- not a header'
            "+++ nor this\n"      # adds the line '++ nor this'
            " tail\n")
    files = sweep.split_diff(text)
    assert list(files) == ["x.py"]
    assert sweep.apply_hunks("-- not a header\ntail\n", files["x.py"]) == \
        "++ nor this\ntail\n"
    with pytest.raises(ValueError, match="ends inside a hunk"):
        sweep.split_diff("--- x.py\n+++ x.py\n@@ -1,2 +1,2 @@\n a\n")


def test_pinned_projects_are_the_issue_list():
    names = [name for name, _ in sweep.PROJECTS]
    assert names == ["nova", "cinder", "neutron", "glance", "keystone",
                     "ironic", "manila", "octavia", "swift",
                     "oslo.messaging", "oslo.db", "taskflow", "futurist"]
    assert all(version[0].isdigit() for _, version in sweep.PROJECTS)


@pytest.mark.network
@pytest.mark.slow
def test_corpus_sweep_has_no_crash_no_internal_error(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--jobs", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=3600)
    with capsys.disabled():  # the numbers belong in the CI log
        print("\n" + done.stdout)
    assert out.exists(), done.stderr[-2000:]
    results = json.loads(out.read_text())["projects"]
    assert [r["name"] for r in results] == [n for n, _ in sweep.PROJECTS]
    for result in results:
        assert result["files"] > 10, result["name"]
        for kind in ("crashes", "internal_errors", "bogus_file_errors",
                     "diff_failures", "not_idempotent"):
            assert result[kind] == [], (result["name"], kind)
    assert done.returncode == 0, done.stdout[-3000:]
