"""``nova-secaudit fix`` never corrupts a file.

* Interrupted writes: a run killed (SIGKILL) mid-run, after a random number
  of files were written, leaves every file either byte-for-byte old or
  byte-for-byte fixed; an exception at
  each step of the atomic write leaves the old file and no temporary file.
* Read-only files are reported as one line and left alone; the run goes
  on. Permission bits are kept, a symbolic link stays a link, the mtime is
  the time of the fix (policy in ``nova_secaudit/fixing.py``).
* Concurrent runs on the same tree do not corrupt files, and a file that
  changes while it is being fixed is not overwritten.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("libcst")

from nova_secaudit import fixing  # noqa: E402
from nova_secaudit.fixing import FixOptions, fix_file  # noqa: E402
from nova_secaudit.settings import Settings  # noqa: E402

SETTINGS = Settings()
OPTIONS = FixOptions(codes=frozenset({"NSA101"}), write=True)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def fixable(index: int, filler_lines: int = 0) -> bytes:
    """A module with one NSA101 finding, padded to make writes slower."""
    filler = "".join(f"VALUE_{index}_{n} = {n}  # {'x' * 60}\n"
                     for n in range(filler_lines))
    return (f'"""Module {index}."""\n\nimport futurist\n\n{filler}\n'
            f"def start_{index}():\n"
            f"    return futurist.ThreadPoolExecutor()\n").encode()


def make_tree(root: Path, count: int, filler_lines: int = 0
              ) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    files = {}
    for index in range(count):
        name = f"mod_{index:03d}.py"
        files[name] = fixable(index, filler_lines)
        (root / name).write_bytes(files[name])
    return files


def fixed_versions(files: dict[str, bytes], scratch: Path
                   ) -> dict[str, bytes]:
    """What a complete, uninterrupted fix makes of each file."""
    make_tree(scratch, 0)
    result = {}
    for name, data in files.items():
        (scratch / name).write_bytes(data)
        outcome = fix_file(str(scratch / name), SETTINGS, OPTIONS)
        assert outcome.changed and outcome.error is None, outcome.error
        result[name] = (scratch / name).read_bytes()
        assert result[name] != data
    return result


def fix_command(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nova_secaudit.cli", "fix",
            "--select=NSA101", *extra, str(root)]


def assert_old_or_new(root: Path, old: dict, new: dict) -> tuple[int, int]:
    """Every file is exactly old or exactly new; (old count, new count)."""
    olds = news = 0
    for name in old:
        data = (root / name).read_bytes()
        assert data in (old[name], new[name]), \
            f"{name} is neither old nor fixed: {len(data)} bytes"
        olds += data == old[name]
        news += data == new[name]
    return olds, news


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()
                  if p.name.endswith(".nsa-tmp"))


# -- interrupted writes -------------------------------------------------

def run_and_kill_after(command: list[str], root: Path, names, writes: int,
                       rng: random.Random) -> None:
    """Run ``command`` and SIGKILL it once ``writes`` of the files ``names``
    under ``root`` have been replaced, and a random moment more (so the
    kill can land inside the next file's write). Watching the files, not a
    clock, puts the kill mid-run however loaded the machine is."""
    inodes = {name: (root / name).stat().st_ino for name in names}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        replaced = sum((root / name).stat().st_ino != inode
                       for name, inode in inodes.items())
        if replaced >= writes:
            time.sleep(rng.uniform(0, 0.003))
            break
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


@pytest.mark.slow
def test_sigkill_during_a_run_leaves_every_file_old_or_new(tmp_path):
    old = make_tree(tmp_path / "template", 16, filler_lines=300)
    new = fixed_versions(old, tmp_path / "expected")
    # An uninterrupted run fixes every file.
    shutil.copytree(tmp_path / "template", tmp_path / "whole")
    done = subprocess.run(fix_command(tmp_path / "whole", "--jobs=1"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert assert_old_or_new(tmp_path / "whole", old, new) == (0, len(old))

    rng = random.Random(7)
    mixed = 0
    for trial in range(4):
        root = tmp_path / f"trial_{trial}"
        shutil.copytree(tmp_path / "template", root)
        run_and_kill_after(fix_command(root, "--jobs=1"), root, old,
                           writes=rng.randint(1, len(old) - 1), rng=rng)
        olds, news = assert_old_or_new(root, old, new)
        mixed += bool(olds and news)
        # A hidden temporary file may be left by the kill, never a .py.
        assert all(name.startswith(".mod_") for name in leftovers(root))
        # Running again finishes the job and ignores the leftovers.
        again = subprocess.run(fix_command(root, "--jobs=1"),
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert assert_old_or_new(root, old, new) == (0, len(old))
    # The kills really landed mid-run, not before or after it.
    assert mixed >= 2, "no kill landed in the middle of a run"


STEPS = ["write", "fsync", "chmod", "replace"]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"),
                                 KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_failure_at_each_write_step_keeps_old_file(tmp_path, monkeypatch,
                                                   step, exc):
    path = tmp_path / "mod.py"
    old = fixable(1)
    path.write_bytes(old)

    def fail(*args, **kwargs):
        raise exc

    if step == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, stream):
                self.stream = stream

            def __enter__(self):
                return self

            def __exit__(self, *info):
                self.stream.close()

            def write(self, data):
                self.stream.write(data[:len(data) // 2])  # half, then fail
                raise exc

        monkeypatch.setattr(fixing.os, "fdopen",
                            lambda *a, **k: Failing(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(fixing.os, step, fail)
    if isinstance(exc, OSError):
        result = fix_file(str(path), SETTINGS, OPTIONS)
        assert result.error.startswith("cannot write: ")
        assert "\n" not in result.error and not result.changed
    else:
        with pytest.raises(KeyboardInterrupt):
            fix_file(str(path), SETTINGS, OPTIONS)
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []


# -- permissions, links, mtime ------------------------------------------

def test_read_only_file_is_reported_and_the_run_goes_on(tmp_path):
    old = make_tree(tmp_path, 3)
    new = fixed_versions(old, tmp_path / "expected")
    read_only = tmp_path / "mod_001.py"
    read_only.chmod(0o444)
    done = subprocess.run(fix_command(tmp_path, "--jobs=1"),
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr
    reported = [line for line in (done.stdout + done.stderr).splitlines()
                if "mod_001.py" in line]
    assert reported == [f"  {read_only}: cannot write: read-only file; "
                        "left as it was"]
    assert read_only.read_bytes() == old["mod_001.py"]
    assert stat.S_IMODE(read_only.stat().st_mode) == 0o444
    assert (tmp_path / "mod_000.py").read_bytes() == new["mod_000.py"]
    assert (tmp_path / "mod_002.py").read_bytes() == new["mod_002.py"]
    assert done.returncode == 2, "a file that could not be written"


def test_read_only_is_about_intent_not_privilege(tmp_path):
    path = tmp_path / "mod.py"
    path.write_bytes(fixable(1))
    assert not fixing.is_read_only(str(path))
    path.chmod(0o444)
    assert fixing.is_read_only(str(path))  # root too: no write bit at all
    path.chmod(0o200)  # write-only is writable
    assert not fixing.is_read_only(str(path))


@pytest.mark.skipif(IS_ROOT, reason="root writes into any folder")
def test_read_only_folder_is_reported(tmp_path):
    (tmp_path / "ro").mkdir()
    path = tmp_path / "ro" / "mod.py"
    path.write_bytes(fixable(1))
    (tmp_path / "ro").chmod(0o555)
    try:
        result = fix_file(str(path), SETTINGS, OPTIONS)
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert result.error == "cannot write: Permission denied"
    assert path.read_bytes() == fixable(1)


def test_mode_bits_kept_and_mtime_is_the_fix_time(tmp_path):
    path = tmp_path / "tool.py"
    path.write_bytes(b"#!/usr/bin/env python3\n" + fixable(1))
    path.chmod(0o751)
    long_ago = time.time() - 86400
    os.utime(path, (long_ago, long_ago))
    before = path.stat()
    result = fix_file(str(path), SETTINGS, OPTIONS)
    assert result.changed and result.error is None
    after = path.stat()
    assert stat.S_IMODE(after.st_mode) == 0o751
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_mtime > long_ago + 3600


def test_symbolic_link_stays_a_link_and_its_target_is_fixed(tmp_path):
    target = tmp_path / "real.py"
    target.write_bytes(fixable(1))
    link = tmp_path / "alias.py"
    link.symlink_to("real.py")
    result = fix_file(str(link), SETTINGS, OPTIONS)
    assert result.changed and result.error is None
    assert link.is_symlink() and os.readlink(link) == "real.py"
    assert b"max_workers=" in target.read_bytes()


# -- concurrency --------------------------------------------------------

@pytest.mark.slow
def test_concurrent_runs_do_not_corrupt_files(tmp_path):
    old = make_tree(tmp_path / "tree", 24)
    new = fixed_versions(old, tmp_path / "expected")
    root = tmp_path / "tree"
    runs = [subprocess.Popen(fix_command(root, "--jobs=1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert "Traceback" not in out + err
        assert run.returncode in (0, 2), err
        for line in (out + err).splitlines():
            if ": cannot write:" in line:  # lost a race: said so, one line
                assert "changed while being fixed" in line, line
    # Whatever the interleaving, each file is the one full fix, and no
    # temporary file is left behind.
    assert assert_old_or_new(root, old, new) == (0, len(old))
    assert leftovers(root) == []


def test_file_changed_while_fixing_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "mod.py"
    path.write_bytes(fixable(1))
    edited = fixable(1) + b"EDITED_MEANWHILE = True\n"
    real_transform = fixing.transform_text

    def transform_while_someone_edits(*args, **kwargs):
        text = real_transform(*args, **kwargs)
        path.write_bytes(edited)  # an editor saves during our transform
        return text

    monkeypatch.setattr(fixing, "transform_text",
                        transform_while_someone_edits)
    result = fix_file(str(path), SETTINGS, OPTIONS)
    assert result.error == ("cannot write: changed while being fixed; "
                            "left as it was")
    assert not result.changed
    assert path.read_bytes() == edited
    assert leftovers(tmp_path) == []


# -- hostile input for the codemods -------------------------------------

def test_fix_on_deep_nesting_is_one_line_and_the_run_goes_on(tmp_path):
    # ast.parse accepts these, libcst's visitors recurse too deep: the
    # file is reported and left alone, never a crash (in a subprocess, so
    # a C-stack overflow would show as a signal, not pass unnoticed).
    deep = "import futurist\nif x:\n    pass\n" + "".join(
        f"elif x{i}:\n    futurist.ThreadPoolExecutor()\n"
        for i in range(1500))
    wide = "import futurist\nx = " + " + ".join(
        ["futurist.ThreadPoolExecutor()"] * 2000) + "\n"
    (tmp_path / "a_deep.py").write_text(deep)
    (tmp_path / "b_wide.py").write_text(wide)
    (tmp_path / "c_healthy.py").write_bytes(fixable(1))
    done = subprocess.run(fix_command(tmp_path, "--jobs=1"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode >= 0, f"killed by signal {-done.returncode}"
    assert "Traceback" not in done.stdout + done.stderr
    for name, source in (("a_deep.py", deep), ("b_wide.py", wide)):
        text = (tmp_path / name).read_text()
        # Either fixed completely or left exactly as it was.
        assert text == source or "ThreadPoolExecutor()" not in text
        if text == source:
            lines = [line for line in (done.stdout + done.stderr)
                     .splitlines() if name in line]
            assert len(lines) == 1 and ": not fixed: " in lines[0], lines
    assert (tmp_path / "c_healthy.py").read_bytes() != fixable(1)


@pytest.mark.skipif(
    __import__("multiprocessing").get_start_method() != "fork",
    reason="the patched worker must be inherited by fork")
def test_dead_fix_worker_costs_only_its_file(tmp_path, monkeypatch):
    real_fix_file = fixing.fix_file

    def dies_on_killer(path, *args, **kwargs):
        if path.endswith("killer.py"):
            os._exit(9)
        return real_fix_file(path, *args, **kwargs)

    monkeypatch.setattr(fixing, "fix_file", dies_on_killer)
    old = make_tree(tmp_path, 20)
    (tmp_path / "mod_009_killer.py").write_bytes(fixable(99))
    results = list(fixing.fix_paths(sorted(map(str, tmp_path.glob("*.py"))),
                                    SETTINGS, OPTIONS, jobs=2, chunk=4))
    errors = {Path(r.path).name: r.error for r in results if r.error}
    assert errors == {"mod_009_killer.py":
                      "worker process died (exit status 9) while fixing "
                      "this file; left as it was"}
    assert (tmp_path / "mod_009_killer.py").read_bytes() == fixable(99)
    for name in old:
        assert b"max_workers=" in (tmp_path / name).read_bytes(), name


# -- data and truthfulness ----------------------------------------------

def run_fix(root: Path, *extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(fix_command(root, "--jobs=1", *extra),
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_cr_only_file_keeps_every_line_end(tmp_path):
    path = tmp_path / "cr.py"
    path.write_bytes(fixable(1).replace(b"\n", b"\r"))
    expected = fixed_versions({"cr.py": fixable(1)}, tmp_path / "lf")
    done = run_fix(tmp_path)
    assert done.returncode == 0, done.stdout
    assert path.read_bytes() == expected["cr.py"].replace(b"\n", b"\r")
    assert path.read_bytes().endswith(b"=8)\r")


def test_file_libcst_cannot_reproduce_is_left_alone(tmp_path):
    # Mixed endings ending in a lone CR: libcst drops that CR.
    mixed = fixable(1).replace(b"\n", b"\r\n", 1)[:-1] + b"\r"
    path = tmp_path / "mixed.py"
    path.write_bytes(mixed)
    (tmp_path / "plain.py").write_bytes(fixable(2))
    done = run_fix(tmp_path)
    assert path.read_bytes() == mixed
    assert f"  {path}: not fixed: ValueError: libcst does not reproduce " \
        "this file unchanged" in done.stdout
    assert b"max_workers=8" in (tmp_path / "plain.py").read_bytes()
    assert done.returncode == 2


def test_setuid_and_setgid_bits_are_kept(tmp_path):
    path = tmp_path / "suid.py"
    path.write_bytes(fixable(1))
    path.chmod(0o6755)
    assert stat.S_IMODE(path.stat().st_mode) == 0o6755
    assert run_fix(tmp_path).returncode == 0
    assert b"max_workers=8" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o6755


F_STRING_REWRAP = b'''import futurist
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def run(thing):
    try:
        thing()
    except Exception as e:
        LOG.error("failed: %s", e)
        LOG.error(f"failed to do the thing with a very long message here {e} ''' \
    b'''and then some more text {thing}")
        raise


futurist.ThreadPoolExecutor()
'''


def test_fix_that_does_not_compile_is_dropped_alone(tmp_path):
    path = tmp_path / "fstring.py"
    path.write_bytes(F_STRING_REWRAP)
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "fix", "--jobs=1",
         "--select=NSA101,NSA302", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    fixed = path.read_text()
    compile(fixed, str(path), "exec")
    assert "futurist.ThreadPoolExecutor(max_workers=8)" in fixed
    # The first log call's fix applies; the one-line f-string's does not.
    assert "mask_password(_mask_url_credentials(e)))" in \
        fixed.split("LOG.error(", 2)[1]
    assert "{e} and then some more text {thing}" in fixed
    assert f"fixes dropped (codemod failed): 1\n  {path}:12: NSA302 " \
        "fixed text would not compile" in done.stdout
    assert done.returncode == 2


def test_fix_exits_non_zero_when_a_file_changed_while_fixing(tmp_path,
                                                             monkeypatch,
                                                             capsys):
    from nova_secaudit import cli

    make_tree(tmp_path, 2)
    edited = tmp_path / "mod_001.py"
    real_transform = fixing.transform_text

    def transform_while_someone_edits(text, path, *args, **kwargs):
        fixed = real_transform(text, path, *args, **kwargs)
        if path == str(edited):
            edited.write_bytes(b"# edited meanwhile\n")
        return fixed

    # Inherited by the fix worker process (fork).
    monkeypatch.setattr(fixing, "transform_text",
                        transform_while_someone_edits)
    code = cli.main(["fix", "--select=NSA101", "--jobs=1", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 2
    assert f"  {edited}: cannot write: changed while being fixed; left as " \
        "it was" in out
    assert edited.read_bytes() == b"# edited meanwhile\n"
    assert b"max_workers=8" in (tmp_path / "mod_000.py").read_bytes()


def _chattr(path: Path, flag: str) -> bool:
    chattr = shutil.which("chattr")
    return bool(chattr) and subprocess.run(
        [chattr, flag, str(path)], capture_output=True).returncode == 0


def test_immutable_file_is_reported_and_fix_exits_non_zero(tmp_path):
    make_tree(tmp_path, 2)
    frozen = tmp_path / "mod_000.py"
    if not _chattr(frozen, "+i"):
        pytest.skip("no chattr +i here (needs root on ext4/xfs/btrfs)")
    try:
        done = run_fix(tmp_path)
    finally:
        _chattr(frozen, "-i")
    assert f"  {frozen}: cannot write: read-only file; left as it was" \
        in done.stdout
    assert frozen.read_bytes() == fixable(0)
    assert b"max_workers=8" in (tmp_path / "mod_001.py").read_bytes()
    assert done.returncode == 2
