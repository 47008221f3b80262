"""``nova-secaudit``: check | fix | rules | explain.

Exit codes: 0 clean, 1 findings, 2 usage, configuration or unreadable-file
errors (a file error is reported on its own line and the run goes on).
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
from nova_secaudit.rules import ALL_RULES, RULES_BY_CODE
from nova_secaudit.runner import check_paths, default_jobs
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
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs(),
                        help="worker processes (default: the CPU count); "
                             "output is identical for any N")


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
                             "./.nova-secaudit-cache)")


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
    _add_reporting(check)
    check.set_defaults(handler=run_check)

    fix = commands.add_parser(
        "fix", help="rewrite files to fix findings (see docs/codemods.md)")
    fix.add_argument("paths", nargs="*", default=["."])
    _add_selection(fix)
    add_fix_arguments(fix)
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
    if args.select is not None:
        changes["select"] = args.select
    if args.ignore is not None:
        changes["ignore"] = args.ignore
    return settings.replace(**changes) if changes else settings


def run_check(args) -> int:
    from nova_secaudit import baseline as baselines
    from nova_secaudit.cache import CACHE_DIR_NAME, ResultsCache
    from nova_secaudit.discovery import DEFAULT_EXCLUDES
    from nova_secaudit.reporting import Report, render

    settings = effective_settings(args)
    accepted = baselines.Baseline.load(args.baseline) \
        if args.baseline else None
    files, errors = [], []
    for path, error in iter_python_files(
            args.paths, DEFAULT_EXCLUDES + settings.exclude):
        if error:
            print(f"{path}: error: {error}", file=sys.stderr)
            errors.append((path, error))
        else:
            files.append(path)
    cache = None if args.no_cache else ResultsCache(
        settings, args.cache_dir or CACHE_DIR_NAME)
    with _progress(len(files)) as advance:
        results = list(check_paths(
            files, settings, args.jobs, cache=cache, progress=advance,
            fixes=args.format in ("json", "sarif", "html") and
            not args.no_fixes))
    for result in results:
        if result.error:
            print(f"{result.path}: error: {result.error}", file=sys.stderr)
            errors.append((result.path, result.error))
    if args.write_baseline:
        written = baselines.write_baseline(args.write_baseline, (
            pair for result in results
            for pair in zip(result.findings, result.fingerprints)))
        print(f"nova-secaudit: wrote {written} finding(s) to "
              f"{args.write_baseline}", file=sys.stderr)
        return EXIT_ERROR if errors else EXIT_CLEAN
    if accepted is not None:
        for result in results:
            keep = [accepted.is_new(fingerprint)
                    for fingerprint in result.fingerprints]
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
        with open(output, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: "
                         f"{exc.strerror or exc}") from None


class _progress:
    """A tqdm bar on stderr, only on an interactive terminal outside CI."""

    def __init__(self, total: int):
        self.total, self.bar = total, None

    def __enter__(self):
        if self.total and _interactive():
            try:
                from tqdm import tqdm
            except ImportError:
                return None
            try:
                width, height = os.get_terminal_size(sys.stderr.fileno())
            except (OSError, ValueError):
                width = height = 0
            # A terminal that reports no size (docker exec, some CI
            # consoles) makes tqdm draw nothing: assume 80x24 there.
            self.bar = tqdm(total=self.total, unit="file", leave=False,
                            file=sys.stderr, desc="nova-secaudit",
                            ncols=width or 80, nrows=height or 24)
            return self.bar.update
        return None

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()


def _interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI") and \
        os.environ.get("TERM") != "dumb"


def run_fix(args) -> int:
    from nova_secaudit.fixing import run

    return run(args, effective_settings(args))


def run_rules(args) -> int:
    for rule in ALL_RULES:
        state = "" if rule.default_enabled else "  (opt-in)"
        print(f"{rule.code}  {rule.symbol:36} {rule.summary()}{state}")
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


if __name__ == "__main__":
    sys.exit(main())
