"""Hostile inputs: each gives one clear one-line error and the run goes on.

Every case writes the hostile file next to a healthy one that has a
finding, runs ``nova-secaudit check`` over the directory, and asserts that
the hostile file got exactly one ``path: error: <reason>`` line (no
traceback), that the healthy file was still checked, and that the exit
code is 2. Inputs that are odd but valid (BOM, CRLF, lone CR, a latin-1
cookie, an empty file) must instead be analysed, at the right positions.
"""

from __future__ import annotations

import ast
import faulthandler
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nova_secaudit import cli
from nova_secaudit.discovery import iter_python_files
from nova_secaudit.engine import check, internal_error
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.runner import check_file
from nova_secaudit.settings import Settings
from nova_secaudit.source import (
    SourceError, decode_source, load_module, parse_text, read_bytes)

EVERY_RULE = Settings(select=tuple(rule.code for rule in ALL_RULES))
HEALTHY = b"import futurist\nfuturist.ThreadPoolExecutor()\n"
HEALTHY_FINDING = "healthy.py:2:1: NSA101 "
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_check(root: Path, capsys, *extra: str):
    """(exit code, stdout lines, stderr lines) of ``check`` over ``root``."""
    code = cli.main(["check", "--select=NSA101", "--no-cache", "--jobs=1",
                     *extra, str(root)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out.splitlines(), err.splitlines()


def error_lines(err: list[str], root: Path) -> dict[str, str]:
    """{relative path: reason} from ``path: error: reason`` lines."""
    found = {}
    for line in err:
        match = re.fullmatch(r"(.+?): error: (.+)", line)
        assert match, f"not a one-line error: {line!r}"
        path = os.path.relpath(match.group(1), root)
        assert path not in found, f"two errors for {path}"
        found[path] = match.group(2)
    return found


def assert_one_error(root: Path, capsys, name: str, reason: str):
    (root / "healthy.py").write_bytes(HEALTHY)
    code, out, err = run_check(root, capsys)
    errors = error_lines(err, root)
    assert set(errors) == {name}, err
    assert re.search(reason, errors[name]), errors[name]
    assert any(HEALTHY_FINDING in line for line in out), \
        "the run did not go on to the healthy file"
    assert code == cli.EXIT_ERROR


def deep_if_chain(depth: int) -> bytes:
    lines = [" " * i + f"if x{i}:" for i in range(depth)]
    return ("\n".join(lines) + "\n" + " " * depth + "pass\n").encode()


def long_elif_chain(length: int) -> bytes:
    return ("if x:\n    pass\n" + "".join(
        f"elif x{i}:\n    pass\n" for i in range(length))).encode()


# (test id, file content, regex the one-line reason must match)
BAD_CONTENT = [
    ("syntax-error", b"def f(:\n    pass\n",
     r"^syntax error at line 1, column \d+: invalid syntax$"),
    ("unclosed-bracket", b"x = [1,\n",
     r"^syntax error at line 1, column \d+: '\[' was never closed$"),
    ("invalid-utf8-first-line", b'x = "\xff\xfe"\n',
     r"^not valid utf-8 at line 1 \(byte 5\): invalid start byte$"),
    ("invalid-utf8-late-line", b"a = 1\nb = 2\nc = 3\nd = '\xe9t\xe9'\n",
     r"^not valid utf-8 at line 4 \(byte 23\): invalid continuation byte$"),
    ("unknown-coding-cookie", b"# -*- coding: klingon -*-\nx = 1\n",
     r"^bad encoding declaration: unknown encoding: klingon$"),
    ("cookie-contradicts-content", b"# coding: ascii\nx = '\xc3\xa9'\n",
     r"^not valid ascii at line 2 \(byte 21\): ordinal not in range"),
    ("bom-with-latin1-cookie", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
     r"^bad encoding declaration: encoding problem: "),
    ("nul-bytes", b"x = 1\ny = 2\x00\n",
     r"^NUL byte at line 2; not Python source$"),
    ("nul-bytes-only", b"\x00" * 64,
     r"^NUL byte at line 1; not Python source$"),
    ("10000-nested-parentheses",
     b"x = " + b"(" * 10000 + b"1" + b")" * 10000 + b"\n",
     r"^syntax error at line 1, column \d+: too many nested parentheses$"),
    ("500-deep-if-chain", deep_if_chain(500),
     r"^syntax error at line \d+, column \d+: too many levels of "
     r"indentation$"),
    ("5000-long-elif-chain", long_elif_chain(5000),
     r"^too deeply nested to parse$"),
    ("5000-nested-lambdas", b"f = " + b"lambda: " * 5000 + b"1\n",
     r"^too deeply nested to parse$"),
    ("100000-attribute-chain", b"x = a" + b".b" * 100000 + b"\n",
     r"^too deeply nested to parse$"),
]


@pytest.mark.parametrize("content,reason", [c[1:] for c in BAD_CONTENT],
                         ids=[c[0] for c in BAD_CONTENT])
def test_bad_content_is_one_line_error(tmp_path, capsys, content, reason):
    (tmp_path / "hostile.py").write_bytes(content)
    assert_one_error(tmp_path, capsys, "hostile.py", reason)


def test_50mb_file_is_refused_without_reading_it(tmp_path, capsys):
    line = b"x = 1  # " + b"a" * 70 + b"\n"
    with open(tmp_path / "huge.py", "wb") as stream:
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            stream.write(line)
    assert os.path.getsize(tmp_path / "huge.py") > 50 * 1024 * 1024
    assert_one_error(tmp_path, capsys, "huge.py",
                     r"^file too large \(\d+ bytes; limit \d+\)$")


def test_file_limit_is_bytes_read_not_stat_size(tmp_path):
    # A file that grows between stat() and read() is still cut off.
    path = tmp_path / "grows.py"
    path.write_bytes(b"x = 1\n" * 10)
    with pytest.raises(SourceError, match="file too large"):
        read_bytes(str(path), max_bytes=20)
    assert read_bytes(str(path), max_bytes=60) == b"x = 1\n" * 10


def test_symlink_loop_is_one_line_error(tmp_path, capsys):
    os.symlink("loop.py", tmp_path / "loop.py")
    assert_one_error(tmp_path, capsys, "loop.py",
                     r"^cannot read: symbolic link loop$")


def test_dangling_symlink_is_one_line_error(tmp_path, capsys):
    os.symlink("missing_target.py", tmp_path / "dangling.py")
    assert_one_error(tmp_path, capsys, "dangling.py",
                     r"^cannot read: No such file or directory$")


def test_directory_symlink_loop_is_not_followed(tmp_path, capsys):
    (tmp_path / "pkg").mkdir()
    os.symlink("..", tmp_path / "pkg" / "up")
    os.symlink("up", tmp_path / "pkg" / "up.py")  # a directory named *.py
    (tmp_path / "healthy.py").write_bytes(HEALTHY)
    code, out, err = run_check(tmp_path, capsys)
    # Links to directories are not followed: the walk ends, and the
    # healthy file is reported once, not once per trip round the loop.
    assert err == []
    assert len(out) == 1 and HEALTHY_FINDING in out[0]
    assert code == cli.EXIT_FINDINGS


def test_directory_named_x_py_is_walked_not_read(tmp_path, capsys):
    (tmp_path / "x.py").mkdir()
    (tmp_path / "x.py" / "inner.py").write_bytes(HEALTHY)
    (tmp_path / "healthy.py").write_bytes(HEALTHY)
    code, out, err = run_check(tmp_path, capsys)
    assert err == []
    assert sorted(os.path.relpath(line.split(":")[0], tmp_path)
                  for line in out) == ["healthy.py", "x.py/inner.py"]
    assert code == cli.EXIT_FINDINGS
    # Named on the command line it is walked too; read directly it is a
    # one-line error, never IsADirectoryError.
    assert [p for p, _ in iter_python_files([str(tmp_path / "x.py")])] == \
        [str(tmp_path / "x.py" / "inner.py")]
    with pytest.raises(SourceError, match="^is a directory$"):
        load_module(str(tmp_path / "x.py"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_x_py_is_not_opened(tmp_path, capsys):
    # Opening a FIFO for reading blocks until a writer comes: never open.
    os.mkfifo(tmp_path / "pipe.py")
    assert_one_error(tmp_path, capsys, "pipe.py", r"^not a regular file$")


def test_empty_file_is_clean(tmp_path, capsys):
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "blank.py").write_bytes(b"\n\n   \n")
    code, out, err = run_check(tmp_path, capsys)
    assert (code, out, err) == (cli.EXIT_CLEAN, [], [])


def test_every_rule_copes_with_empty_module():
    errors = []
    assert check(ast.parse(""), "empty.py", EVERY_RULE, errors=errors) == []
    assert errors == []


def _unreadable(tmp_path: Path) -> None:
    """tmp_path/secret.py, which open() refuses with EACCES."""
    if not IS_ROOT:
        (tmp_path / "secret.py").write_bytes(HEALTHY)
        (tmp_path / "secret.py").chmod(0o000)
    elif os.path.exists("/proc/sys/vm/drop_caches"):
        # Root reads any mode-000 file, but not a write-only sysctl (a
        # regular file of size 0 that open() for reading refuses).
        os.symlink("/proc/sys/vm/drop_caches", tmp_path / "secret.py")
    else:
        pytest.skip("no file here that root cannot read")


def test_unreadable_file(tmp_path, capsys):
    _unreadable(tmp_path)
    try:
        assert_one_error(tmp_path, capsys, "secret.py",
                         r"^cannot read: Permission denied$")
    finally:
        if not (tmp_path / "secret.py").is_symlink():
            (tmp_path / "secret.py").chmod(0o644)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"),
                    reason="needs Linux /proc")
def test_read_failing_with_io_error(tmp_path, capsys):
    # stat() says a regular file; read() fails with EIO.
    os.symlink("/proc/self/mem", tmp_path / "broken.py")
    assert_one_error(tmp_path, capsys, "broken.py",
                     r"^cannot read: Input/output error$")


def test_unlistable_directory(tmp_path, capsys, monkeypatch):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "inner.py").write_bytes(HEALTHY)
    if IS_ROOT:  # root lists a mode-000 directory: refuse it ourselves
        real_scandir = os.scandir

        def scandir(path="."):
            if os.fspath(path) == str(hidden):
                raise PermissionError(13, "Permission denied", str(hidden))
            return real_scandir(path)
        monkeypatch.setattr(os, "scandir", scandir)
    else:
        hidden.chmod(0o000)
    try:
        assert_one_error(tmp_path, capsys, "hidden",
                         r"^cannot list directory: Permission denied$")
    finally:
        hidden.chmod(0o755)


def test_non_utf8_file_name_is_printed_not_crashed_on(tmp_path):
    if sys.platform == "darwin":
        pytest.skip("macOS file systems refuse non-UTF-8 names")
    name = b"bad\xffname.py"
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as stream:
        stream.write(HEALTHY)
    with open(os.path.join(os.fsencode(tmp_path), b"syn\xfe.py"), "wb") as s:
        s.write(b"x = (\n")
    # A strict UTF-8 stdout, as on a UTF-8 terminal.
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check",
         "--select=NSA101", str(tmp_path)], capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict",
             "LC_ALL": "C.UTF-8"}, timeout=120)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "Traceback" not in err, err
    assert "bad\\xffname.py:2:1: NSA101" in out
    assert err.count("\n") == 1 and "syn\\xfe.py: error: syntax error" in err
    assert done.returncode == cli.EXIT_ERROR


# Odd but valid: analysed, at the positions CPython itself gives.
VALID_ODDITIES = [
    ("utf8-bom", b"\xef\xbb\xbf" + HEALTHY, (2, 0)),
    ("crlf", HEALTHY.replace(b"\n", b"\r\n"), (2, 0)),
    ("lone-cr", HEALTHY.replace(b"\n", b"\r"), (2, 0)),
    ("mixed-endings",
     b"import futurist\r\n\rx = 1\n  # c\r\nfuturist.ThreadPoolExecutor()\n",
     (5, 0)),
    ("bom-and-crlf", b"\xef\xbb\xbf" + HEALTHY.replace(b"\n", b"\r\n"),
     (2, 0)),
    ("latin1-cookie",
     b"# -*- coding: latin-1 -*-\nimport futurist\nname = '\xe9t\xe9'; "
     b"futurist.ThreadPoolExecutor()\n", (3, 16)),
    ("utf8-before-call",
     "import futurist\nnom = 'été'; futurist.ThreadPoolExecutor()\n"
     .encode(), (2, 15)),
    ("no-trailing-newline", HEALTHY.rstrip(b"\n"), (2, 0)),
    ("tabs-and-trailing-backslash",
     b"import futurist\nif True:\n\tx = \\\n"
     b"\t  futurist.ThreadPoolExecutor()\n",
     (4, 3)),
    ("form-feed", b"import futurist\n\x0c\nfuturist.ThreadPoolExecutor()\n",
     (3, 0)),
]


@pytest.mark.parametrize("content,position", [c[1:] for c in VALID_ODDITIES],
                         ids=[c[0] for c in VALID_ODDITIES])
def test_odd_but_valid_source_is_analysed(tmp_path, content, position):
    path = tmp_path / "odd.py"
    path.write_bytes(content)
    result = check_file(str(path), EVERY_RULE)
    assert result.error is None
    nsa101 = [(f.line, f.col) for f in result.findings if f.code == "NSA101"]
    assert nsa101 == [position]
    # The same (line, byte column) CPython's own compile() reports.
    tree = ast.parse(content)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert (call.lineno, call.col_offset) == position


def test_decode_source_strips_bom_once():
    assert decode_source(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"
    assert decode_source(b"\xef\xbb\xbf\xef\xbb\xbfx\n") == "\ufeffx\n"


def test_parse_text_never_leaks_recursion_error():
    # ast.parse raises RecursionError during AST construction; we say why.
    source = "x = " + "-" * 20000 + "1\n"
    with pytest.raises(SourceError, match="^too deeply nested to parse$"):
        parse_text(source, "deep.py")


def test_engine_survives_deepest_tree_ast_parse_accepts():
    # About 3 x the recursion limit is as deep as ast.parse goes; a rule
    # that recursed over it would fail. Nothing may escape check().
    length = 100
    while True:
        try:
            tree = ast.parse(long_elif_chain(length * 2))
        except (RecursionError, MemoryError):
            break
        length *= 2
        if length > 100000:
            break
    tree = ast.parse(b"import futurist\n" + long_elif_chain(length).replace(
        b"pass", b"futurist.ThreadPoolExecutor()"))
    errors = []
    found = check(tree, "deep.py", EVERY_RULE, errors=errors)
    assert errors == []
    assert sum(f.code == "NSA101" for f in found) == length + 1


class _Exploding:
    """A rule instance whose visitor fails on the second Call it sees."""

    def __init__(self, rule, exc):
        self.rule, self.exc, self.seen = rule, exc, 0
        self.code = rule.code
        self.node_types = rule.node_types
        self.statement_only = rule.statement_only
        self.applies = rule.applies

    def __getattr__(self, name):
        visit = getattr(self.rule, name)
        if not name.startswith("visit_"):
            return visit

        def wrapped(node, facts):
            self.seen += 1
            if self.seen == 2:
                raise self.exc
            return visit(node, facts)
        return wrapped


@pytest.mark.parametrize("exc", [
    KeyError("x"), RecursionError("maximum recursion depth exceeded"),
    AttributeError("'NoneType' object has no attribute 'id'\nsecond line"),
], ids=["key-error", "recursion-error", "multi-line-message"])
def test_rule_internal_error_is_one_line_and_others_still_run(exc):
    source = ("import futurist\nfuturist.ThreadPoolExecutor()\n"
              "futurist.ThreadPoolExecutor()\n")
    tree = ast.parse(source)
    rules = [rule(EVERY_RULE) for rule in ALL_RULES]
    victim = next(r for r in rules if r.code == "NSA101")
    others = [r for r in rules if r is not victim]
    rules[rules.index(victim)] = _Exploding(victim, exc)
    errors = []
    found = check(tree, "boom.py", EVERY_RULE, rules, errors=errors)
    assert len(errors) == 1
    assert re.fullmatch(rf"internal error in NSA101: {type(exc).__name__}: "
                        r"[^\n]+ \(line 3\)", errors[0]), errors[0]
    # NSA101's partial findings are dropped; every other rule's are kept.
    assert all(f.code != "NSA101" for f in found)
    assert found == check(tree, "boom.py", EVERY_RULE, others)


def test_rule_internal_error_reaches_the_cli_as_one_line(
        tmp_path, capsys, monkeypatch):
    from nova_secaudit.rules import executors
    rule = next(r for r in executors.RULES if r.code == "NSA101")

    def broken(self, node, facts):
        raise ZeroDivisionError("division by zero")
        yield  # a generator, like every visitor

    monkeypatch.setattr(rule, "visit_Call", broken)
    (tmp_path / "a.py").write_bytes(HEALTHY)
    code, out, err = run_check(tmp_path, capsys, "--select=NSA101")
    assert error_lines(err, tmp_path) == {
        "a.py": "internal error in NSA101: ZeroDivisionError: division by "
                "zero (line 2)"}
    assert out == [] and code == cli.EXIT_ERROR


def test_internal_error_text_is_bounded():
    text = internal_error("NSA999", ValueError("x" * 1000 + "\n" + "y"))
    assert "\n" not in text and len(text) < 220


def test_rule_internal_error_does_not_crash_flake8_plugin(monkeypatch,
                                                          caplog):
    from nova_secaudit.flake8_plugin import NovaSecAuditPlugin
    from nova_secaudit.rules import executors
    rule = next(r for r in executors.RULES if r.code == "NSA101")

    def broken(self, node, facts):
        raise IndexError("list index out of range")
        yield

    monkeypatch.setattr(rule, "visit_Call", broken)
    monkeypatch.setattr(NovaSecAuditPlugin, "settings", EVERY_RULE)
    tree = ast.parse(HEALTHY.decode())
    with caplog.at_level("ERROR", logger="nova_secaudit"):
        reported = list(NovaSecAuditPlugin(tree, "boom.py").run())
    # flake8 gets the other rules' findings; the failure is one log line.
    assert all(not message.startswith("NSA101") for _, _, message, _
               in reported)
    assert any(message.startswith("NSA102") for _, _, message, _
               in reported)
    assert [r.getMessage() for r in caplog.records] == [
        "boom.py: internal error in NSA101: IndexError: list index out of "
        "range (line 2)"]


@pytest.mark.parametrize("hook", ["applies", "line_words"])
def test_rule_hook_internal_error_is_one_line(hook, monkeypatch):
    from nova_secaudit.rules import executors
    rule = next(r for r in executors.RULES if r.code == "NSA101")

    def broken(self, facts):
        raise ValueError("bad trigger")

    monkeypatch.setattr(rule, hook, broken)
    tree = ast.parse(HEALTHY.decode())
    errors = []
    found = check(tree, "hook.py", EVERY_RULE, errors=errors,
                  source=HEALTHY.decode())
    assert errors == ["internal error in NSA101: ValueError: bad trigger"]
    codes = {f.code for f in found}
    assert "NSA102" in codes
    # A failing trigger only costs speed: the rule still runs on all nodes.
    assert ("NSA101" in codes) == (hook == "line_words")


@pytest.mark.parametrize("content,position", [c[1:] for c in VALID_ODDITIES],
                         ids=[c[0] for c in VALID_ODDITIES])
def test_front_ends_agree_on_odd_but_valid_source(tmp_path, content,
                                                  position):
    frontends = pytest.importorskip("test_properties")
    path = tmp_path / "odd.py"
    path.write_bytes(content)
    cli_found = frontends.cli_findings(str(path))
    assert (*position, "NSA101") in cli_found
    assert frontends.flake8_findings(str(path)) == cli_found
    assert frontends.pylint_findings(str(path)) == cli_found


@pytest.mark.skipif(
    __import__("multiprocessing").get_start_method() != "fork",
    reason="the patched worker must be inherited by fork")
def test_dead_worker_process_loses_only_its_file(tmp_path, capsys,
                                                 monkeypatch):
    from nova_secaudit import runner
    real_check_file = runner.check_file

    def dies_on_killer(path, *args, **kwargs):
        if path.endswith("killer.py"):
            os._exit(9)  # as the OOM killer or a crash in C code would
        return real_check_file(path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_file", dies_on_killer)
    for index in range(40):
        (tmp_path / f"mod_{index:02d}.py").write_bytes(HEALTHY)
    (tmp_path / "mod_17_killer.py").write_bytes(HEALTHY)
    code, out, err = run_check(tmp_path, capsys, "--jobs=2")
    assert error_lines(err, tmp_path) == {
        "mod_17_killer.py": "worker process died (exit status 9) while "
                            "checking this file"}
    assert len(out) == 40 and all(HEALTHY_FINDING[-12:] in line
                                  for line in out)
    assert code == cli.EXIT_ERROR


# -- libcst crashes and hangs: one file lost, never the run -------------

FIXABLE = b"import futurist\nfuturist.ThreadPoolExecutor()\n"
# libcst's native parser overflows its stack on this (signal 11).
AND_CHAIN = FIXABLE + b"x = " + b" and ".join([b"a"] * 10000) + b"\n"


def cli_run(cwd: Path, *args: str, timeout: float = 300):
    done = subprocess.run([sys.executable, "-m", "nova_secaudit.cli", *args],
                          cwd=cwd, capture_output=True, timeout=timeout)
    out = done.stdout.decode("utf-8")
    err = done.stderr.decode("utf-8")
    assert "Traceback" not in out + err, err
    return done.returncode, out, err


@pytest.mark.parametrize("fmt", ["json", "sarif", "html"])
def test_libcst_crash_in_a_report_costs_only_that_files_fixes(tmp_path,
                                                              fmt):
    import json

    (tmp_path / "crash.py").write_bytes(AND_CHAIN)
    (tmp_path / "healthy.py").write_bytes(FIXABLE)
    code, out, err = cli_run(tmp_path, "check", "--jobs=1", "--no-cache",
                             "--select=NSA101", "--format", fmt,
                             "crash.py", "healthy.py")
    assert err == ("crash.py: error: worker process crashed (SIGSEGV) "
                   "while computing fixes; findings reported without "
                   "fixes\n")
    assert code == cli.EXIT_ERROR
    if fmt == "json":
        findings = json.loads(out)["findings"]
        assert [(f["path"], "fix" in f) for f in findings] == [
            ("crash.py", False), ("healthy.py", True)]
    elif fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert [("fixes" in r, r["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"]) for r in results] == [
            (False, "crash.py"), (True, "healthy.py")]
    else:
        assert out.count("Proposed fix") == 1
        assert out.count('class="finding"') == 2


def test_libcst_crash_in_fix_costs_only_that_file(tmp_path):
    (tmp_path / "a_crash.py").write_bytes(AND_CHAIN)
    (tmp_path / "b_healthy.py").write_bytes(FIXABLE)
    code, out, err = cli_run(tmp_path, "fix", "--jobs=1", "--select=NSA101",
                             ".")
    assert "  ./a_crash.py: worker process crashed (SIGSEGV) while fixing " \
        "this file; left as it was\n" in out
    assert (tmp_path / "a_crash.py").read_bytes() == AND_CHAIN
    assert b"max_workers=8" in (tmp_path / "b_healthy.py").read_bytes()
    assert code == 2


@pytest.mark.parametrize("name,content", [
    ("list", FIXABLE + b"x = [" + b", ".join([b"1"] * 333000) + b"]\n"),
    ("comparisons", FIXABLE + b"x = " + b" < ".join([b"a"] * 100000)
     + b"\n"),
])
def test_slow_libcst_file_is_given_up_on_alone(tmp_path, name, content):
    # 1 MB one-line list: minutes in libcst; 100k comparisons: ~20 s.
    (tmp_path / "a_slow.py").write_bytes(content)
    (tmp_path / "b_healthy.py").write_bytes(FIXABLE)
    started = time.monotonic()
    code, out, err = cli_run(tmp_path, "fix", "--jobs=1", "--select=NSA101",
                             "--file-timeout=2", ".")
    assert time.monotonic() - started < 60
    assert "  ./a_slow.py: gave up after 2 s (--file-timeout) while fixing " \
        "this file; left as it was\n" in out
    assert (tmp_path / "a_slow.py").read_bytes() == content
    assert b"max_workers=8" in (tmp_path / "b_healthy.py").read_bytes()
    assert code == 2


def test_file_timeout_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["fix", "--file-timeout=0", str(tmp_path)])
    assert exited.value.code == 2
    assert "is not a positive number of seconds" in capsys.readouterr().err


# -- reports and baselines: one-line errors, never a traceback ----------

def non_utf8_tree(root: Path) -> None:
    with open(os.path.join(os.fsencode(root), b"bad\xffname.py"),
              "wb") as stream:
        stream.write(FIXABLE)
    os.symlink("loop.py", root / "loop.py")


@pytest.mark.skipif(sys.platform == "darwin",
                    reason="macOS file systems refuse non-UTF-8 names")
@pytest.mark.parametrize("fmt", ["json", "sarif", "html", "github"])
@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "output"])
def test_reports_of_non_utf8_names_and_link_loops(tmp_path, fmt, to_file):
    import json

    tree = tmp_path / "tree"
    tree.mkdir()
    non_utf8_tree(tree)
    report = tmp_path / "report"
    args = ["check", "--jobs=1", "--no-cache", "--select=NSA101",
            "--format", fmt, "tree"]
    code, out, err = cli_run(tmp_path, *args, *(
        ["--output", str(report)] if to_file else []))
    assert err == "tree/loop.py: error: cannot read: symbolic link loop\n"
    assert code == cli.EXIT_ERROR
    text = report.read_bytes().decode("utf-8") if to_file else out
    assert "\udcff" not in text
    if fmt == "json":
        assert [f["path"] for f in json.loads(text)["findings"]] == [
            "tree/bad\\xffname.py"]
    elif fmt == "sarif":
        run = json.loads(text)["runs"][0]
        assert run["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"] == "tree/bad%FFname.py"
        assert run["invocations"][0]["toolExecutionNotifications"][0][
            "locations"][0]["physicalLocation"]["artifactLocation"][
            "uri"].endswith("tree/loop.py")
    else:
        assert "tree/bad\\xffname.py" in text


def test_newline_in_a_file_name_cannot_forge_a_finding(tmp_path, capsys):
    forged = "x.py:1:1: NSA101 forged\nreal"
    (tmp_path / f"{forged}.py").write_bytes(FIXABLE)
    (tmp_path / "bad\x1b[2K.py").write_bytes(b"x = (\n")
    code, out, err = run_check(tmp_path, capsys)
    assert len(out) == 1 and out[0].startswith(
        f"{tmp_path}/x.py:1:1: NSA101 forged\\nreal.py:2:1: NSA101 ")
    assert err == [f"{tmp_path}/bad\\x1b[2K.py: error: syntax error at line "
                   "1, column 5: '(' was never closed"]
    for fmt in ("json", "sarif", "html", "github"):
        cli.main(["check", "--select=NSA101", "--no-cache", "--jobs=1",
                  "--no-fixes", "--format", fmt, str(tmp_path)])
        report = capsys.readouterr().out
        assert "forged\n" not in report and "\x1b" not in report, fmt


@pytest.mark.parametrize("content,message", [
    (b"[" * 100000 + b"]" * 100000, "not a baseline (JSON nested too "
                                    "deeply)"),
    (b'{"version": 1, "findings": [1, [2], "x"]}',
     "baseline entry without a fingerprint"),
    (b"\xff\xfe", "not a baseline (bad JSON: "),
])
def test_hostile_baseline_is_one_line_usage_error(tmp_path, capsys, content,
                                                  message):
    (tmp_path / "a.py").write_bytes(FIXABLE)
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(content)
    code = cli.main(["check", "--no-cache", "--jobs=1", "--baseline",
                     str(baseline), str(tmp_path / "a.py")])
    err = capsys.readouterr().err
    assert err.startswith(f"nova-secaudit: error: {baseline}: {message}")
    assert err.count("\n") == 1 and code == cli.EXIT_ERROR


@pytest.mark.parametrize("where", ["missing/baseline.json", "."])
def test_write_baseline_where_it_cannot_be_written(tmp_path, capsys, where):
    (tmp_path / "a.py").write_bytes(FIXABLE)
    target = tmp_path / where
    code = cli.main(["check", "--no-cache", "--jobs=1", "--write-baseline",
                     str(target), str(tmp_path / "a.py")])
    err = capsys.readouterr().err
    assert err.startswith(f"nova-secaudit: error: {target}: cannot write "
                          "baseline: ")
    assert err.count("\n") == 1 and code == cli.EXIT_ERROR


def test_internal_crash_has_its_own_exit_code(tmp_path, capsys,
                                              monkeypatch):
    (tmp_path / "a.py").write_bytes(FIXABLE)

    def broken(*args, **kwargs):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(cli, "check_paths", broken)
    monkeypatch.delenv("NOVA_SECAUDIT_TRACEBACK", raising=False)
    code = cli.main(["check", "--no-cache", str(tmp_path)])
    assert code == cli.EXIT_CRASH == 70
    assert capsys.readouterr().err == (
        "nova-secaudit: internal error: KeyError: 'a bug of ours' (a bug "
        "in nova-secaudit; exit 70; rerun with --traceback for details)\n")
    with pytest.raises(KeyError):
        cli.main(["--traceback", "check", "--no-cache", str(tmp_path)])
    monkeypatch.setenv("NOVA_SECAUDIT_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli.main(["check", "--no-cache", str(tmp_path)])


# -- the isolated worker pool -------------------------------------------

def _square_or_misbehave(item: int, crash_on: int, hang_on: int) -> int:
    if item == crash_on:
        faulthandler.disable()  # pytest's dump would only be noise
        os.kill(os.getpid(), signal.SIGSEGV)  # as libcst's parser does
    if item == hang_on:
        time.sleep(600)
    if item == 7:
        raise KeyError("bug")
    return item * item


@pytest.mark.parametrize("jobs,chunk", [(1, 1), (1, 16), (2, 4)])
def test_isolated_pool_blames_exactly_the_item_at_fault(jobs, chunk):
    from nova_secaudit.parallel import map_in_order

    started = time.monotonic()
    results = list(map_in_order(
        _square_or_misbehave, list(range(20)), (5, 13), jobs,
        lambda item, reason: (item, reason), chunk, isolate=True,
        timeout=1.5))
    assert time.monotonic() - started < 30
    expected = [i * i for i in range(20)]
    expected[5] = (5, "worker process crashed (SIGSEGV)")
    expected[7] = (7, "internal error: KeyError: 'bug'")
    expected[13] = (13, "gave up after 1.5 s (--file-timeout)")
    assert results == expected


ORPHANED_WORKER = """
import sys
from nova_secaudit.parallel import _Worker

worker = _Worker(str.upper, ())
print(worker.process.pid, flush=True)
sys.stdin.read()  # until the test kills this process
"""


def test_worker_of_a_killed_parent_leaves_instead_of_waiting(tmp_path):
    """A run killed by a signal (CI's timeout, Ctrl-\\) closes no pipe: its
    forked workers hold copies of both ends, so they must notice that
    they were re-parented and leave."""
    parent = subprocess.Popen([sys.executable, "-c", ORPHANED_WORKER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(worker):
        time.sleep(0.1)
    assert not _running(worker), "the orphaned worker is still running"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
