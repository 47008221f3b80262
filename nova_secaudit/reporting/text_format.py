"""flake8-style lines: ``path:line:col: CODE message`` (col 1-based, as
flake8 prints it) and nothing else, so tools that read flake8 output read
ours: Zuul's tox role turns such lines (paths relative to the project root)
into inline Gerrit comments on the files a change touches."""

from __future__ import annotations

from nova_secaudit.source import printable_path


def render(report) -> str:
    lines = [f"{printable_path(found.path)}:{found.line}:{found.col + 1}: "
             f"{found.code} {found.message}"
             for found, _ in report.findings()]
    return "".join(line + "\n" for line in lines)
