"""GitHub Actions workflow commands: one ``::warning``/``::error``
annotation per finding, shown on the pull request's diff."""

from __future__ import annotations

from nova_secaudit.reporting import char_column
from nova_secaudit.rules import RULES_BY_CODE
from nova_secaudit.source import printable_path

_LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report) -> str:
    out = []
    for found, _ in report.findings():
        rule = RULES_BY_CODE.get(found.code)
        level = _LEVELS.get(rule.severity if rule else "warning", "warning")
        lines = report.lines(found.path)
        text = lines[found.line - 1] if found.line <= len(lines) else ""
        col = char_column(text, found.col) + 1
        props = [f"file={_property(printable_path(found.path))}",
                 f"line={found.line}",
                 f"col={col}"]
        if found.end_line and found.end_line != found.line:
            props.append(f"endLine={found.end_line}")
        props.append(f"title={_property(found.code + ' ' + found.symbol)}")
        out.append(f"::{level} {','.join(props)}::{_data(found.message)}")
    for path, message in report.errors:
        out.append(f"::error file={_property(printable_path(path))},"
                   f"title=nova-secaudit::{_data(message)}")
    return "".join(line + "\n" for line in out)
