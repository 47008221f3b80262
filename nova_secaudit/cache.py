"""Results cache: a file's findings keyed by its content, the tool and the
effective configuration.

The cache lives in ``.nova-secaudit-cache/`` (JSON, never pickle: a cache
directory inside a checkout is not trusted input). One shard per (tool,
configuration) pair holds ``path -> (content sha256, findings,
fingerprints, error)``; an entry is used only when the file's bytes hash to
the stored digest. The tool part hashes the installed package's own source,
so editing a rule invalidates results even before the version changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from nova_secaudit import __version__
from nova_secaudit.engine import Finding
from nova_secaudit.settings import Settings

CACHE_DIR_NAME = ".nova-secaudit-cache"
CACHE_FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent
_tool_digest: str | None = None


def tool_digest() -> str:
    """Version plus a hash of every module of the installed package."""
    global _tool_digest
    if _tool_digest is None:
        digest = hashlib.sha256(f"{__version__}\0{CACHE_FORMAT}".encode())
        for module in sorted(_PACKAGE.rglob("*.py")):
            digest.update(module.relative_to(_PACKAGE).as_posix().encode())
            digest.update(module.read_bytes())
        # Racing threads compute the same digest; either may store it.
        _tool_digest = digest.hexdigest()  # noqa: NSA202
    return _tool_digest


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def finding_to_json(found: Finding) -> list:
    return [found.path, found.line, found.col, found.code, found.message,
            found.symbol, found.end_line, found.end_col,
            [list(pair) for pair in found.fix_data]]


def finding_from_json(data: list) -> Finding:
    (path, line, col, code, message, symbol, end_line, end_col,
     fix_data) = data
    return Finding(path, line, col, code, message, symbol, end_line, end_col,
                   tuple(tuple(pair) for pair in fix_data))


class ResultsCache:
    """Load a shard at the start of a run, :meth:`save` it at the end."""

    def __init__(self, settings: Settings,
                 directory: str | os.PathLike = CACHE_DIR_NAME):
        self.directory = Path(directory)
        key = hashlib.sha256(
            f"{tool_digest()}\0{settings.cache_key()}".encode()).hexdigest()
        self.shard = self.directory / f"results-{key[:24]}.json"
        self.hits = self.misses = 0
        self._entries: dict[str, list] = self._load()
        self._updated: dict[str, list] = {}

    def _load(self) -> dict:
        try:
            document = json.loads(self.shard.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or \
                document.get("format") != CACHE_FORMAT:
            return {}
        entries = document.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, path: str, digest: str, fixes: bool = False):
        """``(findings, fingerprints, error, fixes or None)``, or None on a
        miss; an entry stored without fixes misses when ``fixes`` is asked.
        """
        from nova_secaudit.reporting.fixes import proposal_from_json

        entry = self._entries.get(path)
        stored = entry[4] if entry is not None and len(entry) > 4 else None
        if entry is None or entry[0] != digest or fixes and stored is None:
            self.misses += 1
            return None
        try:
            findings = [finding_from_json(item) for item in entry[1]]
            proposals = None if stored is None else \
                [proposal_from_json(item) for item in stored]
            if proposals is not None and len(proposals) != len(findings):
                raise ValueError("fixes do not match findings")
        except (TypeError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return findings, list(entry[2]), entry[3], proposals

    def put(self, path: str, digest: str, findings, fingerprints,
            error: str | None, fixes=None) -> None:
        from nova_secaudit.reporting.fixes import proposal_to_json

        self._updated[path] = self._entries[path] = [
            digest, [finding_to_json(f) for f in findings],
            list(fingerprints), error,
            None if fixes is None else [proposal_to_json(p) for p in fixes]]

    def save(self) -> None:
        """Write the shard atomically (concurrent runs never see half).

        Entries another run saved meanwhile are kept: pre-commit runs
        several batches of files at once over the same cache.
        """
        if not self._updated:
            return
        self._entries = {**self._load(), **self._updated}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _mark_directory(self.directory)
            handle, temporary = tempfile.mkstemp(
                dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"format": CACHE_FORMAT, "entries": self._entries},
                          stream, separators=(",", ":"))
            os.replace(temporary, self.shard)
        except OSError:
            return  # a read-only tree still gets its results, uncached
        self._updated = {}


def _mark_directory(directory: Path) -> None:
    """Keep the cache out of git and out of backups, as pytest/ruff do."""
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by nova-secaudit.\n*\n",
                          encoding="utf-8")
    tag = directory / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                       "# This is a nova-secaudit results cache.\n",
                       encoding="utf-8")
