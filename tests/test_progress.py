"""Progress of ``check`` and ``fix``: drawn on a terminal (a real pty here),
never in pipes or CI, with no optional package."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from nova_secaudit.progress import Progress
from support import run_cli_on_tty

UNBOUNDED = "import futurist\n\nfuturist.ThreadPoolExecutor()\n"


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture()
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_draws_throttled_and_erases_itself(no_ci):
    screen, clock = Terminal(), Clock()
    with Progress(4, stream=screen, clock=clock) as advance:
        assert screen.getvalue() == "\rnova-secaudit: 0/4 files (0%)"
        advance(1)  # within 0.1 s of the last drawing: not redrawn
        assert screen.getvalue().count("\r") == 1
        clock.now = 0.5
        advance(1)
        assert screen.getvalue().endswith("\rnova-secaudit: 2/4 files (50%)")
        advance(2)  # the last file is always shown
        assert screen.getvalue().endswith(
            "\rnova-secaudit: 4/4 files (100%)")
    drawn = screen.getvalue()
    width = len("nova-secaudit: 4/4 files (100%)")
    assert drawn.endswith("\r" + " " * width + "\r")


@pytest.mark.parametrize("stream,env", [
    (io.StringIO(), {}),
    (Terminal(), {"CI": "true"}),
    (Terminal(), {"TERM": "dumb"}),
], ids=["pipe", "ci", "dumb-terminal"])
def test_nothing_drawn_off_a_terminal(no_ci, monkeypatch, stream, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with Progress(10, stream=stream) as advance:
        assert advance is None
    assert stream.getvalue() == ""


def test_no_files_no_progress(no_ci):
    screen = Terminal()
    with Progress(0, stream=screen) as advance:
        assert advance is None
    assert screen.getvalue() == ""


@pytest.fixture()
def tree(tmp_path):
    for number in range(5):
        (tmp_path / f"m{number}.py").write_text(UNBOUNDED)
    return tmp_path


@pytest.mark.parametrize("args", [
    ("check", "--no-cache", "--jobs", "1", "."),
    ("fix", "--jobs", "1", "."),
], ids=["check", "fix"])
def test_check_and_fix_show_progress_on_a_terminal(tree, args):
    if args[0] == "fix":
        pytest.importorskip("libcst")
    out, terminal = run_cli_on_tty(tree, *args)
    assert "nova-secaudit: 0/5 files (0%)" in terminal
    assert "nova-secaudit: 5/5 files (100%)" in terminal
    # Erased before the run's own output: no bar left in the report.
    assert "files (" not in out
    if args[0] == "fix":
        assert "max_workers=8" in (tree / "m4.py").read_text()


def test_piped_stderr_gets_no_progress(tree):
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         "."], cwd=tree, capture_output=True, text=True,
        env={**os.environ, "TERM": "xterm"})
    assert done.returncode == 1 and done.stderr == ""
