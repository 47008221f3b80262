"""Fetch an OpenStack release's source from the package index, by name and
version, for real-code tests, benchmarks and ``check --release``.

Source distributions are downloaded with pip (``--no-deps --no-binary``) and
unpacked once into a cache: ``$NOVA_SECAUDIT_CACHE`` or
``~/.cache/nova-secaudit``. Nothing fetched is ever committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path


class ReleaseError(RuntimeError):
    """The release could not be fetched or unpacked."""


def cache_root() -> Path:
    root = os.environ.get("NOVA_SECAUDIT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "nova-secaudit"


def parse_spec(spec: str) -> tuple[str, str]:
    name, sep, version = spec.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise ReleaseError(f"{spec!r}: expected NAME==VERSION")
    return name.strip(), version.strip()


def fetch_release(name: str, version: str) -> Path:
    """Unpacked source tree of ``name==version`` (downloaded once)."""
    target = cache_root() / "releases" / f"{name}-{version}"
    if (target / ".complete").exists():
        return target
    with tempfile.TemporaryDirectory(prefix="nsa-fetch-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--no-binary", ":all:", "-q",
                   "-d", scratch, f"{name}=={version}"]
        done = subprocess.run(command, capture_output=True, text=True)
        archives = [p for p in Path(scratch).iterdir()
                    if p.name.endswith((".tar.gz", ".zip"))]
        if done.returncode != 0 or not archives:
            reason = (done.stderr.strip().splitlines() or ["no archive"])[-1]
            raise ReleaseError(f"cannot download {name}=={version}: {reason}")
        unpacked = Path(scratch) / "unpacked"
        _unpack(archives[0], unpacked)
        tops = list(unpacked.iterdir())
        source = tops[0] if len(tops) == 1 and tops[0].is_dir() else unpacked
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
    (target / ".complete").write_text("ok\n")
    return target


def _unpack(archive: Path, into: Path) -> None:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(into)
        return
    with tarfile.open(archive) as bundle:
        bundle.extractall(into, filter="data")


def package_dir(name: str, version: str) -> Path:
    """The importable package inside a release (``nova-34.0.0/nova``)."""
    root = fetch_release(name, version)
    candidate = root / name.replace("-", "_").replace(".", "_")
    if candidate.is_dir():
        return candidate
    for guess in (root / name.split(".")[-1], root / name.replace(".", "/")):
        if guess.is_dir():
            return guess
    return root
