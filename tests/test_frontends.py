"""flake8, pylint and the CLI report the same (code, line, col) everywhere.

Parity inputs carry no suppression comments (STYLE.md): every fixture and
every rule example, written out as files, checked by the three front ends
in one run each, with every rule selected.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from nova_secaudit.rules import ALL_RULES
from support import FIXTURES

ALL_CODES = ",".join(rule.code for rule in ALL_RULES)
SYMBOLS = ",".join(rule.symbol for rule in ALL_RULES)
MSGID_TO_CODE = {rule.pylint_msgid(): rule.code for rule in ALL_RULES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    for fixture in FIXTURES.glob("*.py"):
        (root / fixture.name).write_bytes(fixture.read_bytes())
    for rule in ALL_RULES:
        for kind in ("bad", "good"):
            for example in getattr(rule, kind):
                name = f"{rule.code}_{kind}_{example.name}".replace("-", "_")
                (root / f"{name}.py").write_text(example.source)
    return root


def _run(args, cwd):
    done = subprocess.run([sys.executable, *args], cwd=cwd,
                          capture_output=True, text=True)
    # pylint exit codes are bit flags of message kinds; 32 is a usage error
    assert done.returncode < 32, done.stdout + done.stderr
    return done.stdout


def flake8_findings(root):
    out = _run(["-m", "flake8", "--isolated", f"--select={ALL_CODES}",
                "."], root)
    return {(path.removeprefix("./"), int(line), int(col) - 1, code)
            for path, line, col, code in
            re.findall(r"^(\S+?):(\d+):(\d+): (NSA\d+) ", out, re.M)}


def pylint_findings(root):
    out = _run(["-m", "pylint", "--load-plugins=nova_secaudit.pylint_plugin",
                "--disable=all", f"--enable={SYMBOLS}", "-sn", "--score=n",
                "--msg-template={path}:{line}:{column}:{msg_id}", "."], root)
    return {(path, int(line), int(col), MSGID_TO_CODE[msgid])
            for path, line, col, msgid in
            re.findall(r"^(\S+?):(\d+):(\d+):(W6\d+)$", out, re.M)}


def cli_findings(root):
    out = _run(["-m", "nova_secaudit.cli", "check", f"--select={ALL_CODES}",
                "."], root)
    return {(path.removeprefix("./"), int(line), int(col) - 1, code)
            for path, line, col, code in
            re.findall(r"^(\S+?):(\d+):(\d+): (NSA\d+) ", out, re.M)}


def test_three_front_ends_agree(corpus):
    cli = cli_findings(corpus)
    # Every bad example is found at least once: parity over nothing
    # would prove nothing.
    bad_files = {p.name for p in corpus.glob("NSA*_bad_*.py")}
    assert bad_files <= {path for path, *_ in cli}
    assert flake8_findings(corpus) == cli
    assert pylint_findings(corpus) == cli


def test_flake8_leaves_opt_in_rule_off_by_default(corpus):
    out = _run(["-m", "flake8", "--isolated", "."], corpus)
    codes = set(re.findall(r" (NSA\d+) ", out))
    assert "NSA101" in codes and "NSA102" not in codes


def test_pylint_leaves_opt_in_rule_off_by_default(corpus):
    out = _run(["-m", "pylint", "--load-plugins=nova_secaudit.pylint_plugin",
                "-sn", "--score=n", "--msg-template={msg_id}", "."], corpus)
    assert "W6101" in out and "W6102" not in out


@pytest.mark.parametrize("options,opted_in", [
    (["--select=NSA"], False),
    (["--select=NSA1"], False),
    (["--ignore=E501"], False),  # flake8 drops its default ignore here
    (["--extend-ignore=E501"], False),
    (["--select=NSA1,NSA102"], True),
    (["--extend-select=NSA102"], True),
], ids=["select-NSA", "select-NSA1", "ignore-other", "extend-ignore",
        "select-full-code", "extend-select-full-code"])
def test_select_means_the_same_in_flake8_and_the_cli(corpus, options,
                                                     opted_in):
    out = _run(["-m", "flake8", "--isolated", *options, "."], corpus)
    codes = set(re.findall(r" (NSA\d+) ", out))
    assert "NSA101" in codes
    assert ("NSA102" in codes) is opted_in
    select = [o.split("=")[1] for o in options if "select" in o]
    if select:  # the CLI, given the same selection, agrees
        cli = {code for *_, code in cli_findings_selected(
            corpus, select[0] if "extend" not in options[0]
            else "NSA,NSA102")}
        assert ("NSA102" in cli) is opted_in and "NSA101" in cli


def cli_findings_selected(root, select):
    out = _run(["-m", "nova_secaudit.cli", "check", f"--select={select}",
                "."], root)
    return {(path, int(line), int(col) - 1, code)
            for path, line, col, code in
            re.findall(r"^(\S+?):(\d+):(\d+): (NSA\d+) ", out, re.M)}
