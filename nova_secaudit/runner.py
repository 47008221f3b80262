"""Checking many files: the CLI's engine loop, with suppressions applied,
fingerprints computed, a results cache and an optional process pool.

Results always come back in the order of the paths given, so ``--jobs N``
prints exactly what ``--jobs 1`` prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from nova_secaudit.analysis import source_lines
from nova_secaudit.baseline import fingerprints as make_fingerprints
from nova_secaudit.cache import ResultsCache, content_digest
from nova_secaudit.engine import Finding, check
from nova_secaudit.parallel import map_in_order
from nova_secaudit.settings import Settings
from nova_secaudit.source import (
    SourceError, decode_source, parse_text, read_bytes)


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    # One stable fingerprint per finding (see baseline.py), same order.
    fingerprints: list[str] = field(default_factory=list)
    cached: bool = False
    # With ``fixes=True``: the codemod's proposal (or None) per finding.
    fixes: list | None = None


def default_jobs() -> int:
    return os.cpu_count() or 1


def check_file(path: str, settings: Settings,
               data: bytes | None = None, fixes: bool = False) -> FileResult:
    """Findings for one file, with ``# noqa`` / ``# pylint: disable``;
    with ``fixes``, also each finding's proposed codemod fix."""
    try:
        if data is None:
            data = read_bytes(path)
        text = decode_source(data)
        errors: list[str] = []  # rules' internal errors, one line each
        # The tree is not kept: it is freed before any fix is proposed.
        findings = check(parse_text(text, path), path, settings,
                         errors=errors, source=text, suppress=True)
    except SourceError as exc:
        return FileResult(path, error=str(exc))
    except RecursionError:
        return FileResult(path, error="too deeply nested to analyse")
    error = "; ".join(errors) or None
    if not findings:
        return FileResult(path, error=error, fixes=[] if fixes else None)
    result = FileResult(path, findings, error,
                        fingerprints=make_fingerprints(findings,
                                                       source_lines(text)))
    if fixes:
        from nova_secaudit.reporting.fixes import propose_fixes

        result.fixes = propose_fixes(text, path, findings, settings)
    return result


def _check_item(item: tuple[str, bytes | None], settings: Settings,
                fixes: bool) -> FileResult:
    # ``check_file`` is looked up at call time (tests replace it).
    path, data = item
    return check_file(path, settings, data, fixes)


def check_paths(paths: Iterable[str], settings: Settings,
                jobs: int = 1, chunk: int = 16,
                cache: ResultsCache | None = None,
                progress: Callable[[int], None] | None = None,
                fixes: bool = False) -> Iterator[FileResult]:
    """Results in the order of ``paths``; ``jobs`` > 1 uses processes.

    With ``cache``, files whose content, tool and configuration are unchanged
    are not analysed again; ``progress(n)`` is called as n more files finish.
    ``fixes`` adds each finding's proposed fix (libcst; slower) to results.
    """
    paths = list(paths)
    ready: dict[int, FileResult] = {}
    todo: list[int] = []
    digests: dict[int, str] = {}
    contents: dict[int, bytes] = {}
    if cache is not None:
        for index, path in enumerate(paths):
            try:
                data = read_bytes(path)
            except SourceError as exc:
                ready[index] = FileResult(path, error=str(exc))
                continue
            digest = content_digest(data)
            hit = cache.get(path, digest, fixes)
            if hit is None:
                digests[index] = digest
                contents[index] = data
                todo.append(index)
            else:
                findings, prints, error, proposals = hit
                ready[index] = FileResult(path, findings, error, prints,
                                          cached=True, fixes=proposals)
        if progress and ready:
            progress(len(ready))
    else:
        todo = list(range(len(paths)))

    for index, result in zip(todo, _run(
            [paths[i] for i in todo], [contents.get(i) for i in todo],
            settings, jobs, chunk, progress, fixes)):
        ready[index] = result
        if cache is not None and index in digests and \
                result.error != WORKER_DIED:
            cache.put(result.path, digests[index], result.findings,
                      result.fingerprints, result.error, result.fixes)
    if cache is not None:
        cache.save()
    for index in range(len(paths)):
        yield ready[index]


def _run(paths: list[str], contents: list[bytes | None], settings: Settings,
         jobs: int, chunk: int, progress, fixes: bool
         ) -> Iterator[FileResult]:
    for result in map_in_order(_check_item, list(zip(paths, contents)),
                               (settings, fixes), jobs, _worker_died, chunk):
        yield result
        if progress:
            progress(1)


WORKER_DIED = "worker process died while checking this file"


def _worker_died(item: tuple[str, bytes | None]) -> FileResult:
    return FileResult(item[0], error=WORKER_DIED)
