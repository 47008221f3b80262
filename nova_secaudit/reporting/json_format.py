"""Machine-readable findings: one JSON document with every finding's
position, rule metadata, fingerprint and (where a codemod exists) fix."""

from __future__ import annotations

import json

from nova_secaudit import __version__
from nova_secaudit.reporting.fixes import finding_fix_safety, proposed_fix
from nova_secaudit.rules import RULES_BY_CODE
from nova_secaudit.source import printable_path


def finding_record(report, found, fingerprint) -> dict:
    rule = RULES_BY_CODE.get(found.code)
    record = {
        "path": printable_path(found.path),
        "line": found.line,
        "column": found.col + 1,
        "end_line": found.end_line,
        "end_column": found.end_col + 1,
        "code": found.code,
        "symbol": found.symbol,
        "message": found.message,
        "cwe": [f"CWE-{n}" for n in rule.cwe] if rule else [],
        "severity": rule.severity if rule else "warning",
        "fingerprint": fingerprint,
    }
    reason = found.fix_args.get("unfixable")
    if reason:  # why the codemod declines it, and where to look
        record["not_auto_fixable"] = reason
    fix = proposed_fix(report, found)
    record["fix_safety"] = finding_fix_safety(report, found, fix)
    if fix is not None:
        record["fix"] = {"diff": fix.diff,
                         "replacements": [r._asdict() for r in
                                          fix.replacements]}
    return record


def render(report) -> str:
    document = {
        "tool": "nova-secaudit",
        "version": __version__,
        "findings": [finding_record(report, found, fingerprint)
                     for found, fingerprint in report.findings()],
        "errors": [{"path": printable_path(path), "message": message}
                   for path, message in report.errors],
        "baseline_matched": report.baseline_matched,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
