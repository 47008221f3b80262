"""One configuration, three front ends: an executor factory and a lock name
configured in our own section, in flake8's options or in pylint's options
change what the CLI, flake8 and pylint report in the same way."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from nova_secaudit.rules import RULES_BY_CODE

SOURCE = '''\
from nova import utils

CACHE = {}
GATE = utils.make_gate()


def build():
    return utils.create_executor()


def put(key, value):
    with GATE:
        CACHE[key] = value
'''
FACTORY_FINDING = (8, "NSA101")  # only with the factory configured
LOCK_FINDING = (13, "NSA201")  # only without the lock name configured
HAS_STATE_RULES = "NSA201" in RULES_BY_CODE

# How each front end is configured, as (file name, text, extra arguments).
CONFIGS = {
    "cli-pyproject": ("pyproject.toml", '[tool.nova-secaudit]\n'
                      'executor-factories = ["nova.utils.create_executor"]\n'
                      'lock-names = ["GATE"]\n', ()),
    "cli-setup-cfg": ("setup.cfg", "[nova-secaudit]\nexecutor_factories =\n"
                      "    nova.utils.create_executor\nlock_names = GATE\n",
                      ()),
    "flake8-tox-ini-own-section": (
        "tox.ini", "[nova-secaudit]\nexecutor-factories = "
        "nova.utils.create_executor:max_workers\nlock-names = GATE\n", ()),
    "flake8-options-in-tox-ini": (
        "tox.ini", "[flake8]\nnsa-executor-factories = "
        "nova.utils.create_executor\nnsa-lock-names = GATE\n", ()),
    "flake8-command-line": (None, "", (
        "--nsa-executor-factories=nova.utils.create_executor",
        "--nsa-lock-names=GATE")),
    "pylint-pylintrc": (".pylintrc", "[MAIN]\nnsa-executor-factories="
                        "nova.utils.create_executor\nnsa-lock-names=GATE\n",
                        ("--rcfile=.pylintrc",)),
    "pylint-command-line": (None, "", (
        "--nsa-executor-factories=nova.utils.create_executor",
        "--nsa-lock-names=GATE")),
    "pylint-pyproject-own-section": ("pyproject.toml", (
        '[tool.nova-secaudit]\n'
        'executor-factories = ["nova.utils.create_executor"]\n'
        'lock-names = ["GATE"]\n'), ()),
}


def _run(args, cwd):
    done = subprocess.run([sys.executable, *args], cwd=cwd,
                          capture_output=True, text=True)
    assert done.returncode < 32 and "Traceback" not in done.stderr, \
        done.stdout + done.stderr
    return done


def findings(front_end: str, root, extra=()) -> set[tuple[int, str]]:
    codes = "NSA101,NSA201"
    if front_end == "cli":
        # No --select: it would override the configuration under test.
        out = _run(["-m", "nova_secaudit.cli", "check", "--no-cache",
                    "svc.py"], root).stdout
    elif front_end == "flake8":
        out = _run(["-m", "flake8", f"--select={codes}", *extra, "svc.py"],
                   root).stdout
    else:
        symbols = ",".join(RULES_BY_CODE[c].symbol for c in codes.split(",")
                           if c in RULES_BY_CODE)
        out = _run(["-m", "pylint",
                    "--load-plugins=nova_secaudit.pylint_plugin",
                    *extra, "--disable=all", f"--enable={symbols}", "-sn",
                    "--score=n", "--msg-template={line}: NSA{msg_id}",
                    "svc.py"], root).stdout
        out = out.replace("NSAW6", "NSA")
    return {(int(line), code) for line, code in
            re.findall(r"(?:^|:)(\d+):(?:\d+:)? (NSA\d+)", out, re.M)}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_front_end_honours_configuration(tmp_path, name):
    front_end = name.split("-")[0]
    filename, text, extra = CONFIGS[name]
    (tmp_path / "svc.py").write_text(SOURCE)
    unconfigured = findings(front_end, tmp_path)
    assert FACTORY_FINDING not in unconfigured
    if filename:
        (tmp_path / filename).write_text(text)
    configured = findings(front_end, tmp_path, extra)
    assert FACTORY_FINDING in configured, name
    if HAS_STATE_RULES:
        assert LOCK_FINDING in unconfigured
        assert LOCK_FINDING not in configured, name


@pytest.mark.parametrize("front_end", ["cli", "flake8"])
def test_bad_config_value_is_one_clear_error(tmp_path, front_end):
    (tmp_path / "svc.py").write_text(SOURCE)
    (tmp_path / "tox.ini").write_text("[nova-secaudit]\nmax-workers = many\n")
    args = (["-m", "nova_secaudit.cli", "check", "--no-cache", "svc.py"]
            if front_end == "cli" else ["-m", "flake8", "svc.py"])
    done = subprocess.run([sys.executable, *args], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "max-workers: bad value 'many'" in done.stderr
    assert "Traceback" not in done.stderr


def test_pylint_bad_config_names_the_key(tmp_path):
    (tmp_path / "svc.py").write_text(SOURCE)
    (tmp_path / "setup.cfg").write_text("[nova-secaudit]\nlock-nmes = G\n")
    done = subprocess.run(
        [sys.executable, "-m", "pylint",
         "--load-plugins=nova_secaudit.pylint_plugin", "svc.py"],
        cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0
    assert "lock-nmes: unknown key" in done.stdout + done.stderr


@pytest.mark.parametrize("front_end", ["cli", "flake8", "pylint"])
@pytest.mark.parametrize("key", ["per-file-ignores = svc.py:NSA101",
                                 "ignore = NSA10", "select = NSA2"],
                         ids=["per-file-ignores", "ignore", "select"])
def test_selection_in_our_section_applies_to_every_front_end(
        tmp_path, front_end, key):
    (tmp_path / "svc.py").write_text(SOURCE)
    (tmp_path / "tox.ini").write_text(
        "[nova-secaudit]\nexecutor-factories = nova.utils.create_executor"
        f"\n{key}\n")
    assert FACTORY_FINDING not in findings(front_end, tmp_path)
    (tmp_path / "tox.ini").write_text(
        "[nova-secaudit]\nexecutor-factories = nova.utils.create_executor\n")
    assert FACTORY_FINDING in findings(front_end, tmp_path)


@pytest.mark.parametrize("case", ["select-no-rule", "misspelt-section",
                                  "bool-max-workers"])
def test_flake8_refuses_silently_wrong_input_with_exit_two(tmp_path, case):
    (tmp_path / "svc.py").write_text(SOURCE)
    args, expected = ["svc.py"], ""
    if case == "select-no-rule":
        args = ["--select=E,NSA999", "svc.py"]
        expected = ("nova-secaudit: error: flake8 select: 'NSA999' matches "
                    "no rule (see 'nova-secaudit rules')\n")
    elif case == "misspelt-section":
        (tmp_path / "tox.ini").write_text("[nova_secaudit]\nselect = NSA1\n")
        expected = (f"nova-secaudit: error: {tmp_path / 'tox.ini'}: section "
                    "[nova_secaudit] is not read; did you mean "
                    "[nova-secaudit]?\n")
    else:
        (tmp_path / "pyproject.toml").write_text(
            "[tool.nova-secaudit]\nmax-workers = true\n")
        expected = (f"nova-secaudit: error: {tmp_path / 'pyproject.toml'}: "
                    "max-workers: bad value True: expected a whole number\n")
    done = subprocess.run([sys.executable, "-m", "flake8", *args],
                          cwd=tmp_path, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)
