"""``nova-secaudit``: check | rules | explain.

Exit codes: 0 clean, 1 findings, 2 usage, configuration or unreadable-file
errors (a file error is reported on its own line and the run goes on).
"""

from __future__ import annotations

import argparse
import os
import sys

from nova_secaudit import __version__
from nova_secaudit.discovery import iter_python_files
from nova_secaudit.rules import ALL_RULES, RULES_BY_CODE
from nova_secaudit.runner import check_paths
from nova_secaudit.settings import ConfigError, load_settings, split_list

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Bad command-line use; reported as ``nova-secaudit: error: ...``."""


def _codes(value: str) -> tuple[str, ...]:
    codes = split_list(value)
    for code in codes:
        if not code.startswith("NSA"):
            raise argparse.ArgumentTypeError(f"{code!r} is not an NSA code")
    return codes


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--select", type=_codes, default=None,
                        help="only these codes/prefixes (e.g. NSA1,NSA401)")
    parser.add_argument("--ignore", type=_codes, default=None,
                        help="skip these codes/prefixes")
    parser.add_argument("--config", default=None,
                        help="config file (default: nearest pyproject.toml,"
                             " setup.cfg or tox.ini with our section)")
    parser.add_argument("--jobs", "-j", type=int, default=1,
                        help="worker processes (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nova-secaudit",
        description="Security lint rules for OpenStack Nova-style code.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="report findings")
    check.add_argument("paths", nargs="*", default=["."])
    _add_selection(check)
    check.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when there are findings")
    check.set_defaults(handler=run_check)

    rules = commands.add_parser("rules", help="list the rules")
    rules.set_defaults(handler=run_rules)

    explain = commands.add_parser("explain", help="document one rule")
    explain.add_argument("code")
    explain.set_defaults(handler=run_explain)
    return parser


def effective_settings(args):
    settings = load_settings(args.paths[0] if getattr(args, "paths", None)
                             else ".", args.config)
    changes = {}
    if args.select is not None:
        changes["select"] = args.select
    if args.ignore is not None:
        changes["ignore"] = args.ignore
    return settings.replace(**changes) if changes else settings


def run_check(args) -> int:
    settings = effective_settings(args)
    files, errors = [], 0
    for path, error in iter_python_files(args.paths):
        if error:
            print(f"{path}: error: {error}", file=sys.stderr)
            errors += 1
        else:
            files.append(path)
    count = 0
    for result in check_paths(files, settings, args.jobs):
        if result.error:
            print(f"{result.path}: error: {result.error}", file=sys.stderr)
            errors += 1
        for found in result.findings:
            print(f"{found.path}:{found.line}:{found.col + 1}: "
                  f"{found.code} {found.message}")
            count += 1
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if count and not args.exit_zero else EXIT_CLEAN


def run_rules(args) -> int:
    for rule in ALL_RULES:
        state = "" if rule.default_enabled else "  (opt-in)"
        print(f"{rule.code}  {rule.symbol:36} {rule.summary()}{state}")
    return EXIT_CLEAN


def run_explain(args) -> int:
    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        raise UsageError(f"unknown rule {args.code!r}; see "
                         "'nova-secaudit rules'")
    sections = rule.doc_sections()
    cwe = ", ".join(f"CWE-{n}" for n in rule.cwe)
    print(f"{rule.code} {rule.symbol} ({cwe}; fix: {rule.fix.value})")
    print(sections["summary"])
    for heading in ("Why this is bad", "Fix", "Known limits"):
        if heading in sections:
            print(f"\n{heading}:\n  {sections[heading]}")
    for label, examples in (("Bad", rule.bad), ("Good", rule.good)):
        for example in examples:
            print(f"\n{label} ({example.name}):")
            print("  " + example.source.rstrip().replace("\n", "\n  "))
    return EXIT_CLEAN


def _printable_streams() -> None:
    # A file name that is not valid UTF-8 (surrogate-escaped by os.walk) or
    # not encodable on this terminal must be printed, not crash the run.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _printable_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    if getattr(args, "jobs", 1) > (os.cpu_count() or 1) * 4:
        parser.error("--jobs is more than four per CPU")
    try:
        return args.handler(args)
    except (ConfigError, UsageError) as exc:
        print(f"nova-secaudit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
