"""Identifier tokens: ``_CELL_CACHE_LOCK`` -> (cell, cache, lock).

Rules match whole tokens, never substrings, so ``block``, ``clock`` and
``secret_ref`` are not mistaken for a lock or a secret.
"""

from __future__ import annotations

import functools
import re

_CAMEL_BOUNDARY = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@functools.lru_cache(maxsize=8192)
def name_tokens(identifier: str) -> tuple[str, ...]:
    """Lower-case tokens of an identifier split on ``_`` and camelCase."""
    tokens = []
    for chunk in identifier.split("_"):
        tokens.extend(t.lower() for t in _CAMEL_BOUNDARY.findall(chunk))
    return tuple(tokens)


def last_name(dotted: str) -> str:
    """``a.b.c`` -> ``c``."""
    return dotted.rpartition(".")[2]
