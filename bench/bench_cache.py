"""Results cache: a second ``nova-secaudit check`` over an unchanged tree.

Runs the real command line (a fresh interpreter each time, as a user or
pre-commit would) over a release's whole package, tests included:

  cold: an empty cache directory (every file parsed and checked, the cache
        written), then
  warm: the same command again (every file read and hashed, findings served
        from the cache).

Prints both times, that the outputs are identical, and warm/cold speedup.
Target: speedup >= 10. Each pair is repeated and the best of each kept, so
background load on a shared machine does not decide the ratio.

Usage: python bench/bench_cache.py [--release nova==34.0.0] [--repeat 3]
                                   [--jobs 1] [--format text] [--path DIR]
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

from nova_secaudit.releases import package_dir, parse_spec


def snapshot(scratch: Path) -> Path:
    """A frozen copy of the package: the cache key includes a hash of the
    tool's own code, so edits made meanwhile in a shared checkout would
    otherwise (rightly) invalidate the cache between the two runs."""
    import nova_secaudit

    target = scratch / "snapshot"
    shutil.copytree(Path(nova_secaudit.__file__).resolve().parent,
                    target / "nova_secaudit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run(tree: Path, cache_dir: Path, jobs: int, fmt: str,
        pythonpath: Path) -> tuple[float, str]:
    command = [sys.executable, "-m", "nova_secaudit.cli", "check",
               "--exit-zero", "--jobs", str(jobs), "--cache-dir",
               str(cache_dir), "--format", fmt, str(tree)]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(pythonpath)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 2):  # 2: a file in the tree is broken
        raise SystemExit(f"check failed ({done.returncode}): {done.stderr}")
    return elapsed, done.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="nova==34.0.0")
    parser.add_argument("--path", default=None,
                        help="benchmark this directory instead of a release")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1,
                        help="--jobs for both runs (default 1: the ratio "
                             "then measures the cache, not the pool)")
    parser.add_argument("--format", default="text",
                        help="output format (json/sarif/html also cache "
                             "the codemods' fix proposals)")
    parser.add_argument("--target", type=float, default=10.0)
    args = parser.parse_args(argv)
    tree = Path(args.path) if args.path else package_dir(
        *parse_spec(args.release))
    files = sum(1 for _ in tree.rglob("*.py"))
    cold_best = warm_best = float("inf")
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="nsa-bench-") as scratch:
            frozen = snapshot(Path(scratch))
            cache_dir = Path(scratch) / ".nova-secaudit-cache"
            cold, cold_out = run(tree, cache_dir, args.jobs, args.format,
                                 frozen)
            warm, warm_out = run(tree, cache_dir, args.jobs, args.format,
                                 frozen)
        if cold_out != warm_out:
            print("cached output differs from the uncached output",
                  file=sys.stderr)
            return 1
        cold_best, warm_best = min(cold_best, cold), min(warm_best, warm)
    ratio = cold_best / warm_best
    print(f"tree: {tree} ({files} .py files), --jobs {args.jobs}, "
          f"--format {args.format}, best of {args.repeat}")
    print(f"first run (empty cache): {cold_best:8.2f} s")
    print(f"second run (unchanged):  {warm_best:8.2f} s")
    print("outputs identical: yes")
    print(f"speedup second/first: {ratio:.1f}x (target >= "
          f"{args.target:g}x): {'ok' if ratio >= args.target else 'MISSED'}")
    return 0 if ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
