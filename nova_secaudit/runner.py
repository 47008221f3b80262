"""Checking many files: the CLI's engine loop, with suppressions applied,
fingerprints computed, a results cache and an optional process pool.

Results always come back in the order of the paths given, so ``--jobs N``
prints exactly what ``--jobs 1`` prints.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from nova_secaudit.analysis import source_lines
from nova_secaudit.baseline import fingerprints as make_fingerprints
from nova_secaudit.cache import ResultsCache, content_digest
from nova_secaudit.engine import Finding, check
from nova_secaudit.parallel import (
    DEFAULT_FILE_TIMEOUT, map_in_order, preload_libcst)
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
    # sha256 of the bytes analysed (for the cache); None when unread.
    digest: str | None = None
    # False when the result depends on more than the file (a worker that
    # crashed or overran its time): never cached.
    cacheable: bool = True


def default_jobs() -> int:
    return os.cpu_count() or 1


def check_file(path: str, settings: Settings,
               data: bytes | None = None, fixes: bool = False) -> FileResult:
    """Findings for one file, with ``# noqa`` / ``# pylint: disable``;
    with ``fixes``, also each finding's proposed codemod fix."""
    digest = None
    try:
        if data is None:
            data = read_bytes(path)
        digest = content_digest(data)
        text = decode_source(data)
        errors: list[str] = []  # rules' internal errors, one line each
        tree = parse_text(text, path)
        findings = check(tree, path, settings, errors=errors, source=text,
                         suppress=True)
        if not (fixes and findings):
            tree = None  # freed now: only proposing fixes reads it again
    except SourceError as exc:
        return FileResult(path, error=str(exc), digest=digest)
    except RecursionError:
        return FileResult(path, error="too deeply nested to analyse",
                          digest=digest)
    error = "; ".join(errors) or None
    if not findings:
        return FileResult(path, error=error, fixes=[] if fixes else None,
                          digest=digest)
    result = FileResult(path, findings, error,
                        fingerprints=make_fingerprints(findings,
                                                       source_lines(text)),
                        digest=digest)
    if fixes:
        from nova_secaudit.reporting.fixes import propose_fixes

        result.fixes = propose_fixes(text, path, findings, settings, tree)
    return result


def _check_item(path: str, settings: Settings, fixes: bool) -> FileResult:
    # ``check_file`` is looked up at call time (tests replace it).
    return check_file(path, settings, fixes=fixes)


def check_paths(paths: Iterable[str], settings: Settings,
                jobs: int = 1, chunk: int = 16,
                cache: ResultsCache | None = None,
                progress: Callable[[int], None] | None = None,
                fixes: bool = False,
                timeout: float | None = DEFAULT_FILE_TIMEOUT
                ) -> Iterator[FileResult]:
    """Results in the order of ``paths``; ``jobs`` > 1 uses processes.

    With ``cache``, files whose content, tool and configuration are unchanged
    are not analysed again; ``progress(n)`` is called as n more files finish.
    ``fixes`` adds each finding's proposed fix (libcst; slower) to results;
    libcst then runs in worker processes even with one job, each file
    limited to ``timeout`` seconds.

    Memory stays flat in the number of files: a cache lookup hashes a file
    and lets its bytes go; the worker reads the file again and the cache
    stores the digest of the bytes it analysed.
    """
    paths = list(paths)
    ready: dict[int, FileResult] = {}
    todo: list[int] = []
    for index, path in enumerate(paths):
        hit = None
        if cache is not None:
            try:
                hit = cache.get(path, content_digest(read_bytes(path)),
                                fixes)
            except SourceError:
                hit = None  # the worker reports it
        if hit is None:
            todo.append(index)
        else:
            findings, prints, error, proposals = hit
            ready[index] = FileResult(path, findings, error, prints,
                                      cached=True, fixes=proposals)
    if progress and ready:
        progress(len(ready))
    died = functools.partial(_fixes_died, settings) if fixes \
        else _worker_died
    if fixes and todo:
        preload_libcst()
    work = map_in_order(_check_item, [paths[i] for i in todo],
                        (settings, fixes), jobs, died, chunk,
                        isolate=fixes, timeout=timeout if fixes else None)
    for index, result in zip(todo, work):
        ready[index] = result
        if progress:
            progress(1)
        if cache is not None and result.digest and result.cacheable:
            cache.put(result.path, result.digest, result.findings,
                      result.fingerprints, result.error, result.fixes)
    if cache is not None:
        cache.save()
    for index in range(len(paths)):
        yield ready[index]


def _worker_died(path: str, reason: str) -> FileResult:
    return FileResult(path, error=f"{reason} while checking this file",
                      cacheable=False)


def _fixes_died(settings: Settings, path: str, reason: str) -> FileResult:
    """The findings without fixes, when computing fixes crashed or hung.

    What crashes or hangs is libcst (the engine is the one ``check
    --format text`` runs in-process), so the findings are worked out again
    here and only the proposed fixes are missing.
    """
    result = check_file(path, settings)
    result.fixes = [None] * len(result.findings)
    note = f"{reason} while computing fixes; findings reported without fixes"
    result.error = f"{result.error}; {note}" if result.error else note
    result.cacheable = False
    return result
