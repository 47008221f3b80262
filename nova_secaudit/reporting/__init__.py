"""Output formats of ``nova-secaudit check --format``.

Every format renders the same :class:`Report`: the files' results (already
filtered by a baseline, if any), the effective settings and the files that
could not be checked. A format is a module with ``render(report) -> str``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Iterator

from nova_secaudit.analysis import source_lines
from nova_secaudit.engine import Finding
from nova_secaudit.runner import FileResult
from nova_secaudit.settings import Settings
from nova_secaudit.source import SourceError, decode_source, read_bytes

FORMATS = ("text", "json", "sarif", "github", "html")


@dataclass
class Report:
    results: list[FileResult]
    settings: Settings = field(default_factory=Settings)
    # (path, one-line reason) for paths that could not be checked.
    errors: list[tuple[str, str]] = field(default_factory=list)
    baseline_matched: int = 0
    # False: leave proposed fixes out (``check --no-fixes``).
    with_fixes: bool = True
    _sources: dict = field(default_factory=dict, repr=False)

    def findings(self) -> Iterator[tuple[Finding, str]]:
        """``(finding, fingerprint)`` in path order, then position."""
        for result in self.results:
            yield from zip(result.findings, result.fingerprints)

    @property
    def count(self) -> int:
        return sum(len(result.findings) for result in self.results)

    def source(self, path: str) -> str | None:
        """The text of ``path`` (read once), or None when unreadable or
        not a file this run checked (a finding never makes a report read
        any other file)."""
        if not self._sources:
            self._sources.update(
                (result.path, False) for result in self.results)
        if self._sources.get(path) is False:
            try:
                self._sources[path] = decode_source(read_bytes(path))
            except SourceError:
                self._sources[path] = None
        text = self._sources.get(path)
        return None if text is False else text

    def lines(self, path: str) -> list[str]:
        text = self.source(path)
        return source_lines(text) if text is not None else []


def char_column(line_text: str, byte_col: int) -> int:
    """0-based UTF-8 byte offset in a line -> 0-based character offset."""
    if line_text.isascii():
        return byte_col
    encoded = line_text.encode("utf-8")
    return len(encoded[:byte_col].decode("utf-8", errors="ignore"))


def render(report: Report, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"nova_secaudit.reporting.{fmt}_format")
    return module.render(report)
