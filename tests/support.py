"""Shared test helpers: inline expectation markers and engine runs.

Markers (STYLE.md): a trailing ``# expect: NSA101`` (comma-separated codes,
optional 1-based column ``NSA101:12``) on the reported line, or
``# expect+N: CODE`` for the line N below. Parsed with ``tokenize``.
"""

from __future__ import annotations

import ast
import io
import os
import pty
import re
import select
import subprocess
import sys
import tokenize
from pathlib import Path

from nova_secaudit.engine import check
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.settings import Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
EXPECTATIONS = Path(__file__).resolve().parent / "expectations"
ALL_CODES = tuple(rule.code for rule in ALL_RULES)
EVERY_RULE = Settings(select=ALL_CODES)  # opt-in rules included
DEFAULT = Settings()  # what a user gets without configuration

_MARKER = re.compile(r"#\s*expect(?:\+(?P<offset>\d+))?:\s*(?P<codes>[^#]+)")
_ENTRY = re.compile(r"(?P<code>NSA\d{3})(?::(?P<col>\d+))?$")


def parse_markers(source: str) -> set[tuple[int, int | None, str]]:
    """{(line, 1-based column or None, code)} from expectation comments."""
    expected = set()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _MARKER.search(token.string)
        if not match:
            continue
        line = token.start[0] + int(match.group("offset") or 0)
        for entry in match.group("codes").split(","):
            parsed = _ENTRY.match(entry.strip())
            if not parsed:
                raise ValueError(f"line {token.start[0]}: bad marker "
                                 f"{entry.strip()!r}")
            col = parsed.group("col")
            expected.add((line, int(col) if col else None,
                          parsed.group("code")))
    return expected


def marker_diff(source: str, path: str = "snippet.py",
                settings: Settings = DEFAULT,
                codes: tuple[str, ...] = ALL_CODES) -> list[str]:
    """Differences between markers and findings, as ``line:col CODE``.

    Only markers of registered rules in ``codes`` are compared, so a fixture
    can carry the markers of a family that is not registered yet.
    """
    expected = {m for m in parse_markers(source) if m[2].startswith(codes)
                and m[2] in ALL_CODES}
    found = [f for f in check(ast.parse(source), path, settings,
                              source=source)
             if f.code.startswith(codes)]
    missing, unexpected = [], []
    matched = set()
    for line, col, code in sorted(expected, key=lambda m: (m[0], m[2])):
        hit = next((f for f in found if f.line == line and f.code == code
                    and (col is None or f.col + 1 == col)
                    and f not in matched), None)
        if hit is None:
            missing.append(f"missing    {line}:{col or '*'} {code}")
        else:
            matched.add(hit)
    for f in found:
        if f not in matched:
            unexpected.append(f"unexpected {f.line}:{f.col + 1} {f.code} "
                              f"{f.message}")
    return missing + unexpected


def assert_markers(source: str, **kwargs) -> None:
    diff = marker_diff(source, **kwargs)
    assert not diff, "\n" + "\n".join(diff)


def run_cli_on_tty(cwd, *args, ci: str | None = None) -> tuple[str, str]:
    """Run the CLI with stderr on a pty (CI unset, or set to ``ci``);
    (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TERM"] = "xterm"
    if ci is not None:
        env["CI"] = ci
    process = subprocess.Popen(
        [sys.executable, "-m", "nova_secaudit.cli", *args], cwd=cwd,
        stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = process.communicate(timeout=60)
    os.close(master)
    return out.decode(), seen.decode(errors="replace")
