#!/usr/bin/env python3
"""``nova-secaudit fix --check`` vs libcst's runner, over nova 34.0.0.

Both sides run over the same files with the same ``--jobs``:

* ours: ``nova-secaudit fix --check`` -- the stdlib-``ast`` engine checks
  every file and libcst parses only the files with a fixable finding;
* libcst: ``python -m libcst.tool codemod`` running a no-op
  ``VisitorBasedCodemodCommand`` -- libcst parses, visits and prints every
  file, which is the least any libcst-runner codemod costs.

Wall-clock seconds, best of ``--repeat`` runs each; prints the ratio
(target: ours at least 5x faster).

    NOVA_SECAUDIT_CACHE=/tmp/nsa-cache python bench/bench_fix.py --jobs 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nova_secaudit.releases import package_dir

REPO = Path(__file__).resolve().parent.parent
NOOP = '''\
from libcst.codemod import VisitorBasedCodemodCommand


class NoOp(VisitorBasedCodemodCommand):
    DESCRIPTION = "Changes nothing: the cost of libcst's runner itself."
'''


def timed(command, cwd, env) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True,
                          text=True, errors="replace")
    return time.perf_counter() - started, done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="34.0.0")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)

    package = package_dir("nova", args.version)
    with tempfile.TemporaryDirectory(prefix="nsa-bench-fix-") as scratch:
        tree = Path(scratch) / "nova"
        shutil.copytree(package, tree)  # --check writes nothing; a copy
        (Path(scratch) / "nsa_noop.py").write_text(NOOP)  # anyway
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [scratch, str(REPO), os.environ.get("PYTHONPATH", "")]))
        ours_cmd = [sys.executable, "-m", "nova_secaudit.cli", "fix",
                    "--check", "--jobs", str(args.jobs), str(tree)]
        theirs_cmd = [sys.executable, "-m", "libcst.tool", "codemod",
                      "--no-format", "--hide-progress",
                      f"-j{args.jobs}", "-x", "nsa_noop.NoOp", str(tree)]
        ours = theirs = float("inf")
        for _ in range(args.repeat):
            seconds, done = timed(ours_cmd, scratch, env)
            if done.returncode not in (0, 1):
                print(done.stdout, done.stderr, file=sys.stderr)
                return 2
            ours = min(ours, seconds)
            summary = done.stdout
            seconds, done = timed(theirs_cmd, scratch, env)
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 2
            theirs = min(theirs, seconds)
        files = sum(1 for _ in tree.rglob("*.py"))
    parsed = next((line for line in summary.splitlines()
                   if line.startswith("files parsed by libcst")), "")
    print(f"nova {args.version}: {files} files, --jobs {args.jobs}")
    print(f"  nova-secaudit fix --check : {ours:7.1f} s  ({parsed})")
    print(f"  libcst.tool no-op codemod : {theirs:7.1f} s  (every file)")
    print(f"  ratio                     : {theirs / ours:7.1f}x "
          f"(target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
