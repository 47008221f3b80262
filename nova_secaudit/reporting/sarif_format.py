"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Rule metadata carries the help text of ``nova-secaudit explain`` (text and
markdown), CWE tags and a severity; each result carries a stable
``partialFingerprints`` entry and, where a codemod exists, its fix as SARIF
``fixes`` with the replacement text. Columns are Unicode code points
(``columnKind``), converted from the engine's UTF-8 byte offsets.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

from nova_secaudit import __version__
from nova_secaudit.docs import render_rule_markdown, render_text
from nova_secaudit.reporting import char_column
from nova_secaudit.reporting.fixes import finding_fix_safety, proposed_fix
from nova_secaudit.rules import ALL_RULES, RULES_BY_CODE

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
              "schemas/sarif-schema-2.1.0.json")
FINGERPRINT_KEY = "nsaFingerprint/v1"
SRCROOT = "%SRCROOT%"
# GitHub ranks security alerts by this CVSS-like score.
_SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "note": "2.0"}


def rule_descriptor(rule) -> dict:
    doc = rule.doc_sections()
    return {
        "id": rule.code,
        "name": "".join(p.capitalize() for p in rule.symbol.split("-")),
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": doc.get("Why this is bad", "")},
        "help": {"text": render_text(rule),
                 "markdown": render_rule_markdown(rule)},
        "defaultConfiguration": {"level": rule.severity,
                                 "enabled": rule.default_enabled},
        "properties": {
            "tags": ["security"] + [f"external/cwe/cwe-{n}"
                                    for n in rule.cwe],
            "cwe": [f"CWE-{n}" for n in rule.cwe],
            "symbol": rule.symbol,
            "pylintMessageId": rule.pylint_msgid(),
            "fixSafety": rule.fix.value,
            "precision": "high",
            "problem.severity": rule.severity,
            "security-severity": _SECURITY_SEVERITY.get(rule.severity,
                                                        "5.0"),
        },
    }


def artifact_location(path: str) -> dict:
    """Relative paths under %SRCROOT% (the working directory).

    URIs quote the file name's bytes, so a name that is not UTF-8 or holds
    control characters stays exact and on one line; ``realpath`` (unlike
    ``Path.resolve``) gives up quietly on a symbolic-link loop.
    """
    absolute = os.path.realpath(path)
    relative = os.path.relpath(absolute, os.path.realpath(os.curdir))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return {"uri": Path(absolute).as_uri()}
    return {"uri": urllib.parse.quote(os.fsencode(Path(relative).as_posix())),
            "uriBaseId": SRCROOT}


def _region(report, found) -> dict:
    lines = report.lines(found.path)

    def text(line: int) -> str:
        return lines[line - 1] if 0 < line <= len(lines) else ""

    region = {"startLine": found.line,
              "startColumn": char_column(text(found.line), found.col) + 1}
    if found.end_line:
        region["endLine"] = found.end_line
        region["endColumn"] = char_column(text(found.end_line),
                                          found.end_col) + 1
    snippet = text(found.line)
    if snippet:
        region["snippet"] = {"text": snippet}
    return region


def _offsets(text: str) -> list[int]:
    """Character offset of the start of each line (1-based index - 1)."""
    offsets, total = [0], 0
    for line in text.splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


def _fixes(report, found) -> list:
    proposal = proposed_fix(report, found)
    if proposal is None:
        return []
    starts = _offsets(report.source(found.path) or "")
    changes = [{
        "deletedRegion": {
            "charOffset": starts[r.start_line - 1],
            "charLength": starts[r.end_line - 1] - starts[r.start_line - 1]},
        "insertedContent": {"text": r.text},
    } for r in proposal.replacements]
    return [{"description": {"text": proposal.description},
             "artifactChanges": [{
                 "artifactLocation": artifact_location(found.path),
                 "replacements": changes}]}]


def sarif_document(report) -> dict:
    index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
    results = []
    for found, fingerprint in report.findings():
        rule = RULES_BY_CODE.get(found.code)
        result = {
            "ruleId": found.code,
            "level": rule.severity if rule else "warning",
            "message": {"text": found.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact_location(found.path),
                "region": _region(report, found)}}],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        }
        if found.code in index:
            result["ruleIndex"] = index[found.code]
        properties = {"fixSafety": finding_fix_safety(
            report, found, proposed_fix(report, found))}
        reason = found.fix_args.get("unfixable")
        if reason:  # why the codemod declines it, and where to look
            properties["notAutoFixable"] = reason
        result["properties"] = properties
        fixes = _fixes(report, found)
        if fixes:
            result["fixes"] = fixes
        results.append(result)
    notifications = [{
        "level": "error",
        "message": {"text": message},
        "locations": [{"physicalLocation": {
            "artifactLocation": artifact_location(path)}}],
    } for path, message in report.errors]
    cwd_uri = Path.cwd().resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nova-secaudit",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(rule) for rule in ALL_RULES],
            }},
            "invocations": [{
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": notifications,
                "workingDirectory": {"uri": cwd_uri},
            }],
            "originalUriBaseIds": {SRCROOT: {"uri": cwd_uri}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(report) -> str:
    return json.dumps(sarif_document(report), indent=2,
                      ensure_ascii=False) + "\n"
