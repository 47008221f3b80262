"""``nova-secaudit fix``: run the codemods over files, safely.

The run is cheap where there is nothing to fix: every file goes through the
stdlib-``ast`` engine first, and only a file with a finding some codemod can
fix is parsed by libcst. A transformed file is kept only when it parses and
compiles again; it is written atomically (a temporary file in the same
folder, then ``os.replace``) with its encoding, byte-order mark, line
endings, trailing-newline state and permissions as they were.

Write policy (see tests/test_codemod_safety.py):

* Atomic: a fix run killed at any moment leaves every file either as it
  was or fully fixed, never partial; at worst a hidden ``.NAME.*.nsa-tmp``
  file is left beside it, which no later run reads.
* Permission bits, owner and group (where allowed) are kept; the file's
  mtime becomes the time of the fix (it is a new file), so build tools see
  the change. Hard links to the old file keep the old content; extended
  attributes and ACLs are not copied.
* A symbolic link is kept and its target is fixed.
* A read-only file (no write bit, or not writable by us) is reported as
  ``cannot write: read-only file`` and left alone.
* Concurrent runs on one tree never interleave bytes (each writes its own
  temporary file); a file that changed after it was read is not
  overwritten but reported, so an editor's or another run's change is not
  lost.
"""

from __future__ import annotations

import ast
import codecs
import difflib
import errno
import io
import os
import stat
import tempfile
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from nova_secaudit.engine import Finding, check
from nova_secaudit.parallel import map_in_order
from nova_secaudit.settings import Settings
from nova_secaudit.source import SourceError, decode_source, parse_text, \
    read_bytes


@dataclass
class FixOptions:
    """What to fix and how; ``codes`` are the codes the user enabled."""

    codes: frozenset[str]
    write: bool = True
    diff: bool = False
    reuse_lock: str | None = None


@dataclass
class FileFix:
    """What happened to one file."""

    path: str
    changed: bool = False
    parsed_by_libcst: bool = False
    fixes: Counter = field(default_factory=Counter)
    not_fixable: Counter = field(default_factory=Counter)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    error: str | None = None
    diff: str = ""


def fixable_codes(settings: Settings) -> frozenset[str]:
    """Codes enabled by ``settings`` that have a codemod."""
    from nova_secaudit.codemods import FIXABLE_CODES
    from nova_secaudit.rules import RULES_BY_CODE

    return frozenset(code for code in FIXABLE_CODES
                     if code in RULES_BY_CODE and settings.is_enabled(
                         code, RULES_BY_CODE[code].default_enabled))


def _findings(tree: ast.AST, text: str, path: str,
              settings: Settings) -> list[Finding]:
    return check(tree, path, settings, source=text, suppress=True)


def _encoding(data: bytes) -> tuple[str, bool]:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    bom = data.startswith(codecs.BOM_UTF8)
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    return encoding, bom


def transform_text(text: str, path: str, settings: Settings,
                   options: FixOptions, result: FileFix,
                   present: Iterable[str] | None = None,
                   findings: list[Finding] | None = None) -> str:
    """``text`` with every enabled codemod applied (libcst parses here)."""
    import libcst as cst
    from libcst.codemod import CodemodContext, SkipFile

    from nova_secaudit.codemods import ORDER

    module = cst.parse_module(text)
    result.parsed_by_libcst = True
    present = set(options.codes if present is None else present)
    known = (module, text, findings) if findings is not None else None
    for command in ORDER:
        codes = [c for c in command.CODES if c in present]
        if not codes:
            continue
        context = CodemodContext(filename=path)
        codemod = command(context, settings=settings, codes=codes,
                          reuse_lock=options.reuse_lock, known=known)
        try:
            module = codemod.transform_module(module)
        except SkipFile:
            pass
        result.fixes.update(codemod.fixed)
        for found, reason in codemod.skipped:
            result.skipped.append((found.line, found.code, reason))
    return module.code


def describe_exception(exc: BaseException) -> str:
    """``Type: first line`` of ``exc``, even when its ``str()`` fails (a
    libcst KeyError keyed by a 1,000-deep node recurses in ``repr``)."""
    try:
        detail = " ".join(str(exc).split("\n", 1)[0].split())
    except Exception:  # RecursionError and the like
        detail = ""
    if len(detail) > 160:
        detail = detail[:157] + "..."
    return f"{type(exc).__name__}: {detail}" if detail else \
        type(exc).__name__


def verify(new_text: str, path: str) -> str | None:
    """None when ``new_text`` parses and compiles, else why the transform
    must not be kept."""
    try:
        tree = ast.parse(new_text, filename=path)
        compile(tree, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"fixed text would not compile ({exc}); file left unchanged"
    except (RecursionError, MemoryError):
        return "fixed text too deeply nested to compile; file left unchanged"
    return None


def fix_file(path: str, settings: Settings, options: FixOptions) -> FileFix:
    """Fix one file (or, without ``options.write``, work out the fix)."""
    result = FileFix(path)
    try:
        data = read_bytes(path)
        text = decode_source(data)
        tree = parse_text(text, path)
    except SourceError as exc:
        result.error = str(exc)
        return result
    except RecursionError:
        result.error = "too deeply nested to analyse"
        return result
    findings = _findings(tree, text, path, settings)
    fixable = [f for f in findings if f.code in options.codes]
    for found in findings:
        if found.code not in options.codes:
            result.not_fixable[found.code] += 1
    if not fixable:
        return result
    try:
        new_text = transform_text(text, path, settings, options, result,
                                  {f.code for f in fixable}, findings)
    except Exception as exc:  # libcst parse errors and codemod bugs alike
        result.error = f"not fixed: {describe_exception(exc)}"
        result.fixes.clear()
        return result
    if new_text == text:
        return result
    problem = verify(new_text, path)
    if problem:
        result.error = problem
        result.fixes.clear()
        return result
    encoding, bom = _encoding(data)
    try:
        new_data = (codecs.BOM_UTF8 if bom else b"") + \
            new_text.encode(encoding)
    except UnicodeEncodeError as exc:
        result.error = f"fixed text cannot be encoded as {encoding}: {exc}"
        result.fixes.clear()
        return result
    result.changed = True
    if options.diff:
        result.diff = unified_diff(text, new_text, path)
    if options.write:
        try:
            write_atomically(path, new_data, expected=data)
        except OSError as exc:
            result.error = f"cannot write: {exc.strerror or exc}"
            result.changed = False
            result.fixes.clear()
    return result


def _patch_lines(text: str) -> list[str]:
    # Lines as patch(1) and git count them: split on LF only. (splitlines()
    # would also split on form feeds, lone CRs, U+2028, ... and shift every
    # hunk after them.)
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + \
        ([lines[-1]] if lines[-1] else [])


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff that patch(1) and ``git apply`` accept, with the
    ``\\ No newline at end of file`` marker where a file lacks one."""
    out = []
    for line in difflib.unified_diff(_patch_lines(old), _patch_lines(new),
                                     fromfile=path, tofile=path):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def is_read_only(path: str, info: os.stat_result | None = None) -> bool:
    """Whether nobody may write ``path`` (all write bits clear) or we may
    not. Root may write anything, so the bits are the user's intent."""
    info = info or os.stat(path)
    return not stat.S_IMODE(info.st_mode) & 0o222 or \
        not os.access(path, os.W_OK)


def write_atomically(path: str, data: bytes,
                     expected: bytes | None = None) -> None:
    """Replace ``path`` by ``data`` via a temporary file and a rename,
    keeping the file's permission bits (and owner where allowed).

    A symbolic link is kept: its target is replaced. A read-only file is
    refused (PermissionError), and so is a file whose content is no longer
    ``expected`` (another run or an editor changed it since we read it).
    """
    path = os.path.realpath(path)
    info = os.stat(path)
    if is_read_only(path, info):
        raise PermissionError(errno.EACCES, "read-only file; left as it was")
    folder = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".nsa-tmp",
        dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        if hasattr(os, "chown"):
            try:
                os.chown(temp, info.st_uid, info.st_gid)
            except OSError:
                pass  # not ours to give away; the mode bits still hold
        if expected is not None:
            with open(path, "rb") as stream:
                if stream.read(len(expected) + 1) != expected:
                    raise OSError(errno.EBUSY, "changed while being fixed; "
                                  "left as it was")
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def fix_paths(paths: Iterable[str], settings: Settings, options: FixOptions,
              jobs: int = 1, chunk: int = 16) -> Iterator[FileFix]:
    """Results in the order of ``paths``; ``jobs`` > 1 uses processes.
    Writes are atomic, so a worker that dies loses only its file."""
    return map_in_order(_fix_item, list(paths), (settings, options), jobs,
                        _worker_died, chunk)


def _fix_item(path: str, settings: Settings, options: FixOptions) -> FileFix:
    # ``fix_file`` is looked up at call time (tests replace it).
    return fix_file(path, settings, options)


def _worker_died(path: str) -> FileFix:
    return FileFix(path, error="worker process died while fixing this file")


@dataclass
class Summary:
    """Totals of a fix run, printed at its end."""

    scanned: int = 0
    changed: int = 0
    parsed_by_libcst: int = 0
    fixes: Counter = field(default_factory=Counter)
    not_fixable: Counter = field(default_factory=Counter)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    skipped_fixes: list[tuple[str, int, str, str]] = field(
        default_factory=list)

    def add(self, result: FileFix) -> None:
        self.scanned += 1
        self.changed += result.changed
        self.parsed_by_libcst += result.parsed_by_libcst
        self.fixes.update(result.fixes)
        self.not_fixable.update(result.not_fixable)
        if result.error:
            self.skipped_files.append((result.path, result.error))
        for line, code, reason in result.skipped:
            self.skipped_fixes.append((result.path, line, code, reason))

    def lines(self, written: bool) -> list[str]:
        verb = "changed" if written else "would change"
        out = [f"files scanned: {self.scanned}",
               f"files {verb}: {self.changed}",
               f"files parsed by libcst: {self.parsed_by_libcst}"]
        total = sum(self.fixes.values())
        out.append(f"fixes: {total}" + "".join(
            f"\n  {code}: {n}" for code, n in sorted(self.fixes.items())))
        if self.not_fixable:
            out.append("not auto-fixable (fix by hand): " + ", ".join(
                f"{code} x{n}" for code, n in sorted(
                    self.not_fixable.items())))
        if self.skipped_fixes:
            out.append(f"findings left unfixed: {len(self.skipped_fixes)}")
            out.extend(f"  {path}:{line}: {code} {reason}"
                       for path, line, code, reason in self.skipped_fixes)
        if self.skipped_files:
            out.append(f"files skipped: {len(self.skipped_files)}")
            out.extend(f"  {path}: {reason}"
                       for path, reason in self.skipped_files)
        return out


def add_fix_arguments(parser) -> None:
    """The ``fix`` subcommand's own options (selection is shared)."""
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff; write nothing")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file would change")
    parser.add_argument("--max-workers", type=_positive, default=None,
                        help="NSA101 bound to add (default: config, 8)")
    parser.add_argument("--max-backlog", type=_positive, default=None,
                        help="NSA102 backlog bound (default: config, 64)")
    parser.add_argument("--masker", default=None,
                        help="NSA302/NSA502 masker (default "
                             "oslo_utils.strutils.mask_password)")
    parser.add_argument("--url-masker", default=None,
                        help="URL-credential masker, pkg.mod.function "
                             "(default: a private helper added per module)")
    parser.add_argument("--reuse-lock", default=None, metavar="NAME",
                        help="NSA2xx: reuse the module's lock NAME where "
                             "the code already holds it")


def _positive(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive "
                                         "whole number")
    return number


def run(args, settings: Settings) -> int:
    """The ``fix`` subcommand: exit 0 done, 1 ``--check`` found work,
    2 a file could not be read or fixed."""
    import sys

    from nova_secaudit.discovery import iter_python_files

    changes = {key: getattr(args, key) for key in
               ("max_workers", "max_backlog", "masker", "url_masker")
               if getattr(args, key, None) is not None}
    if changes:
        settings = settings.replace(**changes)
    write = not (args.diff or args.check)
    options = FixOptions(codes=fixable_codes(settings), write=write,
                         diff=args.diff, reuse_lock=args.reuse_lock)
    summary = Summary()
    files, errors = [], 0
    for path, error in iter_python_files(args.paths):
        if error:
            summary.scanned += 1
            summary.skipped_files.append((path, error))
            errors += 1
        else:
            files.append(path)
    for result in fix_paths(files, settings, options, args.jobs):
        summary.add(result)
        errors += result.error is not None and not result.parsed_by_libcst
        if result.diff:
            sys.stdout.write(result.diff)
    report = sys.stderr if args.diff else sys.stdout
    for line in summary.lines(write):
        print(line, file=report)
    if errors:
        return 2
    return 1 if args.check and summary.changed else 0
