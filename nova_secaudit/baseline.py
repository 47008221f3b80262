"""Stable finding fingerprints and baselines of accepted findings.

A fingerprint hashes what a finding *is*, not where it sits: the code, the
file's path, the reported source line with whitespace removed, and the
occurrence number among identical (code, path, line text) findings of the
file. Lines added or removed above a finding shift its line number but not
its fingerprint, so a baseline written today keeps matching tomorrow.

A baseline stores paths, and fingerprints made from them, relative to the
folder the baseline file is in, so it matches from any working directory
(version 2). Version 1 baselines, whose paths are relative to the working
directory they were written from, are still read and matched that way.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

from nova_secaudit import __version__
from nova_secaudit.engine import Finding

BASELINE_VERSION = 2
_CWD_RELATIVE_VERSION = 1


class BaselineError(ValueError):
    """A baseline file that cannot be read; the message names the file."""


def normalise_path(path: str, root: str | None = None) -> str:
    """Posix path relative to the folder ``root``; without one, relative
    to the working directory when inside it."""
    if root is not None:
        try:
            return Path(os.path.relpath(os.path.realpath(path), root)
                        ).as_posix()
        except ValueError:  # another drive on Windows
            return Path(os.path.realpath(path)).as_posix()
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        relative = path
    if relative.startswith(".."):
        relative = path
    return Path(relative).as_posix()


def normalise_line(text: str) -> str:
    """Source line without any whitespace: re-indenting or re-spacing a
    line (a formatter run) keeps its findings' fingerprints."""
    return "".join(text.split())


def fingerprints(findings: Sequence[Finding], lines: Sequence[str],
                 root: str | None = None) -> list[str]:
    """One fingerprint per finding of one file, in the same order.

    ``lines`` are the file's source lines (without line ends); ``findings``
    must be in position order so occurrence numbers are stable. Paths are
    taken relative to ``root`` (see :func:`normalise_path`).
    """
    seen: collections.Counter = collections.Counter()
    result = []
    for found in findings:
        text = lines[found.line - 1] if 0 < found.line <= len(lines) else ""
        key = (found.code, normalise_path(found.path, root),
               normalise_line(text))
        occurrence = seen[key]
        seen[key] += 1
        text_key = "\0".join((*key, str(occurrence)))
        digest = hashlib.sha256(
            text_key.encode("utf-8", "surrogateescape")).hexdigest()
        result.append(digest[:32])
    return result


def baseline_folder(path: str | os.PathLike) -> str:
    """What a baseline's paths are relative to: its own folder."""
    return os.path.dirname(os.path.realpath(path))


def rooted_fingerprints(findings: Sequence[Finding], path: str,
                        root: str) -> list[str]:
    """Fingerprints of one file's findings with paths relative to
    ``root``. The file is read again: only files with findings are."""
    from nova_secaudit.analysis import source_lines
    from nova_secaudit.source import SourceError, decode_source, \
        read_bytes

    try:
        lines = source_lines(decode_source(read_bytes(path)))
    except SourceError:
        lines = []
    return fingerprints(findings, lines, root)


def write_baseline(path: str | os.PathLike, results: Iterable) -> int:
    """Record every finding of ``results`` (the runner's FileResults);
    returns how many."""
    root = baseline_folder(path)
    records = [{
        "fingerprint": fingerprint,
        "code": found.code,
        "path": normalise_path(found.path, root),
        "line": found.line,
        "message": found.message,
    } for result in results if result.findings
        for found, fingerprint in zip(result.findings, rooted_fingerprints(
            result.findings, result.path, root))]
    records.sort(key=lambda r: (r["path"], r["line"], r["code"],
                                r["fingerprint"]))
    document = {"version": BASELINE_VERSION, "tool": "nova-secaudit",
                "tool_version": __version__,
                "paths": "relative to this file's folder",
                "findings": records}
    try:
        Path(path).write_text(json.dumps(document, indent=1) + "\n",
                              encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: "
                            f"{exc.strerror or exc}") from None
    return len(records)


def read_baseline(path: str | os.PathLike) -> collections.Counter:
    """Fingerprint -> how many findings with it the baseline accepts."""
    return _read_document(path)[0]


def _read_document(path: str | os.PathLike
                   ) -> tuple[collections.Counter, int]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: "
                            f"{exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: not a baseline (bad JSON: {exc})"
                            ) from None
    except RecursionError:
        raise BaselineError(f"{path}: not a baseline (JSON nested too "
                            "deeply)") from None
    if not isinstance(document, dict) or \
            document.get("version") not in (_CWD_RELATIVE_VERSION,
                                            BASELINE_VERSION) or \
            not isinstance(document.get("findings"), list):
        raise BaselineError(f"{path}: not a nova-secaudit baseline "
                            f"(version {BASELINE_VERSION})")
    try:
        return collections.Counter(
            str(entry["fingerprint"]) for entry in document["findings"]
        ), document["version"]
    except (KeyError, TypeError):
        raise BaselineError(f"{path}: baseline entry without a fingerprint"
                            ) from None


class Baseline:
    """Filters out findings the baseline accepted, each at most as often
    as it was recorded (a second copy of an accepted defect is new)."""

    def __init__(self, accepted: collections.Counter,
                 root: str | None = None):
        self._remaining = collections.Counter(accepted)
        self.matched = 0
        # The folder paths are relative to; None: the working directory.
        self.root = root

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Baseline":
        accepted, version = _read_document(path)
        return cls(accepted, None if version == _CWD_RELATIVE_VERSION
                   else baseline_folder(path))

    def fingerprints_of(self, result) -> list[str]:
        """The fingerprints this baseline knows ``result``'s findings by
        (``result`` is the runner's FileResult)."""
        if self.root is None or not result.findings:
            return result.fingerprints
        return rooted_fingerprints(result.findings, result.path, self.root)

    def is_new(self, fingerprint: str) -> bool:
        if self._remaining[fingerprint] > 0:
            self._remaining[fingerprint] -= 1
            self.matched += 1
            return False
        return True

    @property
    def fixed(self) -> int:
        """Accepted findings no longer present (fixed since the baseline)."""
        return sum(self._remaining.values())
