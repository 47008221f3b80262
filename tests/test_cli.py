"""``nova-secaudit check``: findings, exit codes, per-file errors,
suppression comments (only our CLI applies both noqa and pylint ones)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nova_secaudit.cli import main

UNBOUNDED = "import futurist\n\nfuturist.ThreadPoolExecutor()\n"


def run_cli(*args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "nova_secaudit.cli", *args],
                          capture_output=True, text=True, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def test_findings_exit_one_and_print_flake8_style(tmp_path):
    (tmp_path / "a.py").write_text(UNBOUNDED)
    code, out, err = run_cli("check", str(tmp_path))
    assert code == 1, err
    assert out.startswith(f"{tmp_path / 'a.py'}:3:1: NSA101 "
                          "futurist.ThreadPoolExecutor() has no max_workers")


def test_clean_tree_exits_zero(tmp_path):
    (tmp_path / "a.py").write_text("import futurist\n\n"
                                   "futurist.ThreadPoolExecutor(4)\n")
    assert run_cli("check", str(tmp_path))[0] == 0


def test_exit_zero_flag(tmp_path):
    (tmp_path / "a.py").write_text(UNBOUNDED)
    assert run_cli("check", "--exit-zero", str(tmp_path))[0] == 0


def test_bad_file_gives_one_line_and_the_run_goes_on(tmp_path):
    (tmp_path / "a_broken.py").write_text("def f(:\n")
    (tmp_path / "b_latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "c.py").write_text(UNBOUNDED)
    code, out, err = run_cli("check", str(tmp_path))
    assert code == 2
    assert "NSA101" in out  # the good file after the bad ones was checked
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"{tmp_path / 'a_broken.py'}: error: "
                               "syntax error at line 1")
    assert lines[1].startswith(f"{tmp_path / 'b_latin.py'}: error: "
                               "not valid utf-8")
    assert "Traceback" not in err


def test_missing_path_is_an_error(tmp_path):
    code, _, err = run_cli("check", str(tmp_path / "nope.py"))
    assert code == 2 and "no such file or directory" in err


@pytest.mark.parametrize("comment,suppressed", [
    ("# noqa", True),
    ("# noqa: NSA101", True),
    ("# noqa:NSA1", True),
    ("# noqa: NSA401", False),
    ("# pylint: disable=unbounded-executor", True),
    ("# pylint: disable=W6101", True),
    ("# pylint: disable=timeout-without-cancel", False),
], ids=["bare-noqa", "noqa-code", "noqa-prefix", "noqa-other-code",
        "pylint-symbol", "pylint-msgid", "pylint-other-symbol"])
def test_suppression_comments(tmp_path, comment, suppressed):
    path = tmp_path / "a.py"
    path.write_text(f"import futurist\n\nfuturist.ThreadPoolExecutor()  "
                    f"{comment}\n")
    code, out, _ = run_cli("check", str(path))
    assert (code == 0) is suppressed
    assert ("NSA101" in out) is not suppressed


def test_select_and_ignore(tmp_path):
    (tmp_path / "a.py").write_text(UNBOUNDED)
    assert run_cli("check", "--select", "NSA4", str(tmp_path))[0] == 0
    assert run_cli("check", "--ignore", "NSA101", str(tmp_path))[0] == 0
    code, out, _ = run_cli("check", "--select", "NSA102", str(tmp_path))
    assert code == 1 and "NSA102" in out and "NSA101" not in out


def test_usage_errors_exit_two(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["check", "--select", "E501"])
    assert stop.value.code == 2
    assert main(["explain", "NSA999"]) == 2


def test_rules_and_explain(capsys):
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "NSA101  unbounded-executor" in listing
    assert "(opt-in)" in listing
    assert main(["explain", "nsa401"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("NSA401 timeout-without-cancel (CWE-400, CWE-404")
    assert "Why this is bad:" in text and "Bad (" in text
