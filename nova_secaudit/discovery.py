"""Which files a run looks at."""

from __future__ import annotations

import fnmatch
import os
from typing import Iterator

DEFAULT_EXCLUDES = (".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv",
                    "__pycache__", ".eggs", "*.egg-info", "build", "dist",
                    "node_modules", ".nova-secaudit-cache")


def _excluded(name: str, patterns) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def iter_python_files(paths, exclude=DEFAULT_EXCLUDES
                      ) -> Iterator[tuple[str, str | None]]:
    """(path, error) pairs: every .py file under ``paths``, in a stable
    order; a path that does not exist yields an error instead."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _excluded(d, exclude))
                for name in sorted(files):
                    if name.endswith(".py") and not _excluded(name, exclude):
                        yield os.path.join(root, name), None
        elif os.path.lexists(path):
            yield path, None
        else:
            yield path, "no such file or directory"
