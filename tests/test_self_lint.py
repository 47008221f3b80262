"""The project lints itself: flake8 with the repository's setup.cfg (79
columns, the installed NSA plugin, NSA102 selected) finds nothing in the
package, scripts and benchmarks. CI runs the same flake8 over the whole
tree (.ci/run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def flake8(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flake8", *args],
                          capture_output=True, text=True, cwd=REPO)


def test_package_scripts_and_benchmarks_are_flake8_clean():
    done = flake8("nova_secaudit", "scripts", "bench")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_setup_cfg_is_what_flake8_reads(tmp_path):
    # The check bites: the same config flags a long line and a memo dict
    # written without a lock, both through the installed plugin.
    bad = tmp_path / "memo.py"
    bad.write_text("_MEMO = {}\n\n\ndef remember(key, value):\n"
                   f"    _MEMO[key] = value  # {'x' * 60}\n")
    done = flake8(str(bad))
    codes = sorted(line.split()[1] for line in done.stdout.splitlines())
    assert codes == ["E501", "NSA201"], done.stdout + done.stderr
