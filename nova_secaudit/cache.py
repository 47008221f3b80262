"""Results cache: a file's findings keyed by its content, the tool and the
effective configuration.

Trust model (docs/integration.md): the checked tree is hostile, so it can
neither forge nor redirect the cache.

* The cache lives outside the tree, in ``$XDG_CACHE_HOME/nova-secaudit``
  (``~/.cache/nova-secaudit``), one shard per (tool source, settings,
  Python build, libcst version, absolute working directory).
* Every shard is authenticated with an HMAC-SHA256 whose key is a random
  file ``key`` (mode 0600, ours) in that folder, never in the tree; a shard
  that does not verify is not even parsed.
* The cache folder itself, its key and its shards are opened without
  following symbolic links: a folder that is a link disables the cache.
* An entry is used only when the file's bytes hash to its digest and every
  finding in it names that file; malformed entries are misses.

JSON, never pickle. One shard holds ``path -> (content sha256, findings,
fingerprints, error, fixes)``; the tool part hashes the installed package's
own source, so editing a rule invalidates results before the version does.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
from pathlib import Path

from nova_secaudit import __version__
from nova_secaudit.engine import Finding
from nova_secaudit.settings import Settings

CACHE_FORMAT = 2
KEY_BYTES = 32
# A shard larger than this is not read (a cache of ~100k files is ~60 MB).
MAX_SHARD_BYTES = 256 * 1024 * 1024
_PACKAGE = Path(__file__).resolve().parent
_tool_digest: str | None = None
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def _libcst_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("libcst")
    except metadata.PackageNotFoundError:
        return "absent"


def default_cache_root() -> Path:
    """``$XDG_CACHE_HOME/nova-secaudit`` (an absolute XDG_CACHE_HOME only,
    as the XDG spec says), else ``~/.cache/nova-secaudit``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nova-secaudit"


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def finding_to_json(found: Finding) -> list:
    return [found.path, found.line, found.col, found.code, found.message,
            found.symbol, found.end_line, found.end_col,
            [list(pair) for pair in found.fix_data]]


def finding_from_json(data: list, path: str) -> Finding:
    """A finding of ``path``; ValueError/TypeError when malformed."""
    (found_path, line, col, code, message, symbol, end_line, end_col,
     fix_data) = data
    texts = (found_path, code, message, symbol)
    numbers = (line, col, end_line, end_col)
    if found_path != path or not all(type(t) is str for t in texts) or \
            not all(type(n) is int for n in numbers) or \
            not all(type(p) is list and len(p) == 2 and
                    all(type(t) is str for t in p) for p in fix_data):
        raise ValueError("not a finding of this file")
    return Finding(path, line, col, code, message, symbol, end_line, end_col,
                   tuple(tuple(pair) for pair in fix_data))


class ResultsCache:
    """Load a shard at the start of a run, :meth:`save` it at the end.

    ``directory`` defaults to :func:`default_cache_root`; the key always
    lives there (``key_file``), outside any checked tree.
    """

    def __init__(self, settings: Settings,
                 directory: str | os.PathLike | None = None,
                 key_file: str | os.PathLike | None = None):
        root = default_cache_root()
        self.directory = Path(directory) if directory else root / "results"
        self.key_file = Path(key_file) if key_file else root / "key"
        key = hashlib.sha256("\0".join((
            tool_digest(), settings.cache_key(), sys.version,
            _libcst_version(), os.path.abspath(os.curdir))).encode(
                "utf-8", "surrogateescape")).hexdigest()
        self.shard_name = f"results-{key[:24]}.json"
        self.shard = self.directory / self.shard_name
        self.hits = self.misses = 0
        self.problem: str | None = None
        self._key = self._secret()
        self._entries: dict = self._load()
        self._updated: dict[str, list] = {}

    def _secret(self) -> bytes | None:
        try:
            return _read_or_create_key(self.key_file)
        except OSError as exc:
            self.problem = f"cache disabled: key {self.key_file}: " \
                f"{exc.strerror or exc}"
            return None

    def _load(self) -> dict:
        if self._key is None:
            return {}
        try:
            folder = _open_folder(self.directory, create=False)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._disable(exc)
            return {}
        try:
            data = _read_file(self.shard_name, folder)
        except OSError:
            return {}
        finally:
            os.close(folder)
        mac, _, body = data.partition(b"\n")
        if not hmac.compare_digest(mac, self._sign(body)):
            return {}
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return {}
        if not isinstance(document, dict) or \
                document.get("format") != CACHE_FORMAT:
            return {}
        entries = document.get("entries")
        return entries if isinstance(entries, dict) else {}

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key or b"", body,
                        hashlib.sha256).hexdigest().encode()

    def _disable(self, exc: OSError) -> None:
        reason = "is a symbolic link" if os.path.islink(self.directory) \
            else exc.strerror or str(exc)
        self.problem = f"cache disabled: {self.directory}: {reason}"
        self._key = None

    def get(self, path: str, digest: str, fixes: bool = False):
        """``(findings, fingerprints, error, fixes or None)``, or None on a
        miss; an entry stored without fixes misses when ``fixes`` is asked.
        """
        try:
            hit = self._entry(path, digest, fixes)
        except (TypeError, ValueError, RecursionError):
            hit = None
        if hit is None:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    def _entry(self, path: str, digest: str, fixes: bool):
        from nova_secaudit.reporting.fixes import proposal_from_json

        entry = self._entries.get(path)
        if type(entry) is not list or len(entry) != 5 or entry[0] != digest:
            return None
        _, found, prints, error, stored = entry
        if fixes and stored is None:
            return None
        findings = [finding_from_json(item, path) for item in found]
        if type(prints) is not list or len(prints) != len(findings) or \
                not all(type(p) is str for p in prints) or \
                not (error is None or type(error) is str):
            return None
        proposals = None if stored is None else \
            [proposal_from_json(item) for item in stored]
        if proposals is not None and len(proposals) != len(findings):
            return None
        return findings, prints, error, proposals

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
        if not self._updated or self._key is None:
            return
        self._entries = {**self._load(), **self._updated}
        body = json.dumps({"format": CACHE_FORMAT, "entries": self._entries},
                          separators=(",", ":")).encode(
                              "utf-8", "surrogateescape")
        try:
            folder = _open_folder(self.directory, create=True)
        except OSError as exc:
            self._disable(exc)
            return
        try:
            _mark_directory(folder)
            _replace_file(self.shard_name, self._sign(body) + b"\n" + body,
                          folder)
        except OSError:
            return  # a read-only cache still gives results, uncached
        finally:
            os.close(folder)
        self._updated = {}


def _open_folder(directory: Path, create: bool) -> int:
    """A descriptor of ``directory``, refused (ELOOP) when it is a link."""
    if create:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)


def _read_file(name: str, folder: int | None = None,
               limit: int = MAX_SHARD_BYTES) -> bytes:
    handle = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=folder)
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise OSError(errno.EINVAL, "not a regular file of bounded size")
        return stream.read(limit)


def _replace_file(name: str, data: bytes, folder: int,
                  mode: int = 0o600) -> None:
    temporary = f".tmp-{secrets.token_hex(8)}"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     _NOFOLLOW, mode, dir_fd=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        os.unlink(temporary, dir_fd=folder)
        raise


def _read_or_create_key(path: Path) -> bytes:
    """The HMAC key: ``path`` if it is our own 0600 regular file, else a
    new random one (created atomically: concurrent first runs agree)."""
    folder = _open_folder(path.parent, create=True)
    try:
        try:
            handle = os.open(path.name, os.O_RDONLY | _NOFOLLOW,
                             dir_fd=folder)
        except FileNotFoundError:
            temporary = f".key-{secrets.token_hex(8)}"
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT |
                             os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=folder)
            with os.fdopen(handle, "wb") as stream:
                stream.write(secrets.token_bytes(KEY_BYTES))
            try:
                os.link(temporary, path.name, src_dir_fd=folder,
                        dst_dir_fd=folder)
            except FileExistsError:
                pass  # another run made it first: use theirs
            finally:
                os.unlink(temporary, dir_fd=folder)
            handle = os.open(path.name, os.O_RDONLY | _NOFOLLOW,
                             dir_fd=folder)
        with os.fdopen(handle, "rb") as stream:
            info = os.fstat(stream.fileno())
            key = stream.read(KEY_BYTES + 1)
    finally:
        os.close(folder)
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or \
            info.st_uid != os.geteuid() or len(key) != KEY_BYTES:
        raise OSError(errno.EPERM, "not a private 0600 key file of ours")
    return key


def _mark_directory(folder: int) -> None:
    """Keep the cache out of git and out of backups, as pytest/ruff do."""
    for name, text in ((".gitignore", "# Created by nova-secaudit.\n*\n"),
                       ("CACHEDIR.TAG",
                        "Signature: 8a477f597d28d172789f06886806bc55\n"
                        "# This is a nova-secaudit results cache.\n")):
        try:
            os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            _replace_file(name, text.encode(), folder, mode=0o644)
