"""Fix safety (ruff's convention): ``fix`` applies safe fixes only,
``--unsafe-fixes`` adds the rest, the summary counts what was held back,
and reports state the safety of each finding's own fix. Judged by running
the fixed code: callers catching the original exception type still do."""

from __future__ import annotations

import json
import textwrap

import pytest

from nova_secaudit.cli import main

EXCEPTIONS = textwrap.dedent("""\
    class CellTimeout(Exception):
        pass


    class CellTimeoutInBuild(CellTimeout):
        pass


    def with_context(fn, cell):
        try:
            return fn()
        except Exception as exc:
            raise type(exc)('cell %s: %s' % (cell, exc))


    def own_text(fn):
        try:
            return fn()
        except Exception as exc:
            raise type(exc)(str(exc))
    """)


def load(path) -> dict:
    namespace: dict = {"__name__": "fixed_snippet"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def timing_out(namespace):
    def fn():
        raise namespace["CellTimeoutInBuild"]("cell1 did not respond")
    return fn


@pytest.fixture()
def module(tmp_path):
    path = tmp_path / "cells.py"
    path.write_text(EXCEPTIONS)
    return path


def test_default_fix_applies_only_the_type_keeping_fix(module, capsys):
    assert main(["fix", "--select", "NSA301", str(module)]) == 0
    out = capsys.readouterr().out
    assert "  NSA301: 1\n" in out
    assert "unsafe fixes held back: 1 (NSA301 x1;" in out
    text = module.read_text()
    assert "raise type(exc)('cell %s: %s' % (cell, exc))" in text
    assert "        raise\n" in text  # own_text: bare raise
    namespace = load(module)
    failing = timing_out(namespace)
    # Callers catching the original (sub)type still catch it, and get the
    # very object that was raised.
    with pytest.raises(namespace["CellTimeoutInBuild"],
                       match="^cell1 did not respond$"):
        namespace["own_text"](failing)
    with pytest.raises(namespace["CellTimeout"],
                       match="^cell c1: cell1 did not respond$"):
        namespace["with_context"](failing, "c1")


def test_unsafe_fix_changes_the_type_callers_catch(module, capsys):
    """Why ``raise <CaughtType>(...) from e`` is unsafe: under ``except
    Exception`` the caller's ``except CellTimeout`` stops matching."""
    assert main(["fix", "--select", "NSA301", "--unsafe-fixes",
                 str(module)]) == 0
    out = capsys.readouterr().out
    assert "  NSA301: 2\n" in out and "held back" not in out
    text = module.read_text()
    assert "raise Exception('cell %s: %s' % (cell, exc)) from exc" in text
    namespace = load(module)
    with pytest.raises(Exception) as raised:
        namespace["with_context"](timing_out(namespace), "c1")
    assert type(raised.value) is Exception
    assert not isinstance(raised.value, namespace["CellTimeout"])
    assert isinstance(raised.value.__cause__,
                      namespace["CellTimeoutInBuild"])


def test_json_report_states_each_findings_own_fix_safety(module, capsys):
    module.write_text(EXCEPTIONS + textwrap.dedent("""\


        def leak(fn):
            try:
                return fn()
            except Exception as exc:
                return {'error': str(exc)}
        """))
    main(["check", "--no-cache", "--format", "json", str(module)])
    records = json.loads(capsys.readouterr().out)["findings"]
    safety = {(r["code"], r["line"]): r["fix_safety"] for r in records}
    # The raised type(exc)(...) also carries the broad exception's text
    # to the caller (NSA303), which has no codemod.
    assert safety == {("NSA301", 13): "unsafe", ("NSA301", 20): "safe",
                      ("NSA303", 13): "none", ("NSA303", 20): "none",
                      ("NSA303", 27): "none"}
    for record in records:
        assert ("fix" in record) == (record["fix_safety"] != "none")


def test_unsafe_fix_prefers_logging_the_context_to_a_new_type(
        module, caplog):
    """With a logger, ``raise type(exc)(fmt % args)`` becomes the context
    logged at debug level and a bare raise: callers still catch the
    original type; only the message loses its added context."""
    module.write_text("import logging\n\nLOG = logging.getLogger("
                      "'nsa.cells')\n\n\n" + EXCEPTIONS)
    assert main(["fix", "--select", "NSA301", "--unsafe-fixes",
                 str(module)]) == 0
    assert "        LOG.debug('cell %s: %s', cell, exc)\n" \
           "        raise\n" in module.read_text()
    namespace = load(module)
    with caplog.at_level("DEBUG", logger="nsa.cells"):
        with pytest.raises(namespace["CellTimeoutInBuild"],
                           match="^cell1 did not respond$"):
            namespace["with_context"](timing_out(namespace), "c1")
    assert [r.getMessage() for r in caplog.records] == [
        "cell c1: cell1 did not respond"]
