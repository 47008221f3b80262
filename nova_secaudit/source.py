"""Reading and parsing one file, turning every way it can fail into a
one-line :class:`SourceError` so a run reports it and goes on."""

from __future__ import annotations

import ast
import io
import os
import tokenize

MAX_FILE_BYTES = 20 * 1024 * 1024


class SourceError(Exception):
    """A file that cannot be analysed; ``str()`` is the one-line reason."""


def decode_source(data: bytes) -> str:
    """Bytes -> text using the PEP 263 cookie (UTF-8 by default, BOM ok)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing" in str(exc):
            # No cookie and the first lines are not UTF-8.
            raise SourceError("not valid utf-8 and no encoding "
                              "declaration") from None
        raise SourceError(f"bad encoding declaration: {exc}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not valid {exc.encoding} at byte {exc.start}: "
            f"{exc.reason}") from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_text(text: str, path: str) -> ast.Module:
    if "\x00" in text:
        raise SourceError("contains NUL bytes; not Python source")
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        if exc.offset:
            where += f", column {exc.offset}"
        raise SourceError(f"syntax error at {where}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to parse") from None
    except ValueError as exc:
        raise SourceError(str(exc).splitlines()[0]) from None


def read_bytes(path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    if os.path.isdir(path):
        raise SourceError("is a directory")
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise SourceError(f"file too large ({size} bytes; limit "
                              f"{max_bytes})")
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None


def load_module(path: str, max_bytes: int = MAX_FILE_BYTES
                ) -> tuple[str, ast.Module]:
    """(text, tree) of a file, or SourceError."""
    text = decode_source(read_bytes(path, max_bytes))
    return text, parse_text(text, path)
