"""One self-contained HTML page for readers without a terminal.

No scripts, fonts, images or style sheets are loaded from anywhere: the CSS
is inline and links point only inside the page or to CWE definitions. The
page gives counts per rule and per file, then each finding with its source
context, CWE, the rule's explanation and, where a codemod exists, the diff
it proposes.
"""

from __future__ import annotations

import collections
import html
import re

from nova_secaudit import __version__
from nova_secaudit.docs import cwe_title, cwe_url, rule_sections
from nova_secaudit.reporting.fixes import proposed_fix
from nova_secaudit.rules import RULES_BY_CODE
from nova_secaudit.source import printable_path

CONTEXT_LINES = 3
_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;
 color:#1b1f24;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}
td.n{text-align:right}
.finding{border:1px solid #d0d7de;border-radius:6px;margin:1em 0;
 padding:.2em 1em 1em}
.finding h3{font-size:1.05em;font-family:monospace}
.code{background:#fff8c5;font-weight:bold;padding:0 .3em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:13px;
 line-height:1.35}
pre .hit{background:#ffebe9;display:block}
pre .ln{color:#6e7781;user-select:none}
pre .add{color:#116329;background:#dafbe1;display:block}
pre .del{color:#82071e;background:#ffebe9;display:block}
pre .hunk{color:#0550ae;display:block}
.muted{color:#57606a}
p code{background:#f6f8fa;padding:0 .2em;font-size:.92em}
"""
_LITERAL = re.compile(r"``(.+?)``", re.S)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: str) -> str:
    """Rule text as docs/rules.md shows it: ````x```` is code."""
    return _LITERAL.sub(r"<code>\1</code>", _e(text))


def _context(report, found) -> str:
    lines = report.lines(found.path)
    if not lines:
        return ""
    first = max(1, found.line - CONTEXT_LINES)
    last = min(len(lines), max(found.end_line, found.line) + CONTEXT_LINES)
    width = len(str(last))
    rows = []
    for number in range(first, last + 1):
        text = f'<span class="ln">{number:>{width}}  </span>' \
               f"{_e(lines[number - 1])}"
        hit = found.line <= number <= max(found.end_line, found.line)
        rows.append(f'<span class="hit">{text}</span>' if hit
                    else text + "\n")
    return "<pre class=\"source\">" + "".join(rows) + "</pre>"


def _diff(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        kind = ("hunk" if line.startswith("@@") else
                "add" if line.startswith("+") and not line.startswith("+++")
                else "del" if line.startswith("-") and
                not line.startswith("---") else "")
        rows.append(f'<span class="{kind}">{_e(line)}</span>' if kind
                    else _e(line) + "\n")
    return "<pre class=\"diff\">" + "".join(rows) + "</pre>"


def _finding(report, number: int, found) -> str:
    rule = RULES_BY_CODE.get(found.code)
    out = [f'<section class="finding" id="finding-{number}">',
           f"<h3>{_e(printable_path(found.path))}:"
           f"{found.line}:{found.col + 1} "
           f'<span class="code">{_e(found.code)}</span> '
           f"{_e(found.symbol)}</h3>",
           f'<p class="message">{_e(found.message)}</p>']
    if rule is not None:
        links = ", ".join(
            f'<a href="{_e(cwe_url(n))}">CWE-{n}</a> ({_e(cwe_title(n))})'
            for n in rule.cwe)
        out.append(f'<p class="cwe">{links}</p>')
    out.append(_context(report, found))
    if rule is not None:
        sections = dict(rule_sections(rule))
        out.append("<details open><summary>Why this is bad</summary>"
                   f"<p>{_prose(sections['Why this is bad'])}</p>"
                   f"<p><b>Fix:</b> {_prose(sections['Fix'])}</p>"
                   "</details>")
    fix = proposed_fix(report, found)
    if fix is not None:
        out.append(f"<h4>Proposed fix: {_e(fix.description)}</h4>")
        out.append(_diff(fix.diff))
    out.append("</section>")
    return "\n".join(out)


def render(report) -> str:
    found = list(report.findings())
    first_of = {}  # path -> number of its first finding, for links
    for number, (item, _) in enumerate(found, 1):
        first_of.setdefault(item.path, number)
    per_rule = collections.Counter(f.code for f, _ in found)
    per_file = collections.Counter(f.path for f, _ in found)
    body = [
        "<h1>nova-secaudit report</h1>",
        f'<p class="summary">{len(found)} finding'
        f'{"" if len(found) == 1 else "s"} in {len(per_file)} file'
        f'{"" if len(per_file) == 1 else "s"}'
        + (f"; {report.baseline_matched} accepted by the baseline"
           if report.baseline_matched else "")
        + (f"; {len(report.errors)} file(s) could not be checked"
           if report.errors else "") + ".</p>",
        '<h2 id="per-rule">Findings per rule</h2>',
        "<table><tr><th>Code</th><th>Rule</th><th>CWE</th>"
        "<th>Findings</th></tr>",
    ]
    for code, count in sorted(per_rule.items()):
        rule = RULES_BY_CODE.get(code)
        symbol = rule.symbol if rule else ""
        cwe = ", ".join(f"CWE-{n}" for n in rule.cwe) if rule else ""
        body.append(f"<tr><td>{_e(code)}</td><td>{_e(symbol)}</td>"
                    f'<td>{_e(cwe)}</td><td class="n">{count}</td></tr>')
    body.append("</table>")
    body.append('<h2 id="per-file">Findings per file</h2>')
    body.append("<table><tr><th>File</th><th>Findings</th></tr>")
    for path, count in sorted(per_file.items()):
        body.append(f'<tr><td><a href="#finding-{first_of[path]}">'
                    f'{_e(printable_path(path))}</a></td>'
                    f'<td class="n">{count}</td></tr>')
    body.append("</table>")
    body.append('<h2 id="findings">Findings</h2>')
    if not found:
        body.append('<p class="muted">No findings.</p>')
    for number, (item, _) in enumerate(found, 1):
        body.append(_finding(report, number, item))
    if report.errors:
        body.append('<h2 id="errors">Files that could not be checked</h2>'
                    "<ul>")
        body += [f"<li>{_e(printable_path(path))}: {_e(message)}</li>"
                 for path, message in report.errors]
        body.append("</ul>")
    body.append(f'<p class="muted">nova-secaudit {_e(__version__)}</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            "<title>nova-secaudit report</title>"
            f"<style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
