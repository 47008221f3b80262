"""Real OpenStack releases, downloaded by name and version at test time.

Each row runs the engine over every .py file of a release (tests included)
and compares the findings of the given code prefixes with the reviewed
expectations file ``tests/expectations/<name>-<version>.txt``. Each line
there is ``path:line:col CODE  # one-line justification``; lines of other
prefixes belong to other rows. Deselect offline with ``-m 'not network'``.
"""

from __future__ import annotations

import re

import pytest

from nova_secaudit.releases import fetch_release
from nova_secaudit.runner import check_paths
from nova_secaudit.discovery import iter_python_files
from support import EVERY_RULE, EXPECTATIONS

pytestmark = [pytest.mark.network, pytest.mark.slow]

# (project, version, code prefixes reviewed for it)
REAL_CODE_CHECKS = [
    ("nova", "34.0.0", ("NSA1", "NSA4")),
    ("nova", "32.0.0", ("NSA1", "NSA4")),
    ("nova", "34.0.0", ("NSA3",)),
    ("neutron", "29.0.0", ("NSA3",)),
    ("nova", "34.0.0", ("NSA2", "NSA5")),
    ("cinder", "29.0.0", ("NSA2", "NSA5")),
    # labelled for issue 11, after the rules were written
    ("designate", "23.0.0", ("NSA1", "NSA2", "NSA3", "NSA4", "NSA5")),
]

_LINE = re.compile(r"(?P<where>\S+:\d+:\d+) (?P<code>NSA\d{3})\s+#\s*\S")


def read_expectations(name: str, version: str, prefixes) -> set[str]:
    path = EXPECTATIONS / f"{name}-{version}.txt"
    expected = set()
    if not path.exists():
        return expected
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match, f"{path.name}:{number}: not 'path:line:col CODE  # why'"
        if match.group("code").startswith(prefixes):
            expected.add(f"{match.group('where')} {match.group('code')}")
    return expected


_RESULTS: dict = {}


def release_findings(name: str, version: str):
    """(findings as 'path:line:col CODE', error lines) for a release."""
    key = (name, version)
    if key not in _RESULTS:
        root = fetch_release(name, version)
        files = [p for p, err in iter_python_files([str(root)]) if not err]
        found, errors = set(), []
        for result in check_paths(files, EVERY_RULE):
            relative = result.path[len(str(root)) + 1:]
            if result.error:
                errors.append(f"{relative}: {result.error}")
            for f in result.findings:
                found.add(f"{relative}:{f.line}:{f.col + 1} {f.code}")
        _RESULTS[key] = (found, errors, len(files))
    return _RESULTS[key]


@pytest.mark.parametrize(
    "name,version,prefixes", REAL_CODE_CHECKS,
    ids=[f"{n}-{v}-{'+'.join(p)}" for n, v, p in REAL_CODE_CHECKS])
def test_release_matches_reviewed_expectations(name, version, prefixes):
    found, errors, file_count = release_findings(name, version)
    assert file_count > 100, "the release was not unpacked as expected"
    assert not errors, "\n".join(errors)
    actual = {f for f in found if f.split()[-1].startswith(prefixes)}
    expected = read_expectations(name, version, prefixes)
    lines = [f"missing    {e}" for e in sorted(expected - actual)] + \
        [f"unexpected {a}" for a in sorted(actual - expected)]
    assert not lines, "\n" + "\n".join(lines)


def test_nova_32_scatter_gather_is_not_a_timeout_finding():
    # nova 32.0.0 nova/context.py scatter_gather_cells: wait_for_all, then
    # future.cancel() on each unfinished future (logs if cancel fails).
    found, _, _ = release_findings("nova", "32.0.0")
    assert not [f for f in found
                if f.startswith("nova/context.py:") and "NSA401" in f]


def test_text_triggers_and_line_index_lose_no_finding(monkeypatch):
    # Rules skip modules by text triggers and index only trigger lines when
    # the source is known; without it every node is visited, and the
    # secret flow is built for every logged or raised value instead of
    # only those its cheap pre-test lets through. Both must give the same
    # findings on a whole release.
    import ast

    from nova_secaudit.engine import check
    from nova_secaudit.rules import secrets

    root = fetch_release("nova", "34.0.0")
    pre_test = secrets._may_carry
    differences = []
    for path, error in iter_python_files([str(root)]):
        if error:
            continue
        text = open(path, encoding="utf-8").read()
        tree = ast.parse(text)
        monkeypatch.setattr(secrets, "_may_carry", pre_test)
        quick = check(tree, path, EVERY_RULE, source=text)
        monkeypatch.setattr(secrets, "_may_carry", lambda *args: True)
        exhaustive = check(ast.parse(text), path, EVERY_RULE)
        if quick != exhaustive:
            differences.append(f"{path}: {set(exhaustive) ^ set(quick)}")
    assert not differences, "\n".join(differences[:20])
