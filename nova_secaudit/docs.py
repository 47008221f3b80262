"""Rule documentation, rendered from the rule classes themselves.

``nova-secaudit explain CODE`` prints :func:`render_text`; docs/rules.md is
:func:`render_markdown` (regenerate with ``python -m nova_secaudit.docs
--write``; a test fails when the file is stale). Every rule gets the same
headings, in the same order (:data:`HEADINGS`), whether or not it has a
codemod or known limits, so readers always know where to look.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from nova_secaudit.engine import FixSafety, Rule

HEADINGS = ("What it flags", "Why this is bad", "Example", "Use instead",
            "Fix", "Known limits", "References")
RULES_MD = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

# Names of the CWE entries our rules cite (MITRE's titles).
CWE_TITLES = {
    209: "Generation of Error Message Containing Sensitive Information",
    312: "Cleartext Storage of Sensitive Information",
    362: "Concurrent Execution using Shared Resource with Improper "
         "Synchronization ('Race Condition')",
    400: "Uncontrolled Resource Consumption",
    404: "Improper Resource Shutdown or Release",
    522: "Insufficiently Protected Credentials",
    532: "Insertion of Sensitive Information into Log File",
    667: "Improper Locking",
    770: "Allocation of Resources Without Limits or Throttling",
}
_FIX_SAFETY = {
    FixSafety.SAFE: "Safe codemod",
    FixSafety.UNSAFE: "Unsafe codemod: review the change before committing",
    FixSafety.NONE: "No codemod: the message carries a hint",
}


_LITERAL = re.compile(r"``(.+?)``", re.S)


def plain_text(text: str) -> str:
    """Docstring text for readers of plain text (terminals, commit
    messages): reST literals ````x```` become "x"."""
    return _LITERAL.sub(r'"\1"', text)


def cwe_url(number: int) -> str:
    return f"https://cwe.mitre.org/data/definitions/{number}.html"


def cwe_title(number: int) -> str:
    return CWE_TITLES.get(number, f"CWE-{number}")


def rule_sections(rule: type[Rule]) -> list[tuple[str, object]]:
    """``(heading, content)`` for every heading of :data:`HEADINGS`.

    Content is text, except Example / Use instead which are lists of
    ``(name, source, fixed or None)``.
    """
    doc = rule.doc_sections()
    fix_text = doc.get("Fix", "")
    references = "; ".join(f"CWE-{n}: {cwe_title(n)} <{cwe_url(n)}>"
                           for n in rule.cwe)
    state = "on by default" if rule.default_enabled else \
        f"opt-in (select {rule.code})"
    flags = (f"{doc['summary']} Code {rule.code}, pylint "
             f"{rule.pylint_msgid()} / {rule.symbol}; {state}.")
    return [
        ("What it flags", flags),
        ("Why this is bad", doc.get("Why this is bad", "")),
        ("Example", [(e.name, e.source, e.fixed) for e in rule.bad]),
        ("Use instead", [(e.name, e.source, None) for e in rule.good]),
        ("Fix", f"{_FIX_SAFETY[rule.fix]}. {fix_text}".strip()),
        ("Known limits", doc.get("Known limits") or "None known."),
        ("References", references),
    ]


def render_text(rule: type[Rule]) -> str:
    """What ``nova-secaudit explain`` prints."""
    cwe = ", ".join(f"CWE-{n}" for n in rule.cwe)
    out = [f"{rule.code} {rule.symbol} ({cwe}; fix: {rule.fix.value})"]
    for heading, content in rule_sections(rule):
        out.append(f"\n{heading}:")
        if isinstance(content, list):
            label = "Bad" if heading == "Example" else "Good"
            for name, source, fixed in content:
                out.append(f"  {label} ({name}):" if name else f"  {label}:")
                out.append(_indent(source))
                if fixed is not None:
                    out.append("  Fixed by the codemod:")
                    out.append(_indent(fixed))
        else:
            out.append(_wrap(plain_text(str(content))))
    return "\n".join(out) + "\n"


def _indent(source: str) -> str:
    return "\n".join("    " + line if line else ""
                     for line in source.rstrip().splitlines())


def _wrap(text: str, width: int = 77) -> str:
    import textwrap

    return textwrap.fill(text, width, initial_indent="  ",
                         subsequent_indent="  ")


def render_rule_markdown(rule: type[Rule]) -> str:
    out = [f"## {rule.code} {rule.symbol}", ""]
    for heading, content in rule_sections(rule):
        out += [f"### {heading}", ""]
        if isinstance(content, list):
            for name, source, fixed in content:
                if name:
                    out += [f"`{name}`:", ""]
                out += ["```python", source.rstrip(), "```", ""]
                if fixed is not None:
                    out += ["Fixed by the codemod:", "", "```python",
                            fixed.rstrip(), "```", ""]
        elif heading == "References":
            out += [f"- [CWE-{n}]({cwe_url(n)}): {cwe_title(n)}"
                    for n in rule.cwe]
            out.append("")
        else:
            out += [str(content), ""]
    return "\n".join(out)


def render_markdown(rules=None) -> str:
    """The whole of docs/rules.md."""
    if rules is None:
        from nova_secaudit.rules import ALL_RULES as rules
    out = ["# nova-secaudit rules", "",
           "<!-- Generated from the rule classes by "
           "`python -m nova_secaudit.docs --write`; do not edit. -->", "",
           "| Code | Symbol | Flags | CWE | Fix | Default |",
           "| --- | --- | --- | --- | --- | --- |"]
    for rule in rules:
        cwe = ", ".join(f"CWE-{n}" for n in rule.cwe)
        default = "on" if rule.default_enabled else "opt-in"
        summary = rule.summary().replace("|", "\\|")
        out.append(f"| [{rule.code}](#{_anchor(rule)}) | {rule.symbol} | "
                   f"{summary} | {cwe} | {rule.fix.value} | "
                   f"{default} |")
    out.append("")
    for rule in rules:
        out.append(render_rule_markdown(rule))
    return "\n".join(out).rstrip() + "\n"


def _anchor(rule: type[Rule]) -> str:
    return f"{rule.code}-{rule.symbol}".lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nova_secaudit.docs",
        description="Render docs/rules.md from the rules.")
    parser.add_argument("--write", action="store_true",
                        help=f"write {RULES_MD} instead of printing")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when docs/rules.md is stale")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = RULES_MD.read_text(encoding="utf-8") \
            if RULES_MD.exists() else ""
        if current != text:
            print(f"{RULES_MD} is stale; run python -m nova_secaudit.docs "
                  "--write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        RULES_MD.parent.mkdir(exist_ok=True)
        RULES_MD.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
