#!/usr/bin/env python3
"""Sweep real OpenStack code: ``nova-secaudit check`` and ``fix --diff``
over every .py file (tests included) of pinned releases, downloaded from the
package index by name and version (``nova_secaudit.releases``).

What must hold, per project:

* no crash: each CLI run exits 0, 1 or 2 and prints no traceback;
* no internal error: no ``internal error in NSAxxx`` line from a rule, no
  ``not fixed: <Exception>`` or ``would not compile`` from a codemod;
* a file the CLI calls unreadable really is: CPython's ``compile()`` must
  reject it too;
* every diff applies (strictly, context and all) to a copy of the release,
  each patched file compiles, and ``fix --diff`` over the patched copy
  prints nothing (a second fix is a no-op).

Prints files, lines, findings per code and seconds per project and in
total. Exit status 0 when everything held, 1 otherwise.

    python scripts/corpus_sweep.py --jobs 2            # all projects
    python scripts/corpus_sweep.py nova swift --no-fix # a subset, check only
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Current releases on the package index when pinned (November 2026).
PROJECTS = (
    ("nova", "34.0.0"),
    ("cinder", "29.0.0"),
    ("neutron", "29.0.0"),
    ("glance", "33.0.0"),
    ("keystone", "30.0.0"),
    ("ironic", "39.0.0"),
    ("manila", "23.0.1"),
    ("octavia", "19.0.0"),
    ("swift", "2.38.3"),
    ("oslo.messaging", "18.3.1"),
    ("oslo.db", "18.1.1"),
    ("taskflow", "6.5.0"),
    ("futurist", "3.5.0"),
)

_FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): "
                      r"(?P<code>NSA\d{3}) ")
_ERROR = re.compile(r"^(?P<path>.+?): error: (?P<reason>.+)$")
_SKIPPED = re.compile(r"^  (?P<path>/.+?\.py): (?P<reason>.+)$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_CODEMOD_BUG = ("not fixed: ", "fixed text would not compile")
# A fix dropped alone (``fixes dropped (codemod failed)``) is a bug too.
_DROPPED = re.compile(r"^  (?P<path>/.+?\.py):\d+: (?P<reason>NSA\d+ "
                      r"(?:fixed text would not compile|codemod failed).*)$")


@dataclass
class ProjectResult:
    name: str
    version: str
    files: int = 0
    lines: int = 0
    findings: dict = field(default_factory=dict)
    check_seconds: float = 0.0
    fix_seconds: float = 0.0
    files_changed: int = 0
    # Everything below must stay empty.
    crashes: list = field(default_factory=list)
    internal_errors: list = field(default_factory=list)
    bogus_file_errors: list = field(default_factory=list)
    diff_failures: list = field(default_factory=list)
    not_idempotent: list = field(default_factory=list)
    # Reported, not failures: files CPython rejects too, unfixable skips.
    file_errors: list = field(default_factory=list)
    fix_skips: list = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return (self.crashes + self.internal_errors + self.bogus_file_errors
                + self.diff_failures + self.not_idempotent)


def _run(args: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the CLI; bytes decoded as UTF-8
    without newline translation, so CRLF in a diff survives."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "nova_secaudit.cli", *args],
                          capture_output=True, env=env)
    return (done.returncode,
            done.stdout.decode("utf-8", "surrogateescape"),
            done.stderr.decode("utf-8", "surrogateescape"))


def _crash(what: str, code: int, err: str, allowed=(0, 1, 2)) -> list[str]:
    if code in allowed and "Traceback (most recent call last)" not in err:
        return []
    tail = [line for line in err.splitlines() if line.strip()][-1:] or [""]
    return [f"{what} crashed (exit {code}): {tail[0]}"]


def _compiles(data: bytes, path: str) -> bool:
    try:
        compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def split_diff(text: str) -> dict[str, list[str]]:
    """{path: diff lines} of a multi-file unified diff, split on LF only
    (as patch(1) reads it). Hunk bodies are consumed by their line counts,
    so a removed line that starts with ``-- `` is not taken for a header."""
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + (
        [lines[-1]] if lines[-1] else [])
    files: dict[str, list[str]] = {}
    current = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and \
                lines[index + 1].startswith("+++ "):
            current = lines[index + 1][4:].rstrip("\n")
            current = current[2:] if current.startswith("b/") else current
            if current in files:
                raise ValueError(f"{current}: two diffs for one file")
            files[current] = []
            index += 2
            continue
        match = _HUNK.match(line)
        if current is None or not match:
            raise ValueError(f"expected a file or hunk header: {line!r}")
        files[current].append(line)
        index += 1
        old = int(match.group(2) if match.group(2) is not None else 1)
        new = int(match.group(4) if match.group(4) is not None else 1)
        while index < len(lines) and (old or new or
                                      lines[index].startswith("\\")):
            body = lines[index]
            kind = body[:1]
            if kind in (" ", "-"):
                old -= 1
            if kind in (" ", "+"):
                new -= 1
            if kind not in (" ", "-", "+", "\\") or old < 0 or new < 0:
                raise ValueError(f"hunk body does not match its header: "
                                 f"{body!r}")
            files[current].append(body)
            index += 1
        if old or new:
            raise ValueError(f"{current}: diff ends inside a hunk")
    return files


def _join_no_newline_markers(diff: list[str]) -> list[str]:
    """Fold ``\\ No newline at end of file`` into the line before it."""
    out: list[str] = []
    for line in diff:
        if line.startswith("\\"):
            if not out or not out[-1].endswith("\n"):
                raise ValueError("misplaced 'No newline' marker")
            out[-1] = out[-1][:-1]
        else:
            out.append(line)
    return out


def apply_hunks(original: str, diff: list[str]) -> str:
    """``original`` with a unified diff's hunks applied; every context and
    removed line must match exactly (no fuzz), else ValueError."""
    source = original.split("\n")
    source = [line + "\n" for line in source[:-1]] + (
        [source[-1]] if source[-1] else [])
    diff = _join_no_newline_markers(diff)
    out: list[str] = []
    position = 0  # index into source of the next unconsumed line
    index = 0
    while index < len(diff):
        match = _HUNK.match(diff[index])
        if not match:
            raise ValueError(f"expected a hunk header, got {diff[index]!r}")
        start = int(match.group(1))
        old_count = int(match.group(2) if match.group(2) is not None else 1)
        new_count = int(match.group(4) if match.group(4) is not None else 1)
        begin = start - 1 if old_count else start
        if begin < position:
            raise ValueError(f"hunk at line {start} overlaps the previous")
        out.extend(source[position:begin])
        position = begin
        index += 1
        seen_old = seen_new = 0
        while index < len(diff) and (seen_old < old_count or
                                     seen_new < new_count):
            line = diff[index]
            kind, body = line[:1], line[1:]
            if kind in (" ", "-"):
                if position >= len(source) or source[position] != body:
                    raise ValueError(
                        f"hunk at line {start}: line {position + 1} does "
                        "not match the file")
                position += 1
                seen_old += 1
            if kind in (" ", "+"):
                out.append(body)
                seen_new += 1
            if kind not in (" ", "-", "+"):
                raise ValueError(f"bad diff line {line!r}")
            index += 1
        if (seen_old, seen_new) != (old_count, new_count):
            raise ValueError(f"hunk at line {start}: counts do not match")
    out.extend(source[position:])
    return "".join(out)


def _encode_like(text: str, original: bytes) -> bytes:
    """``text`` encoded as ``original`` was (cookie, BOM), as fix writes."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    bom = original.startswith(codecs.BOM_UTF8)
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    return (codecs.BOM_UTF8 if bom else b"") + text.encode(encoding)


def sweep(name: str, version: str, jobs: int, fix: bool,
          log=print) -> ProjectResult:
    from nova_secaudit.discovery import iter_python_files
    from nova_secaudit.releases import fetch_release
    from nova_secaudit.rules import ALL_RULES
    from nova_secaudit.source import decode_source

    result = ProjectResult(name, version)
    root = fetch_release(name, version)
    paths = [p for p, error in iter_python_files([str(root)]) if not error]
    result.files = len(paths)
    for path in paths:
        with open(path, "rb") as stream:
            result.lines += stream.read().count(b"\n")
    select = "--select=" + ",".join(rule.code for rule in ALL_RULES)

    started = time.monotonic()
    code, out, err = _run(["check", select, "--no-cache", "--exit-zero",
                           f"--jobs={jobs}", "--format=text", str(root)])
    result.check_seconds = time.monotonic() - started
    result.crashes += _crash("check", code, err)
    codes: Counter = Counter()
    for line in out.splitlines():
        match = _FINDING.match(line)
        if match:
            codes[match.group("code")] += 1
    result.findings = dict(sorted(codes.items()))
    for line in err.splitlines():
        match = _ERROR.match(line)
        if not match:
            if line.strip() and "Traceback" not in line:
                result.crashes.append(f"check: not a one-line error: {line}")
            continue
        path, reason = match.group("path"), match.group("reason")
        relative = os.path.relpath(path, root)
        if "internal error in " in reason:
            result.internal_errors.append(f"{relative}: {reason}")
            continue
        result.file_errors.append(f"{relative}: {reason}")
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError:
            continue
        if _compiles(data, path):
            result.bogus_file_errors.append(
                f"{relative}: CPython compiles it, but: {reason}")
    log(f"  {name}: check {result.check_seconds:.1f}s, "
        f"{sum(codes.values())} findings")
    if not fix:
        return result

    started = time.monotonic()
    code, out, err = _run(["fix", select, "--diff", f"--jobs={jobs}",
                           str(root)])
    result.crashes += _crash("fix --diff", code, err)
    for line in err.splitlines():
        dropped = _DROPPED.match(line)
        if dropped:
            relative = os.path.relpath(dropped.group("path"), root)
            result.internal_errors.append(
                f"{relative}: fix: {dropped.group('reason')}")
            continue
        match = _SKIPPED.match(line)
        if not match:
            continue
        relative = os.path.relpath(match.group("path"), root)
        reason = match.group("reason")
        if reason.startswith(_CODEMOD_BUG):
            result.internal_errors.append(f"{relative}: fix: {reason}")
        else:
            result.fix_skips.append(f"{relative}: {reason}")
    try:
        diffs = split_diff(out)
    except ValueError as exc:
        result.diff_failures.append(f"fix --diff output: {exc}")
        diffs = {}
    result.files_changed = len(diffs)
    if diffs:
        with tempfile.TemporaryDirectory(prefix="nsa-sweep-") as scratch:
            copy = Path(scratch) / root.name
            shutil.copytree(root, copy, symlinks=True)
            patched = []
            for path, lines in sorted(diffs.items()):
                relative = os.path.relpath(path, root)
                original = Path(path).read_bytes() \
                    if Path(path).exists() else b""  # a created module
                try:
                    new_text = apply_hunks(decode_source(original), lines)
                except ValueError as exc:
                    result.diff_failures.append(f"{relative}: {exc}")
                    continue
                target = copy / relative
                target.write_bytes(_encode_like(new_text, original))
                if not _compiles(target.read_bytes(), str(target)):
                    result.diff_failures.append(
                        f"{relative}: patched file does not compile")
                    continue
                patched.append(str(target))
            if patched:
                code, again, err = _run(["fix", select, "--diff",
                                         f"--jobs={jobs}", *patched])
                result.crashes += _crash("second fix --diff", code, err)
                for path in split_diff(again) if again else {}:
                    result.not_idempotent.append(
                        os.path.relpath(path, copy))
    result.fix_seconds = time.monotonic() - started
    log(f"  {name}: fix --diff {result.fix_seconds:.1f}s, "
        f"{result.files_changed} files would change")
    return result


def report(results: list[ProjectResult], seconds: float) -> str:
    codes = sorted({c for r in results for c in r.findings})
    head = f"{'project':<24}{'files':>7}{'lines':>10}{'findings':>9}" \
           f"{'changed':>8}{'check s':>9}{'fix s':>8}{'errors':>7}" \
           f"{'bad':>5}"
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(
            f"{r.name + '-' + r.version:<24}{r.files:>7}{r.lines:>10}"
            f"{sum(r.findings.values()):>9}{r.files_changed:>8}"
            f"{r.check_seconds:>9.1f}{r.fix_seconds:>8.1f}"
            f"{len(r.file_errors):>7}{len(r.problems):>5}")
    rows.append("-" * len(head))
    rows.append(
        f"{'total':<24}{sum(r.files for r in results):>7}"
        f"{sum(r.lines for r in results):>10}"
        f"{sum(sum(r.findings.values()) for r in results):>9}"
        f"{sum(r.files_changed for r in results):>8}"
        f"{sum(r.check_seconds for r in results):>9.1f}"
        f"{sum(r.fix_seconds for r in results):>8.1f}"
        f"{sum(len(r.file_errors) for r in results):>7}"
        f"{sum(len(r.problems) for r in results):>5}")
    rows.append("")
    rows.append("findings per code: " + ", ".join(
        f"{code} {sum(r.findings.get(code, 0) for r in results)}"
        for code in codes))
    rows.append(f"wall time: {seconds:.1f}s")
    for r in results:
        for kind in ("crashes", "internal_errors", "bogus_file_errors",
                     "diff_failures", "not_idempotent"):
            for item in getattr(r, kind):
                rows.append(f"PROBLEM {r.name} {kind}: {item}")
        for item in r.file_errors:
            rows.append(f"note {r.name} unparsable (CPython agrees): {item}")
        for item in r.fix_skips:
            rows.append(f"note {r.name} fix skipped: {item}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("projects", nargs="*",
                        help="names from the pinned list (default: all)")
    parser.add_argument("--jobs", "-j", type=int, default=2,
                        help="worker processes for the CLI (default 2)")
    parser.add_argument("--no-fix", action="store_true",
                        help="run check only")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the results as JSON")
    args = parser.parse_args(argv)
    pinned = dict(PROJECTS)
    unknown = [p for p in args.projects if p not in pinned]
    if unknown:
        parser.error(f"not pinned: {', '.join(unknown)}")
    chosen = [(p, pinned[p]) for p in args.projects] or list(PROJECTS)
    started = time.monotonic()
    results = []
    for name, version in chosen:
        print(f"sweeping {name}=={version}", file=sys.stderr, flush=True)
        results.append(sweep(name, version, args.jobs, not args.no_fix,
                             log=lambda m: print(m, file=sys.stderr,
                                                 flush=True)))
    seconds = time.monotonic() - started
    print(report(results, seconds))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"seconds": seconds, "projects": [asdict(r) for r in results]},
            indent=1))
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
