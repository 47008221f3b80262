"""``nova-secaudit check``: findings, exit codes, per-file errors,
suppression comments (only our CLI applies both noqa and pylint ones)."""

from __future__ import annotations

import re
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
    assert main(["check", "--select", "E501"]) == 2
    assert capsys.readouterr().err == (
        "nova-secaudit: error: --select: 'E501' is not an NSA code prefix\n")
    assert main(["explain", "NSA999"]) == 2


@pytest.mark.parametrize("args", [
    ["check", "--select", "NSA999"],
    ["check", "--select", "NSA1,NSA9"],
    ["check", "--ignore", "NSA60"],
    ["fix", "--diff", "--select", "NSA999"],
], ids=["check-select", "one-of-two", "check-ignore", "fix-select"])
def test_a_code_that_matches_no_rule_is_one_line_exit_two(tmp_path, args):
    (tmp_path / "a.py").write_text(UNBOUNDED)
    code, out, err = run_cli(*args, str(tmp_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "matches no rule" in err, err


def test_opt_in_rule_needs_its_full_code(tmp_path):
    (tmp_path / "a.py").write_text(
        "import futurist\n\nfuturist.ThreadPoolExecutor(max_workers=4)\n")
    for prefix in ("NSA", "NSA1", "NSA10"):
        assert run_cli("check", "--no-cache", "--select", prefix,
                       str(tmp_path))[0] == 0, prefix
    code, out, _ = run_cli("check", "--no-cache", "--select", "NSA1,NSA102",
                           str(tmp_path))
    assert code == 1 and ": NSA102 " in out


@pytest.mark.parametrize("command", ["check", "fix"])
def test_paths_that_give_nothing_to_check_are_errors(tmp_path, command):
    (tmp_path / "notes.txt").write_text(UNBOUNDED)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README").write_text("no python here\n")
    code, out, err = run_cli(command, "notes.txt", "empty", cwd=tmp_path)
    assert code == 2
    assert err.splitlines() == [
        "notes.txt: error: not a Python file (no .py suffix, no python "
        "#! line)",
        "empty: error: no Python files found"]
    assert "notes.txt" not in out and "empty" not in out


def test_a_python_script_without_suffix_is_checked(tmp_path):
    (tmp_path / "nova-manage").write_text("#!/usr/bin/env python3\n"
                                          + UNBOUNDED)
    code, out, err = run_cli("check", "--no-cache", "nova-manage",
                             cwd=tmp_path)
    assert (code, err) == (1, "")
    assert out.startswith("nova-manage:4:1: NSA101 ")


def test_fix_of_a_missing_path_says_why_on_stderr(tmp_path):
    code, out, err = run_cli("fix", str(tmp_path / "nonexistent"))
    assert code == 2
    assert err == f"{tmp_path / 'nonexistent'}: error: no such file or " \
                  "directory\n"
    assert "nonexistent" not in out


def test_rules_and_explain(capsys):
    from nova_secaudit.docs import plain_text
    from nova_secaudit.rules import ALL_RULES

    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    lines = listing.splitlines()
    assert "NSA101  unbounded-executor" in lines
    assert "NSA102  unbounded-backlog (opt-in)" in lines
    assert sum(line.startswith("NSA") for line in lines) == len(ALL_RULES)
    assert max(map(len, lines)) <= 79
    assert "``" not in listing
    flowing = " ".join(listing.split())
    for rule in ALL_RULES:  # each summary, wrapped, markup as plain text
        assert plain_text(rule.summary()) in flowing, rule.code
    assert main(["explain", "nsa401"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("NSA401 timeout-without-cancel (CWE-400, CWE-404")
    assert "Why this is bad:" in text and "Bad (" in text


# Zuul's tox role (zuul-jobs roles/tox/library/tox_parse_output.py) turns
# lines matching this into inline Gerrit comments when the path is a file
# of the project; lines starting with whitespace are skipped.
ZUUL_PEP8_RE = re.compile(r"^(.*):(\d+):(\d+): (.*)$")


def test_text_output_is_what_zuul_turns_into_gerrit_comments(tmp_path):
    (tmp_path / "nova" / "compute").mkdir(parents=True)
    (tmp_path / "nova" / "compute" / "manager.py").write_text(
        "import futurist\n\n\ndef pool():\n"
        "    return futurist.ThreadPoolExecutor()\n")
    (tmp_path / "nova" / "utils.py").write_text(UNBOUNDED)
    code, out, err = run_cli("check", "--no-cache", "nova", cwd=tmp_path)
    assert (code, err) == (1, "")
    comments = []
    for line in out.splitlines():
        path, row, col, message = ZUUL_PEP8_RE.match(line).groups()
        assert (tmp_path / path).is_file() and not line[0].isspace()
        comments.append((path, int(row), int(col), message.split()[0]))
    assert comments == [("nova/utils.py", 3, 1, "NSA101"),
                        ("nova/compute/manager.py", 5, 12, "NSA101")]
