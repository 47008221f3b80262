"""What a CLI run pays for beyond the checks: a text ``check`` never
imports libcst nor the other report formats, and the cyclic garbage
collector runs rarely (checking leaves no cycles: see test_engine)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """\
import json, sys
from nova_secaudit.cli import main
code = main(sys.argv[1:])
import gc
print(gc.get_threshold()[0])
print(json.dumps(sorted(m for m in sys.modules
                        if m.startswith(("libcst", "nova_secaudit")))))
"""
DEFERRED = ("libcst", "nova_secaudit.codemods",
            "nova_secaudit.reporting.fixes",
            "nova_secaudit.reporting.json_format",
            "nova_secaudit.reporting.sarif_format",
            "nova_secaudit.reporting.html_format")


def probe(*argv: str) -> tuple[int, list[str]]:
    """(the young-generation GC threshold, our modules and libcst's
    imported) after ``main(argv)`` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv],
                          capture_output=True, text=True, check=True)
    *_, threshold, modules = done.stdout.splitlines()
    return int(threshold), json.loads(modules)


def imported_after(*argv: str) -> list[str]:
    return probe(*argv)[1]


def deferred_in(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith(DEFERRED)]


def test_text_check_with_a_fixable_finding_imports_no_libcst(tmp_path):
    (tmp_path / "a.py").write_text("import futurist\n\n"
                                   "futurist.ThreadPoolExecutor()\n")
    modules = imported_after("check", "--jobs", "1", "--no-cache",
                             "--exit-zero", str(tmp_path))
    assert "nova_secaudit.rules" in modules  # the check did run
    assert deferred_in(modules) == []


def test_sarif_check_imports_what_it_needs(tmp_path):
    # The probe can tell: the same run with fixes on loads them.
    (tmp_path / "a.py").write_text("import futurist\n\n"
                                   "futurist.ThreadPoolExecutor()\n")
    modules = imported_after("check", "--jobs", "1", "--no-cache",
                             "--exit-zero", "--format", "sarif", "-o",
                             str(tmp_path / "r.sarif"), str(tmp_path))
    assert {"libcst", "nova_secaudit.reporting.sarif_format",
            "nova_secaudit.reporting.fixes"} <= set(modules)


def test_the_garbage_collector_runs_rarely_in_a_run(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    threshold, _ = probe("check", "--jobs", "1", "--no-cache",
                         str(tmp_path))
    assert threshold >= 100_000  # the interpreter's default is 700
