"""A text ``check`` never imports libcst nor the other report formats: a
run pays at start-up only for what it prints."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """\
import json, sys
from nova_secaudit.cli import main
code = main(sys.argv[1:])
print(json.dumps(sorted(m for m in sys.modules
                        if m.startswith(("libcst", "nova_secaudit")))))
"""
DEFERRED = ("libcst", "nova_secaudit.codemods",
            "nova_secaudit.reporting.fixes",
            "nova_secaudit.reporting.json_format",
            "nova_secaudit.reporting.sarif_format",
            "nova_secaudit.reporting.html_format")


def imported_after(*argv: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


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
