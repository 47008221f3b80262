"""Checking many files: the CLI's engine loop, with suppressions applied."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from nova_secaudit.engine import Finding, check
from nova_secaudit.settings import Settings
from nova_secaudit.source import SourceError, load_module
from nova_secaudit.suppressions import is_suppressed, suppressed_lines


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def check_file(path: str, settings: Settings) -> FileResult:
    """Findings for one file, with ``# noqa`` / ``# pylint: disable``."""
    try:
        text, tree = load_module(path)
        errors: list[str] = []  # rules' internal errors, one line each
        findings = check(tree, path, settings, errors=errors)
    except SourceError as exc:
        return FileResult(path, error=str(exc))
    except RecursionError:
        return FileResult(path, error="too deeply nested to analyse")
    if findings:
        lines = suppressed_lines(text)
        if lines:
            findings = [f for f in findings if not is_suppressed(
                f, lines, "W6" + f.code[3:])]
    return FileResult(path, findings, "; ".join(errors) or None)


def _check_many(paths: list[str], settings: Settings) -> list[FileResult]:
    return [check_file(path, settings) for path in paths]


def check_paths(paths: Iterable[str], settings: Settings,
                jobs: int = 1, chunk: int = 16) -> Iterator[FileResult]:
    """Results in the order of ``paths``; ``jobs`` > 1 uses processes."""
    paths = list(paths)
    if jobs <= 1 or len(paths) <= chunk:
        for path in paths:
            yield check_file(path, settings)
        return
    chunks = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        for results in pool.map(_check_many, chunks,
                                [settings] * len(chunks)):
            yield from results
