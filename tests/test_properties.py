"""Property-based tests: generated programs never break the engine, the
three front ends agree on them, and fixes parse and are idempotent.

Two sources of programs:

* ``hypothesmith.from_grammar()`` — arbitrary valid Python from the
  grammar. Rarely Nova-shaped, but full of odd syntax (walrus, starred
  targets, nested comprehensions, decorators on anything, ``match``).
* :func:`nova_shaped` — every rule's bad and good examples, composed in
  random order, nested under ``def``/``class``/``if``/``try``/``with``/
  ``async def`` and interleaved with grammar-generated statements, so rules
  see their constructs in contexts their authors did not write down.
"""

from __future__ import annotations

import ast
import io
import os
import tempfile
import textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nova_secaudit import cli  # noqa: E402
from nova_secaudit.engine import check  # noqa: E402
from nova_secaudit.rules import ALL_RULES  # noqa: E402
from nova_secaudit.settings import Settings  # noqa: E402

ALL_CODES = tuple(rule.code for rule in ALL_RULES)
EVERY_RULE = Settings(select=ALL_CODES)
MSGID_TO_CODE = {rule.pylint_msgid(): rule.code for rule in ALL_RULES}

QUICK = settings(max_examples=int(os.environ.get("NSA_PROPERTY_EXAMPLES",
                                                 "60")),
                 deadline=None, derandomize=bool(os.environ.get("CI")),
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.filter_too_much,
                                        HealthCheck.data_too_large])
SLOW = settings(QUICK, max_examples=max(QUICK.max_examples // 3, 10))

EXAMPLES = tuple(example.source for rule in ALL_RULES
                 for example in rule.bad + rule.good)

WRAPPERS = (
    "{body}",
    "def outer(self, context, instance):\n{body}",
    "async def outer(self):\n{body}",
    "class Manager(object):\n    def method(self, context):\n{body2}",
    "if CONF.enabled:\n{body}",
    "try:\n{body}\nexcept Exception:\n    pass",
    "with lock:\n{body}",
    "for instance in instances:\n{body}",
    "def outer():\n    def inner():\n{body2}\n    return inner",
)


def wrap(source: str, wrapper: str) -> str:
    if wrapper == "{body}":
        return source
    return wrapper.format(body=textwrap.indent(source, "    ") or "    pass",
                          body2=textwrap.indent(source, "        "))


@st.composite
def nova_shaped(draw, noise: bool = True) -> str:
    """Rule examples, composed, nested and interleaved with noise."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if noise and draw(st.integers(0, 4)) == 0:
            piece = draw(hypothesmith.from_grammar())
        else:
            piece = draw(st.sampled_from(EXAMPLES))
        parts.append(wrap(piece.rstrip("\n") + "\n",
                          draw(st.sampled_from(WRAPPERS))).rstrip() + "\n")
    source = "".join(parts)
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        assume(False)
    return source


def programs():
    return st.one_of(hypothesmith.from_grammar(), nova_shaped())


def assert_well_formed(findings, source: str) -> None:
    """Sorted, unique, and every position inside the text."""
    assert findings == sorted(set(findings))
    lines = source.splitlines() or [""]
    for found in findings:
        assert found.code in ALL_CODES
        assert 1 <= found.line <= len(lines) + 1, found
        if found.line <= len(lines):
            width = len(lines[found.line - 1].encode("utf-8"))
            assert 0 <= found.col <= width, found
        assert "\n" not in found.message


def parse_or_reject(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        assume(False)


def without_suppressions(source: str) -> str:
    # Parity inputs carry no suppressions (STYLE.md): each host applies
    # its own, so strip the comments that would make them differ.
    return source.replace("# noqa", "# no-qa").replace(
        "pylint:", "pylint-")


@QUICK
@given(programs())
def test_engine_never_raises_and_reports_well_formed_positions(source):
    tree = parse_or_reject(source)
    errors: list[str] = []
    findings = check(tree, "generated.py", EVERY_RULE, errors=errors)
    assert errors == [], errors
    assert_well_formed(findings, source)
    # Deterministic: a fresh tree gives the same answer.
    assert check(ast.parse(source), "generated.py", EVERY_RULE) == findings


@SLOW
@given(nova_shaped(noise=False))
def test_text_guided_searches_find_what_the_full_walk_finds(source):
    # Given the text, rules look only at statements on lines holding their
    # words (a log call's ``.warning(``, a shared name, a pool's name) and
    # skip modules without them; without it they walk every node. Both
    # must report the same: the text searches are a pure shortcut.
    tree = parse_or_reject(source)
    guided = check(tree, "generated.py", EVERY_RULE, source=source)
    assert check(ast.parse(source), "generated.py", EVERY_RULE) == guided


@QUICK
@given(nova_shaped(noise=False), st.sampled_from(["\n", "\r\n", "\r"]),
       st.booleans())
def test_line_endings_and_bom_do_not_move_findings(source, newline, bom):
    # The CLI reads bytes; what it finds must not depend on line endings
    # or a BOM (CPython treats them all alike).
    from nova_secaudit.runner import check_file

    source = without_suppressions(source)
    expected = check(ast.parse(source), "x.py", EVERY_RULE)
    data = source.replace("\n", newline).encode("utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "x.py")
        with open(path, "wb") as stream:
            stream.write((b"\xef\xbb\xbf" if bom else b"") + data)
        result = check_file(path, EVERY_RULE)
    assert result.error is None
    assert [(f.line, f.col, f.code) for f in result.findings] == \
        [(f.line, f.col, f.code) for f in expected]


# -- front ends ---------------------------------------------------------

def flake8_findings(path: str) -> set:
    from flake8.main.application import Application

    out = path + ".flake8"
    Application().run(["--isolated", f"--select={','.join(ALL_CODES)}",
                       f"--output-file={out}", path])
    with open(out, encoding="utf-8") as stream:
        text = stream.read()
    os.unlink(out)
    found = set()
    for line in text.splitlines():
        where, _, rest = line.rpartition(": NSA")
        _, row, col = where.rsplit(":", 2)
        found.add((int(row), int(col) - 1, "NSA" + rest.split()[0]))
    return found


def pylint_findings(path: str) -> set:
    from pylint.lint import Run
    from pylint.reporters.text import TextReporter

    out = io.StringIO()
    symbols = ",".join(rule.symbol for rule in ALL_RULES)
    Run(["--load-plugins=nova_secaudit.pylint_plugin", "--disable=all",
         f"--enable={symbols}", "-sn", "--score=n", "--persistent=n",
         "--msg-template={line}:{column}:{msg_id}", path],
        reporter=TextReporter(out), exit=False)
    found = set()
    for line in out.getvalue().splitlines():
        parts = line.split(":")
        if len(parts) == 3 and parts[2] in MSGID_TO_CODE:
            found.add((int(parts[0]), int(parts[1]),
                       MSGID_TO_CODE[parts[2]]))
    return found


def cli_findings(path: str) -> set:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["check", "--no-cache", "--jobs=1",
                         f"--select={','.join(ALL_CODES)}", path])
    assert err.getvalue() == "", err.getvalue()
    assert code in (cli.EXIT_CLEAN, cli.EXIT_FINDINGS)
    found = set()
    for line in out.getvalue().splitlines():
        where, _, rest = line.rpartition(": NSA")
        _, row, col = where.rsplit(":", 2)
        found.add((int(row), int(col) - 1, "NSA" + rest.split()[0]))
    return found


@pytest.mark.slow
@SLOW
@given(programs())
def test_flake8_pylint_and_cli_agree(source):
    source = without_suppressions(source)
    parse_or_reject(source)
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "generated_module.py")
        Path(path).write_text(source, encoding="utf-8")
        cli = cli_findings(path)
        assert flake8_findings(path) == cli
        assert pylint_findings(path) == cli


def test_parity_harness_sees_findings(tmp_path):
    # Guard against three empty sets agreeing: the harness must see a
    # finding where there is one.
    path = tmp_path / "bad.py"
    path.write_text("import futurist\nfuturist.ThreadPoolExecutor()\n")
    expected = {(2, 0, "NSA101")}
    assert expected <= cli_findings(str(path))
    assert expected <= flake8_findings(str(path))
    assert expected <= pylint_findings(str(path))


# -- fixes --------------------------------------------------------------

def fix_once(path: str):
    from nova_secaudit.fixing import FixOptions, fix_file, fixable_codes

    options = FixOptions(codes=fixable_codes(EVERY_RULE), write=True)
    return fix_file(path, EVERY_RULE, options)


@pytest.mark.slow
@SLOW
@given(programs())
def test_fix_output_parses_and_a_second_fix_is_a_no_op(source):
    parse_or_reject(source)
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "generated_module.py")
        Path(path).write_bytes(source.encode("utf-8"))
        first = fix_once(path)
        assert first.error is None, first.error
        fixed = Path(path).read_bytes().decode("utf-8")
        compile(ast.parse(fixed), path, "exec", dont_inherit=True)
        if not first.changed:
            assert fixed == source
        second = fix_once(path)
        assert second.error is None, second.error
        assert not second.changed, "a second fix changed the file again"
        assert Path(path).read_bytes().decode("utf-8") == fixed
        assert not [name for name in os.listdir(scratch)
                    if name.endswith(".nsa-tmp")]
