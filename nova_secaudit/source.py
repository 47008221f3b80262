"""Reading and parsing one file, turning every way it can fail into a
one-line :class:`SourceError` so a run reports it and goes on.

What counts as source, and what does not:

* Bytes are decoded with the PEP 263 cookie (UTF-8 by default); a UTF-8 BOM
  is accepted and dropped, so columns match what flake8 and pylint report.
  Invalid bytes, an unknown or contradictory cookie, and NUL bytes are
  errors that name the line.
* CRLF, lone CR and mixed line endings are left to the tokenizer, which
  treats each as one line break (as CPython does when importing).
* Only regular files are read (a FIFO or device named ``x.py`` would block
  or never end), and at most ``max_bytes`` of them: a larger file is
  reported without reading it. The limit bounds memory, not just time:
  parsing takes about 200 times the file's size (libcst more), so the
  default 4 MB (over twice Nova's largest module, 1.5 MB) keeps one file
  under about 1 GB.
* Nesting too deep for the parser (10,000 parentheses, a 5,000-deep if or
  elif chain) is a one-line error; ``RecursionError`` and the parser's
  ``MemoryError`` never escape.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import stat
import tokenize

MAX_FILE_BYTES = 4 * 1024 * 1024


class SourceError(Exception):
    """A file that cannot be analysed; ``str()`` is the one-line reason."""


def one_line(text: str, limit: int = 200) -> str:
    """``text`` squeezed onto one line and cut at ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable_path(path: str) -> str:
    """``path`` safe to print on one line in any report: control and
    format characters (a newline in a file name could forge a finding
    line; U+202E reorders text) and undecodable bytes (surrogate-escaped
    by ``os.fsdecode``) become backslash escapes."""
    if path.isprintable():
        return path
    out = []
    for char in path:
        code = ord(char)
        if char.isprintable():
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
    return "".join(out)


def _line_of(data: bytes, offset: int) -> int:
    # Every line-ending convention counts once: CRLF, lone LF, lone CR.
    head = data[:offset]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def decode_source(data: bytes) -> str:
    """Bytes -> text using the PEP 263 cookie (UTF-8 by default, BOM ok)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        # detect_encoding also fails on undecodable bytes in the first two
        # lines when there is no cookie; say what is really wrong.
        if "invalid or missing" in str(exc):
            encoding = "utf-8"
        else:
            raise SourceError(
                f"bad encoding declaration: {one_line(exc)}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not valid {exc.encoding} at line {_line_of(data, exc.start)} "
            f"(byte {exc.start}): {exc.reason}") from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    return text  # a BOM made detect_encoding answer utf-8-sig: gone


def parse_text(text: str, path: str) -> ast.Module:
    """The ``ast`` tree of ``text``, or a one-line SourceError."""
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise SourceError(f"NUL byte at line {line}; not Python source")
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        if exc.offset:
            where += f", column {exc.offset}"
        raise SourceError(
            f"syntax error at {where}: {one_line(exc.msg)}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to parse") from None
    except ValueError as exc:
        raise SourceError(one_line(exc)) from None


def read_bytes(path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The contents of a regular file of at most ``max_bytes`` bytes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SourceError(_os_reason(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise SourceError("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise SourceError("not a regular file")
    if info.st_size > max_bytes:
        raise SourceError(f"file too large ({info.st_size} bytes; limit "
                          f"{max_bytes})")
    try:
        with open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(_os_reason(exc)) from None
    if len(data) > max_bytes:  # grew while we looked
        raise SourceError(f"file too large (over {max_bytes} bytes)")
    return data


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "cannot read: symbolic link loop"
    return f"cannot read: {one_line(exc.strerror or exc)}"


def load_module(path: str, max_bytes: int = MAX_FILE_BYTES
                ) -> tuple[str, ast.Module]:
    """(text, tree) of a file, or SourceError."""
    text = decode_source(read_bytes(path, max_bytes))
    return text, parse_text(text, path)
