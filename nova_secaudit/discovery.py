"""Which files a run looks at.

Directories are walked in a stable (sorted) order. Symbolic links to
directories are not followed, so a link loop (``d/up -> ..``) cannot make a
walk endless; a symbolic link to a file is checked like the file, and one
that loops or dangles is reported as that file's one-line error. A directory
named ``x.py`` is walked, not read. A directory that cannot be listed is an
error for that directory, and the walk goes on.

Nothing given is dropped without a word: a directory with no Python file
and a named file that is not Python (no ``.py`` suffix, no ``python``
``#!`` line, say a ``.txt``) are errors, so a typo cannot pass as clean.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Iterator

DEFAULT_EXCLUDES = (".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv",
                    "__pycache__", ".eggs", "*.egg-info", "build", "dist",
                    "node_modules", ".nova-secaudit-cache")


def _excluded(name: str, patterns) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def _reason(exc: OSError) -> str:
    return " ".join(str(exc.strerror or exc).split())


def iter_python_files(paths, exclude=DEFAULT_EXCLUDES
                      ) -> Iterator[tuple[str, str | None]]:
    """(path, error) pairs: every .py file under ``paths``, in a stable
    order; a path that does not exist or a directory that cannot be listed
    yields an error instead."""
    for path in paths:
        if os.path.isdir(path):
            reported = 0
            failed: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=failed.append):
                while failed:
                    exc = failed.pop(0)
                    reported += 1
                    yield (exc.filename or root,
                           f"cannot list directory: {_reason(exc)}")
                dirs[:] = sorted(d for d in dirs if not _excluded(d, exclude))
                for name in sorted(files):
                    if name.endswith(".py") and not _excluded(name, exclude):
                        reported += 1
                        yield os.path.join(root, name), None
            for exc in failed:
                reported += 1
                yield exc.filename or path, \
                    f"cannot list directory: {_reason(exc)}"
            if not reported:  # nothing to check and nothing said
                yield path, "no Python files found"
        elif not os.path.lexists(path):
            yield path, "no such file or directory"
        elif _maybe_python(path):
            yield path, None
        else:
            yield path, "not a Python file (no .py suffix, no python #! line)"


def _maybe_python(path: str) -> bool:
    """A .py file, a script with a ``python`` ``#!`` line, or anything the
    reader must judge itself (a FIFO is never opened here)."""
    if path.endswith(".py") or not os.path.isfile(path):
        return True
    try:
        with open(path, "rb") as stream:
            first = stream.readline(256)
    except OSError:
        return True  # the reader reports why it cannot be read
    return first.startswith(b"#!") and b"python" in first
