#!/usr/bin/env python3
"""Patch a real Nova with ``nova-secaudit fix`` and run Nova's own tests.

Steps (each printed as it runs):

1. fetch ``nova==VERSION`` from the package index by name and version
   (``nova_secaudit.releases.fetch_release``; cached, never committed) and
   copy it twice into a scratch folder: ``pristine`` and ``patched``;
2. run ``nova-secaudit fix`` on the patched copy's non-test code;
3. check the guarantees on every changed file: it parses and compiles, the
   engine reports no finding of a fixed code except those the fix reported
   as left unfixed, a second ``fix --check`` changes nothing, and
   pycodestyle finds no new E/W error (79 columns);
4. build (once; cached under the release cache) a virtualenv with Nova's
   runtime and test requirements and Nova itself;
5. run, with stestr, Nova's unit tests of every module the fix changed
   -- each test module under nova/tests/unit that imports it (``import
   nova.x.y``, ``from nova.x import y``, ``from nova.x.y import Z``), and
   ``nova/tests/unit/x/test_y.py`` when it exists -- on the pristine and
   on the patched copy; the patched copy must fail no test the pristine
   one passes.

Prints files changed, fixes per code, the tests run and their results;
``--json FILE`` writes the same as data, with the packages of the test
virtualenv (``pip freeze``) and the fixing tool's own versions, so the
figures can be reproduced. Exit 0 when every guarantee holds and the tests
pass after the patch as before.

    NOVA_SECAUDIT_CACHE=/tmp/nsa-cache python scripts/patch_nova.py
"""

from __future__ import annotations

import argparse
import ast
import csv
import filecmp
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nova_secaudit.engine import check
from nova_secaudit.releases import cache_root, fetch_release
from nova_secaudit.settings import Settings

# Test tools that only measure or lint Nova; hacking stays (test_hacking
# imports pycodestyle, and stestr's discovery imports every test module).
SKIPPED_TEST_REQUIREMENTS = ("bandit", "coverage")
# Nova's tox extras for the unit tests (pyproject optional-dependencies).
EXTRAS = ("zVMCloudConnector>=1.3.0", "oslo.vmware>=3.6.0")
# tox.ini [testenv] + [testenv:py3] settings for the unit tests.
TEST_ENV = {"LANGUAGE": "en_US", "LC_ALL": "C.UTF-8",
            "OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1",
            "OS_TEST_TIMEOUT": "160", "PYTHONDONTWRITEBYTECODE": "1",
            "NOVA_RAISE_ON_GREENLET_LEAK": "True",
            "OS_NOVA_DISABLE_EVENTLET_PATCHING": "False",
            # ddt names some ironic driver tests after the items of a set of
            # strings: with a random hash seed their ids and count change
            # from run to run, and two runs could not be compared by id.
            "PYTHONHASHSEED": "0"}


def log(message: str) -> None:
    print(f"[patch_nova {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command, **kwargs) -> subprocess.CompletedProcess:
    # Test output may hold bytes of any encoding: never fail on them.
    return subprocess.run(command, capture_output=True, text=True,
                          errors="replace", **kwargs)


# -- 2. the fix ----------------------------------------------------------
def fix_targets(tree: Path) -> list[str]:
    """Everything in the nova package but its tests (folders without a
    Python file, such as nova/locale, are not named: ``fix`` refuses a
    named folder with nothing to fix)."""
    package = tree / "nova"
    return sorted(str(p) for p in package.iterdir()
                  if p.name != "tests" and
                  (p.suffix == ".py" or
                   p.is_dir() and next(p.rglob("*.py"), None)))


def run_fix(tree: Path, jobs: int, extra=()) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nova_secaudit.cli", "fix",
               "--jobs", str(jobs), *extra, *fix_targets(tree)]
    return run(command, cwd=tree)


_SKIPPED_FIX = re.compile(r"^  (?P<path>\S+):(?P<line>\d+): (?P<code>NSA\d+) ")


def parse_summary(text: str) -> dict:
    fixes, skipped = {}, []
    in_fixes = False
    for line in text.splitlines():
        if line.startswith("fixes:"):
            in_fixes = True
            continue
        if in_fixes and re.match(r"^  NSA\d{3}: \d+$", line):
            code, count = line.strip().split(": ")
            fixes[code] = int(count)
            continue
        in_fixes = False
        match = _SKIPPED_FIX.match(line)
        if match:
            skipped.append((match["path"], int(match["line"]),
                            match["code"]))
    return {"fixes": fixes, "skipped": skipped}


def changed_files(pristine: Path, patched: Path) -> list[str]:
    """Relative paths of the .py files that differ."""
    changed = []
    for root, _, files in os.walk(patched / "nova"):
        for name in files:
            if not name.endswith(".py"):
                continue
            new = Path(root) / name
            rel = new.relative_to(patched)
            old = pristine / rel
            if not old.is_file() or not filecmp.cmp(new, old,
                                                    shallow=False):
                changed.append(rel.as_posix())  # changed or created
    return sorted(changed)


# -- 3. guarantees ---------------------------------------------------------
def pycodestyle_counts(text: str) -> dict[str, int]:
    import pycodestyle

    counts: dict[str, int] = {}

    class Collect(pycodestyle.BaseReport):
        def error(self, line, offset, message, check):
            counts[message[:4]] = counts.get(message[:4], 0) + 1

    style = pycodestyle.StyleGuide(quiet=True, max_line_length=79)
    pycodestyle.Checker(lines=io.StringIO(text).readlines(),
                        options=style.options,
                        report=Collect(style.options)).check_all()
    return counts


def check_guarantees(pristine: Path, patched: Path, changed: list[str],
                     fixed_codes: set[str], skipped: list) -> list[str]:
    problems = []
    settings = Settings()
    left_unfixed: dict[str, int] = {}
    for path, _, code in skipped:
        rel = Path(path).resolve().relative_to(patched.resolve()).as_posix()
        left_unfixed[rel] = left_unfixed.get(rel, 0) + 1
    for rel in changed:
        before = (pristine / rel).read_text(encoding="utf-8")
        after = (patched / rel).read_text(encoding="utf-8")
        try:
            tree = ast.parse(after, rel)
            compile(tree, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(f"{rel}: does not compile: {exc}")
            continue
        remaining = [f for f in check(tree, str(patched / rel), settings)
                     if f.code in fixed_codes]
        if len(remaining) > left_unfixed.get(rel, 0):
            problems.extend(f"{rel}:{f.line}: {f.code} still reported"
                            for f in remaining)
        old, new = pycodestyle_counts(before), pycodestyle_counts(after)
        for code, count in sorted(new.items()):
            if count > old.get(code, 0):
                problems.append(f"{rel}: {count - old.get(code, 0)} new "
                                f"pycodestyle {code}")
    return problems


# -- 4. the virtualenv ----------------------------------------------------
def nova_venv(source: Path, version: str) -> Path:
    venv = cache_root() / "venvs" / f"nova-{version}-tests"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    log(f"building {venv} (once)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)],
                       check=True)
    requirements = venv / "test-requirements.txt"
    requirements.write_text("".join(
        line + "\n" for line in
        (source / "test-requirements.txt").read_text().splitlines()
        if not line.strip().startswith(SKIPPED_TEST_REQUIREMENTS)))
    subprocess.run([str(python), "-m", "pip", "install", "-q",
                    "-r", str(source / "requirements.txt"),
                    "-r", str(requirements), *EXTRAS], check=True)
    # Nova itself, for its metadata and entry points; the tests import
    # the copy under test first (stestr's top_dir is the copy).
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    str(source)], check=True)
    (venv / ".complete").write_text(" ".join(EXTRAS) + "\n")
    return python


# -- 5. Nova's tests --------------------------------------------------------
# Importers taken per changed module: nova.utils or nova.context are
# imported by hundreds of test modules, and running them all twice would
# take hours on two cores; the nearest importers are the module's own.
IMPORTERS_PER_MODULE = 4


def test_modules(tree: Path, changed: list[str],
                 per_module: int = IMPORTERS_PER_MODULE
                 ) -> tuple[list[str], int]:
    """The unit test modules (relative paths) of the changed modules, and
    how many importers the bound left out. For each changed module: the
    conventional ``test_<name>.py`` and the ``per_module`` test modules
    importing it that sit nearest to it (the longest shared folder path
    below ``nova/tests/unit``, then a name naming it, then the path)."""
    importers = imported_by(tree)
    modules, left_out = set(), 0
    for rel in changed:
        if rel.startswith("nova/tests/"):
            continue
        parts = rel.split("/")[1:]
        test = "/".join(["nova/tests/unit", *parts[:-1],
                         "test_" + parts[-1]])
        if (tree / test).is_file():
            modules.add(test)
        ranked = sorted(importers.get(dotted_module(rel), ()),
                        key=lambda path: _distance(path, parts))
        modules.update(ranked[:per_module])
        left_out += max(0, len(ranked) - per_module)
    return sorted(modules), left_out


def _distance(test: str, parts: list[str]) -> tuple:
    folders = test.split("/")[3:-1]  # below nova/tests/unit
    shared = 0
    for mine, theirs in zip(parts[:-1], folders):
        if mine != theirs:
            break
        shared += 1
    stem = parts[-1][:-3]
    return (-shared, len(folders) - shared,
            stem not in test.rsplit("/", 1)[-1], test)


def dotted_module(rel: str) -> str:
    """``nova/x/y.py`` -> ``nova.x.y``; ``nova/x/__init__.py`` ->
    ``nova.x``."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_by(tree: Path) -> dict[str, set[str]]:
    """{module: test files under nova/tests/unit importing it}. ``from
    nova.x import y`` counts for ``nova.x`` and for ``nova.x.y`` (y may
    be a module); imports inside functions count too."""
    importers: dict[str, set[str]] = {}
    for path in sorted((tree / "nova" / "tests" / "unit").rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        try:
            module = ast.parse(path.read_bytes(), rel)
        except (SyntaxError, ValueError):
            continue
        package = dotted_module(rel).rpartition(".")[0]
        for name in _imported_names(module, package):
            importers.setdefault(name, set()).add(rel)
    return importers


def _imported_names(module: ast.Module, package: str):
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def environment(python: Path | None) -> dict:
    """What the figures depend on: the test virtualenv's packages (``pip
    freeze``) and the fixing tool's own Python and libcst."""
    import platform
    from importlib.metadata import version

    from nova_secaudit import __version__

    found = {"nova_secaudit": __version__, "libcst": version("libcst"),
             "fix_python": platform.python_version()}
    if python is not None:
        freeze = run([str(python), "-m", "pip", "freeze", "--all"])
        found["test_venv_packages"] = sorted(
            line for line in freeze.stdout.splitlines() if line.strip())
    return found


_TOTALS = re.compile(r"^ - (Passed|Failed|Skipped): (\d+)", re.M)


def run_tests(python: Path, tree: Path, modules: list[str],
              jobs: int) -> dict:
    names = [m[:-3].replace("/", ".") for m in modules]
    pattern = "^(" + "|".join(re.escape(n) + r"\." for n in names) + ")"
    env = dict(os.environ, **TEST_ENV)
    shutil.rmtree(tree / ".stestr", ignore_errors=True)
    run([str(python), "-m", "stestr", "init"], cwd=tree, env=env)
    started = time.monotonic()
    done = run([str(python), "-m", "stestr", "run", "--concurrency",
                str(jobs), pattern], cwd=tree, env=env)
    return {**stestr_results(python, tree, env),
            "returncode": done.returncode,
            "seconds": round(time.monotonic() - started, 1)}


def stestr_results(python: Path, tree: Path, env=None) -> dict:
    """Totals and failing test ids of the last stestr run in ``tree``."""
    env = env or dict(os.environ, **TEST_ENV)
    last = run([str(python), "-m", "stestr", "last"], cwd=tree, env=env)
    output = last.stdout + last.stderr
    totals = {kind.lower(): int(n) for kind, n in _TOTALS.findall(output)}
    failing = run([str(python), "-m", "stestr", "failing", "--list"],
                  cwd=tree, env=env)
    failed = sorted(line.strip() for line in failing.stdout.splitlines()
                    if line.strip().startswith("nova."))
    return {"passed": totals.get("passed", 0),
            "failed": totals.get("failed", 0),
            "skipped": totals.get("skipped", 0),
            "failures": failed,
            "passing": passing_ids(python, tree, env)}


def passing_ids(python: Path, tree: Path, env: dict) -> list[str]:
    """Ids of the tests that passed in the last stestr run in ``tree``
    (its subunit stream, read with python-subunit from Nova's venv)."""
    stream = subprocess.run([str(python), "-m", "stestr", "last",
                             "--subunit"], capture_output=True, cwd=tree,
                            env=env).stdout
    table = subprocess.run([str(python.parent / "subunit2csv")],
                           input=stream, capture_output=True).stdout
    rows = csv.reader(io.StringIO(table.decode("utf-8", "replace")))
    return sorted(row[0] for row in rows
                  if len(row) > 1 and row[1] == "success")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="34.0.0")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", default=None,
                        help="scratch folder (default: a temporary one)")
    parser.add_argument("--skip-tests", action="store_true",
                        help="fix and check guarantees only")
    parser.add_argument("--json", default=None, help="write results here")
    parser.add_argument("--reuse-before", action="store_true",
                        help="with --workdir: keep the pristine copy and "
                             "take its test results from its last stestr "
                             "run; only the patched copy is made again")
    args = parser.parse_args(argv)

    source = fetch_release("nova", args.version)
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="nsa-nova-"))
    pristine, patched = scratch / "pristine", scratch / "patched"
    reuse = args.reuse_before and patched.is_dir() and pristine.is_dir()
    for copy in (patched,) if reuse else (pristine, patched):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy)
    log(f"nova {args.version} copied to "
        f"{patched if reuse else scratch}")

    done = run_fix(patched, args.jobs)
    print(done.stdout, end="")
    summary = parse_summary(done.stdout)
    changed = changed_files(pristine, patched)
    results = {"version": args.version, "files_changed": len(changed),
               "changed": changed, "fixes": summary["fixes"],
               "left_unfixed": len(summary["skipped"]),
               "fix_exit": done.returncode}
    log(f"fix exit {done.returncode}: {len(changed)} files changed, "
        f"fixes {summary['fixes']}")

    problems = check_guarantees(pristine, patched, changed,
                                set(summary["fixes"]), summary["skipped"])
    again = run_fix(patched, args.jobs, ["--check"])
    if again.returncode != 0:
        problems.append("a second run would change files:\n" + again.stdout)
    results["guarantee_problems"] = problems
    log(f"guarantees: {'all hold' if not problems else problems}")

    ok = not problems and done.returncode == 0
    results["environment"] = environment(None)
    if not args.skip_tests:
        python = nova_venv(source, args.version)
        results["environment"] = environment(python)
        modules, left_out = test_modules(patched, changed)
        log(f"{len(modules)} test modules ({left_out} more importers left "
            f"out): {' '.join(modules)}")
        if args.reuse_before and (pristine / ".stestr").is_dir():
            before = {**stestr_results(python, pristine), "seconds": 0}
        else:
            before = run_tests(python, pristine, modules, args.jobs)
        log(f"before the patch: {before['passed']} passed, "
            f"{before['failed']} failed, {before['skipped']} skipped "
            f"({before['seconds']} s)")
        after = run_tests(python, patched, modules, args.jobs)
        log(f"after the patch:  {after['passed']} passed, "
            f"{after['failed']} failed, {after['skipped']} skipped "
            f"({after['seconds']} s)")
        new_failures = sorted(set(after["failures"]) -
                              set(before["failures"]))
        # Passed before, not after: failed, or no longer ran at all.
        lost = sorted(set(before["passing"]) - set(after["passing"]))
        results.update(test_modules=modules,
                       importers_left_out=left_out, tests_before=before,
                       tests_after=after, new_failures=new_failures,
                       passing_only_before=lost)
        if new_failures:
            log("failing only after the patch: " + " ".join(new_failures))
        if lost:
            log("passing only before the patch: " + " ".join(lost))
        ok = ok and not new_failures and not lost and \
            after["passed"] > 0 and after["passing"] != []
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    log("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
