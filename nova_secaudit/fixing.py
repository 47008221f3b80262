"""``nova-secaudit fix``: run the codemods over files, safely.

The run is cheap where there is nothing to fix: every file goes through the
stdlib-``ast`` engine first, and only a file with a finding some codemod can
fix is parsed by libcst, in a worker process (also with one job: libcst can
crash or hang on hostile input; see parallel.py). A transformed file is
kept only when it parses and compiles again; when it does not, each fix is
tried alone and only those that break the file are dropped (and reported:
the run then exits 2). It is written atomically (a temporary file in the
same folder, then ``os.replace``) with its encoding, byte-order mark, line
endings (a CR-only file too, which libcst alone would not reproduce; a file
libcst cannot reproduce byte for byte is left alone), trailing-newline state
and permissions as they were.

Write policy (see tests/test_codemod_safety.py):

* Atomic: a fix run killed at any moment leaves every file either as it
  was or fully fixed, never partial; at worst a hidden ``.NAME.*.nsa-tmp``
  file is left beside it, which no later run reads.
* Permission bits (setuid and setgid too: chmod comes after chown, which
  clears them), owner and group (where allowed) are kept; the file's
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

from nova_secaudit.analysis import source_lines
from nova_secaudit.engine import Finding, check
from nova_secaudit.parallel import (
    DEFAULT_FILE_TIMEOUT, map_in_order, preload_libcst)
from nova_secaudit.settings import Settings
from nova_secaudit.source import SourceError, decode_source, parse_text, \
    printable_path, read_bytes


@dataclass
class FixOptions:
    """What to fix and how; ``codes`` are the codes the user enabled."""

    codes: frozenset[str]
    write: bool = True
    diff: bool = False
    reuse_lock: str | None = None
    unsafe_fixes: bool = False
    # One URL-credential helper per package, added after the run (False
    # under libcst's runner: a helper per module).
    shared_helper: bool = True


@dataclass
class FileFix:
    """What happened to one file."""

    path: str
    changed: bool = False
    parsed_by_libcst: bool = False
    fixes: Counter = field(default_factory=Counter)
    not_fixable: Counter = field(default_factory=Counter)
    # Unsafe fixes not applied because --unsafe-fixes was not given.
    held_back: Counter = field(default_factory=Counter)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    # (line, code, why) of fixes dropped because the codemod failed.
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    error: str | None = None
    diff: str = ""
    # The package's helper module this file's fix imports the helper from.
    helper_home: str | None = None
    # The fixed text, kept only for a possible helper home in a run that
    # writes nothing (the helper then goes on top of it).
    new_text: str | None = None


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

    lone_cr = "\r" in text and "\n" not in text
    if lone_cr:  # libcst drops a CR-only file's last line end
        text = text.replace("\r", "\n")
    module = cst.parse_module(text)
    result.parsed_by_libcst = True
    if module.code != text:
        raise ValueError("libcst does not reproduce this file unchanged "
                         "(mixed line endings?); left as it was")
    present = set(options.codes if present is None else present)
    known = (module, text, findings) if findings is not None else None
    for command in ORDER:
        codes = [c for c in command.CODES if c in present]
        if not codes:
            continue
        context = CodemodContext(filename=path)
        codemod = command(context, settings=settings, codes=codes,
                          reuse_lock=options.reuse_lock, known=known,
                          unsafe_fixes=options.unsafe_fixes,
                          shared_helper=options.shared_helper)
        try:
            module = codemod.transform_module(module)
        except SkipFile:
            pass
        else:
            result.helper_home = getattr(codemod, "helper_home", None) or \
                result.helper_home
        result.fixes.update(codemod.fixed)
        result.held_back.update(found.code for found in codemod.held_back)
        for found, reason in codemod.skipped:
            result.skipped.append((found.line, found.code, reason))
    return module.code.replace("\n", "\r") if lone_cr else module.code


def _transform_each(text: str, path: str, settings: Settings,
                    options: FixOptions, result: FileFix, codes: set[str],
                    budget: int) -> str:
    """``text`` with each fix applied on its own and kept only when the
    file still compiles; a fix that does not is recorded in
    ``result.failed``. The engine runs again after every kept fix, since
    fixes move the findings after them."""
    from nova_secaudit.codemods import ORDER

    current = text
    for command in ORDER:
        mine_codes = codes & set(command.CODES)
        dropped = 0
        for _ in range(budget + 1 if mine_codes else 0):
            tree = parse_text(current, path)
            mine = [f for f in _findings(tree, current, path, settings)
                    if f.code in mine_codes]
            if dropped >= len(mine):
                break
            found = mine[dropped]
            attempt = FileFix(path)
            try:
                new_text = transform_text(current, path, settings, options,
                                          attempt, {found.code}, [found])
                problem = verify(new_text, path) if new_text != current \
                    else ""
            except Exception as exc:  # noqa: BLE001 - a codemod bug
                problem = f"codemod failed: {describe_exception(exc)}"
            result.skipped.extend(attempt.skipped)
            if problem is None:
                result.fixes.update(attempt.fixes)
                current = new_text
                continue
            dropped += 1
            if problem and not attempt.skipped:
                result.failed.append((_line_before(text, current, found.line),
                                      found.code, problem.split(";")[0]))
    return current


def _line_before(original: str, current: str, line: int) -> int:
    """Where line ``line`` of ``current`` (``original`` with some fixes
    applied) was in ``original``, so reports name the file's own lines."""
    matcher = difflib.SequenceMatcher(a=source_lines(original),
                                      b=source_lines(current), autojunk=False)
    for tag, old_start, _, new_start, new_end in matcher.get_opcodes():
        if new_start < line <= new_end:
            return old_start + 1 + (line - 1 - new_start if tag == "equal"
                                    else 0)
    return line


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
        # Straight from the text: building ast's Python objects first
        # would double the cost (a report verifies a fix per finding).
        compile(new_text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"fixed text would not compile ({exc}); fix dropped"
    except (RecursionError, MemoryError):
        return "fixed text too deeply nested to compile; fix dropped"
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
    if new_text != text and verify(new_text, path) is not None:
        # Some fix does not compile: keep the others, one at a time.
        result.fixes.clear()
        result.skipped.clear()
        new_text = _transform_each(text, path, settings, options, result,
                                   {f.code for f in fixable}, len(fixable))
    if new_text == text:
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
    if not options.write and is_helper_home_name(path):
        # the package helper may go on top of it (helpers.py)
        result.new_text = new_text
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


def is_helper_home_name(path: str) -> bool:
    """Whether ``path`` could be a package's URL-helper home."""
    from nova_secaudit.analysis.masking import HELPER_HOMES

    return os.path.splitext(os.path.basename(path))[0] in HELPER_HOMES


def _patch_lines(text: str) -> list[str]:
    # Lines as patch(1) and git count them: split on LF only. (splitlines()
    # would also split on form feeds, lone CRs, U+2028, ... and shift every
    # hunk after them.)
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + \
        ([lines[-1]] if lines[-1] else [])


def diff_path(path: str) -> str:
    """``path`` as a patch names it: relative to the current directory,
    with ``/`` separators (``git apply`` resolves it against the work
    tree's top when run there)."""
    return os.path.relpath(path).replace(os.sep, "/")


def unified_diff(old: str | None, new: str, path: str) -> str:
    """A unified diff that ``git apply`` and ``patch -p1`` accept: ``a/``
    and ``b/`` prefixes (``/dev/null`` for a new file, ``old`` None), and
    the ``\\ No newline at end of file`` marker where a file lacks one."""
    out = []
    name = diff_path(path)
    for line in difflib.unified_diff(_patch_lines(old or ""),
                                     _patch_lines(new),
                                     fromfile="/dev/null" if old is None
                                     else "a/" + name,
                                     tofile="b/" + name):
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
        if hasattr(os, "chown"):
            try:
                os.chown(temp, info.st_uid, info.st_gid)
            except OSError:
                pass  # not ours to give away; the mode bits still hold
        # After chown, which clears the setuid and setgid bits.
        os.chmod(temp, stat.S_IMODE(info.st_mode))
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
              jobs: int = 1, chunk: int = 16,
              timeout: float | None = DEFAULT_FILE_TIMEOUT
              ) -> Iterator[FileFix]:
    """Results in the order of ``paths``, worked out in worker processes
    (also with one job: libcst can crash or hang on hostile input), each
    file limited to ``timeout`` seconds. Writes are atomic, so a worker
    that dies loses only its file."""
    preload_libcst()
    return map_in_order(_fix_item, list(paths), (settings, options), jobs,
                        _worker_died, chunk, isolate=True, timeout=timeout)


def _fix_item(path: str, settings: Settings, options: FixOptions) -> FileFix:
    # ``fix_file`` is looked up at call time (tests replace it).
    return fix_file(path, settings, options)


def _worker_died(path: str, reason: str) -> FileFix:
    return FileFix(path, error=f"{reason} while fixing this file; "
                               "left as it was")


@dataclass
class Summary:
    """Totals of a fix run, printed at its end."""

    scanned: int = 0
    changed: int = 0
    parsed_by_libcst: int = 0
    fixes: Counter = field(default_factory=Counter)
    not_fixable: Counter = field(default_factory=Counter)
    held_back: Counter = field(default_factory=Counter)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    skipped_fixes: list[tuple[str, int, str, str]] = field(
        default_factory=list)
    # (helper home, error or "") of the shared URL-credential helper.
    helpers: list[tuple[str, str]] = field(default_factory=list)
    failed_fixes: list[tuple[str, int, str, str]] = field(
        default_factory=list)

    def add(self, result: FileFix) -> None:
        self.scanned += 1
        self.changed += result.changed
        self.parsed_by_libcst += result.parsed_by_libcst
        self.fixes.update(result.fixes)
        self.not_fixable.update(result.not_fixable)
        self.held_back.update(result.held_back)
        if result.error:
            self.skipped_files.append((result.path, result.error))
        for line, code, reason in result.skipped:
            self.skipped_fixes.append((result.path, line, code, reason))
        for line, code, reason in result.failed:
            self.failed_fixes.append((result.path, line, code, reason))

    def add_helper(self, result: FileFix) -> None:
        self.helpers.append((result.path, result.error or ""))
        if result.error:
            self.skipped_files.append((result.path, result.error))
        elif result.changed:
            self.changed += 1

    def lines(self, written: bool) -> list[str]:
        verb = "changed" if written else "would change"
        out = [f"files scanned: {self.scanned}",
               f"files {verb}: {self.changed}",
               f"files parsed by libcst: {self.parsed_by_libcst}"]
        total = sum(self.fixes.values())
        out.append(f"fixes: {total}" + "".join(
            f"\n  {code}: {n}" for code, n in sorted(self.fixes.items())))
        for path, error in self.helpers:
            if not error:
                out.append(f"URL-credential helper added once for its "
                           f"package: {path} (mask_url_credentials)")
        if self.held_back:
            out.append(
                f"unsafe fixes held back: {sum(self.held_back.values())} "
                "(" + ", ".join(f"{code} x{n}" for code, n in
                                sorted(self.held_back.items())) +
                "; apply with --unsafe-fixes after review)")
        if self.not_fixable:
            out.append("not auto-fixable (fix by hand): " + ", ".join(
                f"{code} x{n}" for code, n in sorted(
                    self.not_fixable.items())))
        if self.skipped_fixes:
            out.append(f"findings left unfixed: {len(self.skipped_fixes)}")
            out.extend(f"  {printable_path(path)}:{line}: {code} {reason}"
                       for path, line, code, reason in self.skipped_fixes)
        if self.failed_fixes:
            out.append(f"fixes dropped (codemod failed): "
                       f"{len(self.failed_fixes)}")
            out.extend(f"  {printable_path(path)}:{line}: {code} {reason}"
                       for path, line, code, reason in self.failed_fixes)
        if self.skipped_files:
            out.append(f"files skipped: {len(self.skipped_files)}")
            out.extend(f"  {printable_path(path)}: {reason}"
                       for path, reason in self.skipped_files)
        return out


def add_fix_arguments(parser) -> None:
    """The ``fix`` subcommand's own options (selection is shared)."""
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff; write nothing")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file would change")
    parser.add_argument("--unsafe-fixes", action="store_true",
                        help="also apply fixes that may change behaviour "
                             "beyond the defect (NSA102, NSA301 with a new "
                             "type; see docs/codemods.md)")
    parser.add_argument("--max-workers", type=_positive, default=None,
                        help="NSA101 bound to add (default: config, 8)")
    parser.add_argument("--max-backlog", type=_positive, default=None,
                        help="NSA102 backlog bound (default: config, 64)")
    parser.add_argument("--masker", default=None, type=function_name,
                        help="NSA302/NSA502 masker (default "
                             "oslo_utils.strutils.mask_password)")
    parser.add_argument("--url-masker", default=None, type=function_name,
                        help="URL-credential masker, pkg.mod.function "
                             "(default: one helper per package, see "
                             "docs/codemods.md)")
    parser.add_argument("--reuse-lock", default=None, metavar="NAME",
                        type=lock_name,
                        help="NSA2xx: reuse the module's lock NAME where "
                             "the code already holds it")


def function_name(value: str) -> str:
    """argparse type: ``pkg.module.function`` and nothing else (it is
    written into the fixed code)."""
    import argparse

    from nova_secaudit.settings import function_name_problem

    problem = function_name_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{value!r} {problem}")
    return value


def lock_name(value: str) -> str:
    """argparse type: a (dotted) name such as ``_LOCK`` or
    ``self._lock``; it is written into the fixed code."""
    import argparse
    import keyword

    if not all(part.isidentifier() and not keyword.iskeyword(part)
               for part in value.split(".")):
        raise argparse.ArgumentTypeError(f"{value!r} is not a (dotted) "
                                         "Python name")
    return value


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


def with_fix_arguments(settings: Settings, args) -> Settings:
    """``settings`` with the fix options given on the command line."""
    changes = {key: getattr(args, key) for key in
               ("max_workers", "max_backlog", "masker", "url_masker")
               if getattr(args, key, None) is not None}
    return settings.replace(**changes) if changes else settings


def run(args, settings: Settings) -> int:
    """The ``fix`` subcommand: exit 0 done, 1 ``--check`` found work,
    2 a file could not be read, fixed or written, or a fix failed (the
    summary says which)."""
    import sys

    from nova_secaudit.discovery import iter_python_files
    from nova_secaudit.helpers import add_shared_helpers
    from nova_secaudit.progress import Progress

    settings = with_fix_arguments(settings, args)
    write = not (args.diff or args.check)
    options = FixOptions(codes=fixable_codes(settings), write=write,
                         diff=args.diff, reuse_lock=args.reuse_lock,
                         unsafe_fixes=args.unsafe_fixes)
    summary = Summary()
    files, errors = [], 0
    for path, error in iter_python_files(args.paths):
        if error:
            print(f"{path}: error: {error}", file=sys.stderr)
            errors += 1
        else:
            files.append(path)
    results = []
    with Progress(len(files)) as advance:
        for result in fix_paths(files, settings, options, args.jobs,
                                timeout=args.file_timeout):
            summary.add(result)
            errors += result.error is not None or bool(result.failed)
            if result.diff and not result.new_text:
                sys.stdout.write(result.diff)
            results.append(result)
            if advance:
                advance(1)
    for result in add_shared_helpers(results, options):
        summary.add_helper(result)
        errors += result.error is not None
        if result.diff:
            sys.stdout.write(result.diff)
    helpers = {os.path.abspath(path) for path, _ in summary.helpers}
    for result in results:  # a helper home changed by its own fixes only
        if result.new_text and os.path.abspath(result.path) not in helpers:
            sys.stdout.write(result.diff)
    report = sys.stderr if args.diff else sys.stdout
    for line in summary.lines(write):
        print(line, file=report)
    if errors:
        return 2
    return 1 if args.check and summary.changed else 0
