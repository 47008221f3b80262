"""``nova-secaudit``: check | fix | rules | explain.

Exit codes: 0 clean, 1 findings, 2 usage, configuration or unreadable-file
errors (a file error is reported on its own line and the run goes on), 70
(EX_SOFTWARE) a crash of the tool itself: one line, and the traceback only
with ``--traceback`` or ``NOVA_SECAUDIT_TRACEBACK=1``.
"""

from __future__ import annotations

import argparse
import os
import sys

from nova_secaudit import __version__
from nova_secaudit.baseline import BaselineError
from nova_secaudit.discovery import iter_python_files
from nova_secaudit.engine import collect_cycles_rarely
from nova_secaudit.fixing import add_fix_arguments
from nova_secaudit.parallel import DEFAULT_FILE_TIMEOUT
from nova_secaudit.rules import ALL_RULES, RULES_BY_CODE
from nova_secaudit.runner import check_paths, default_jobs
from nova_secaudit.settings import (
    ConfigError, check_codes, load_settings, split_list)
from nova_secaudit.source import printable_path

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_CRASH = 0, 1, 2, 70


class UsageError(Exception):
    """Bad command-line use; reported as ``nova-secaudit: error: ...``."""


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive "
                                         "number of seconds")
    return number


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--select", type=split_list, default=None,
                        help="only these codes/prefixes (e.g. NSA1,NSA401)")
    parser.add_argument("--ignore", type=split_list, default=None,
                        help="skip these codes/prefixes")
    parser.add_argument("--config", default=None,
                        help="config file (default: nearest pyproject.toml,"
                             " setup.cfg or tox.ini with our section)")
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs(),
                        help="worker processes (default: the CPU count); "
                             "output is identical for any N")
    parser.add_argument("--file-timeout", type=_seconds,
                        default=DEFAULT_FILE_TIMEOUT, metavar="SECONDS",
                        help="give up on one file's libcst work (fix, and "
                             "the fixes of json/sarif/html) after SECONDS "
                             f"(default {DEFAULT_FILE_TIMEOUT:g})")


def _add_reporting(parser: argparse.ArgumentParser) -> None:
    from nova_secaudit.reporting import FORMATS

    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="output format (default text, like flake8)")
    parser.add_argument("--output", "-o", metavar="FILE", default=None,
                        help="write the report to FILE instead of stdout")
    parser.add_argument("--baseline", metavar="FILE", default=None,
                        help="report only findings not in this baseline")
    parser.add_argument("--write-baseline", metavar="FILE", default=None,
                        help="record every current finding in FILE and "
                             "exit 0")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the results cache")
    parser.add_argument("--no-fixes", action="store_true",
                        help="json/sarif/html: leave out the codemods' "
                             "proposed fixes (they need libcst and time)")
    parser.add_argument("--cache-dir", metavar="DIR", default=None,
                        help="results cache directory (default "
                             "$XDG_CACHE_HOME/nova-secaudit/results); "
                             "never a symbolic link")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nova-secaudit",
        description="Security lint rules for OpenStack Nova-style code.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an internal error, show the traceback "
                             "(also NOVA_SECAUDIT_TRACEBACK=1)")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="report findings")
    check.add_argument("paths", nargs="*", default=["."])
    _add_selection(check)
    check.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when there are findings")
    _add_reporting(check)
    check.set_defaults(handler=run_check)

    fix = commands.add_parser(
        "fix", help="rewrite files to fix findings (see docs/codemods.md)")
    fix.add_argument("paths", nargs="*", default=["."])
    _add_selection(fix)
    add_fix_arguments(fix)
    fix.add_argument("--commit-per-rule", action="store_true",
                     help="in a clean git checkout, commit each rule's "
                          "fixes with an OpenStack-style message (a "
                          "series for git review)")
    fix.set_defaults(handler=run_fix)

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
    for key in ("select", "ignore"):
        if getattr(args, key) is not None:
            check_codes(getattr(args, key), f"--{key}")
            changes[key] = getattr(args, key)
    return settings.replace(**changes) if changes else settings


def run_check(args) -> int:
    from nova_secaudit import baseline as baselines
    from nova_secaudit.cache import ResultsCache
    from nova_secaudit.discovery import DEFAULT_EXCLUDES
    from nova_secaudit.progress import Progress
    from nova_secaudit.reporting import Report, render

    settings = effective_settings(args)
    accepted = baselines.Baseline.load(args.baseline) \
        if args.baseline else None
    files, errors = [], []
    for path, error in iter_python_files(
            args.paths, DEFAULT_EXCLUDES + settings.exclude):
        if error:
            print(f"{printable_path(path)}: error: {error}", file=sys.stderr)
            errors.append((path, error))
        else:
            files.append(path)
    cache = None if args.no_cache else ResultsCache(settings,
                                                    args.cache_dir)
    if cache is not None and cache.problem:
        print(f"nova-secaudit: warning: {cache.problem}", file=sys.stderr)
    with Progress(len(files)) as advance:
        results = list(check_paths(
            files, settings, args.jobs, cache=cache, progress=advance,
            fixes=args.format in ("json", "sarif", "html") and
            not args.no_fixes, timeout=args.file_timeout))
    for result in results:
        if result.error:
            print(f"{printable_path(result.path)}: error: {result.error}",
                  file=sys.stderr)
            errors.append((result.path, result.error))
    if args.write_baseline:
        written = baselines.write_baseline(args.write_baseline, results)
        print(f"nova-secaudit: wrote {written} finding(s) to "
              f"{args.write_baseline}", file=sys.stderr)
        return EXIT_ERROR if errors else EXIT_CLEAN
    if accepted is not None:
        for result in results:
            keep = [accepted.is_new(fingerprint)
                    for fingerprint in accepted.fingerprints_of(result)]
            result.findings = [f for f, k in zip(result.findings, keep) if k]
            result.fingerprints = [p for p, k in
                                   zip(result.fingerprints, keep) if k]
            if result.fixes is not None:
                result.fixes = [p for p, k in zip(result.fixes, keep) if k]
    report = Report(results, settings, errors,
                    accepted.matched if accepted else 0,
                    with_fixes=not args.no_fixes)
    _emit(render(report, args.format), args.output)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if report.count and not args.exit_zero \
        else EXIT_CLEAN


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8",
                  errors="backslashreplace") as stream:
            stream.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: "
                         f"{exc.strerror or exc}") from None


def run_fix(args) -> int:
    from nova_secaudit.fixing import run

    if args.commit_per_rule:
        if args.diff or args.check:
            raise UsageError("--commit-per-rule writes and commits; it "
                             "does not go with --diff or --check")
        from nova_secaudit.commits import run as run_commits

        return run_commits(args, effective_settings(args))
    return run(args, effective_settings(args))


def run_rules(args) -> int:
    import textwrap

    from nova_secaudit.docs import plain_text

    # Code and symbol on one line, what it flags below: reviewers read
    # this at 79 columns, like the findings.
    for rule in ALL_RULES:
        state = "" if rule.default_enabled else " (opt-in)"
        print(f"{rule.code}  {rule.symbol}{state}")
        print(textwrap.fill(plain_text(rule.summary()), 79,
                            initial_indent=" " * 8,
                            subsequent_indent=" " * 8))
    return EXIT_CLEAN


def run_explain(args) -> int:
    from nova_secaudit.docs import render_text

    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        raise UsageError(f"unknown rule {args.code!r}; see "
                         "'nova-secaudit rules'")
    sys.stdout.write(render_text(rule))
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
    collect_cycles_rarely()
    try:
        return args.handler(args)
    except (ConfigError, UsageError, BaselineError) as exc:
        print(f"nova-secaudit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as exc:  # noqa: BLE001 - a bug of ours, told as one
        if args.traceback or os.environ.get("NOVA_SECAUDIT_TRACEBACK"):
            raise
        from nova_secaudit.fixing import describe_exception

        print(f"nova-secaudit: internal error: {describe_exception(exc)} "
              f"(a bug in nova-secaudit; exit {EXIT_CRASH}; rerun with "
              "--traceback for details)", file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
