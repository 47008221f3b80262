"""Stable finding fingerprints and baselines of accepted findings.

A fingerprint hashes what a finding *is*, not where it sits: the code, the
file's path, the reported source line with whitespace removed, and the
occurrence number among identical (code, path, line text) findings of the
file. Lines added or removed above a finding shift its line number but not
its fingerprint, so a baseline written today keeps matching tomorrow.
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

BASELINE_VERSION = 1


class BaselineError(ValueError):
    """A baseline file that cannot be read; the message names the file."""


def normalise_path(path: str) -> str:
    """Posix path relative to the working directory when inside it."""
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


def fingerprints(findings: Sequence[Finding], lines: Sequence[str]
                 ) -> list[str]:
    """One fingerprint per finding of one file, in the same order.

    ``lines`` are the file's source lines (without line ends); ``findings``
    must be in position order so occurrence numbers are stable.
    """
    seen: collections.Counter = collections.Counter()
    result = []
    for found in findings:
        text = lines[found.line - 1] if 0 < found.line <= len(lines) else ""
        key = (found.code, normalise_path(found.path), normalise_line(text))
        occurrence = seen[key]
        seen[key] += 1
        text_key = "\0".join((*key, str(occurrence)))
        digest = hashlib.sha256(
            text_key.encode("utf-8", "surrogateescape")).hexdigest()
        result.append(digest[:32])
    return result


def write_baseline(path: str | os.PathLike,
                   entries: Iterable[tuple[Finding, str]]) -> int:
    """Write ``(finding, fingerprint)`` pairs; returns how many."""
    records = [{
        "fingerprint": fingerprint,
        "code": found.code,
        "path": normalise_path(found.path),
        "line": found.line,
        "message": found.message,
    } for found, fingerprint in entries]
    records.sort(key=lambda r: (r["path"], r["line"], r["code"],
                                r["fingerprint"]))
    document = {"version": BASELINE_VERSION, "tool": "nova-secaudit",
                "tool_version": __version__, "findings": records}
    try:
        Path(path).write_text(json.dumps(document, indent=1) + "\n",
                              encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: "
                            f"{exc.strerror or exc}") from None
    return len(records)


def read_baseline(path: str | os.PathLike) -> collections.Counter:
    """Fingerprint -> how many findings with it the baseline accepts."""
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
            document.get("version") != BASELINE_VERSION or \
            not isinstance(document.get("findings"), list):
        raise BaselineError(f"{path}: not a nova-secaudit baseline "
                            f"(version {BASELINE_VERSION})")
    try:
        return collections.Counter(
            str(entry["fingerprint"]) for entry in document["findings"])
    except (KeyError, TypeError):
        raise BaselineError(f"{path}: baseline entry without a fingerprint"
                            ) from None


class Baseline:
    """Filters out findings the baseline accepted, each at most as often
    as it was recorded (a second copy of an accepted defect is new)."""

    def __init__(self, accepted: collections.Counter):
        self._remaining = collections.Counter(accepted)
        self.matched = 0

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Baseline":
        return cls(read_baseline(path))

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
