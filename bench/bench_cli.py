"""What a user waits for: whole ``nova-secaudit check`` processes.

Every command runs as its own process over the same files (a release
without its tests); the CPU time (user + system) and peak RSS of each come
from the kernel. Printed as ratios measured in one invocation, the commands
alternating round by round so load that comes and goes hits both sides:

  text/parse   ``check --jobs 1 --no-cache`` / a script that only reads
               and ``ast.parse``s the same files       (target <= 1.5)
  sarif/text   ``check --format sarif`` (fixes on) / the text run
                                                       (target <= 3)
  rss 2x/1x    peak RSS of ``check --jobs 1`` over two copies of the
               files / one copy, with the results cache (in a scratch
               directory) and with --no-cache          (target <= 1.1)

Children keep bytecode in a scratch directory (see child_environment).

Usage: python bench/bench_cli.py [--release nova==34.0.0] [--repeat 5]
                                 [--skip sarif,rss]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from nova_secaudit.releases import package_dir, parse_spec

PARSE_ONLY = """\
import ast, sys
for path in sys.argv[1:]:
    with open(path, "rb") as stream:
        ast.parse(stream.read(), path)
"""


def source_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.py")
                  if "tests" not in p.relative_to(root).parts)


def child_environment(scratch: Path) -> dict[str, str]:
    """Children keep their bytecode, as an installed tool does (pip
    compiles it), in a scratch directory: without it, an environment with
    PYTHONDONTWRITEBYTECODE compiles every module of ours each run."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def run(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(CPU seconds, peak RSS in KiB) of one process running ``command``;
    the exit status must say the run worked (0 clean, 1 findings)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"exit {code}: {' '.join(command[:6])} ...")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def check_command(files: list[str], *options: str) -> list[str]:
    return [sys.executable, "-m", "nova_secaudit.cli", "check", "--jobs",
            "1", *options, *files]


def spread(values: list[float]) -> str:
    """Range and median of per-round ratios."""
    return f"{min(values):.3f} - {max(values):.3f} " \
        f"(median {statistics.median(values):.3f})"


def time_ratios(files: list[str], repeat: int, sarif: bool,
                scratch: Path, env: dict[str, str]) -> None:
    parse_cmd = [sys.executable, "-c", PARSE_ONLY, *files]
    text_cmd = check_command(files, "--no-cache")
    sarif_cmd = check_command(files, "--no-cache", "--format", "sarif",
                              "-o", str(scratch / "report.sarif"))
    commands = [parse_cmd, text_cmd] + ([sarif_cmd] if sarif else [])
    for command in commands:  # warm up the bytecode and the disk cache
        run(command[:-len(files)] + files[:1], env)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, seconds in zip(commands, times):
            seconds.append(run(command, env)[0])
    parse, text = times[0], times[1]
    per_round = [t / p for t, p in zip(text, parse)]
    print(f"read + ast.parse   {min(parse):7.3f} s CPU (best)")
    print(f"check (text)       {min(text):7.3f} s CPU (best)")
    print(f"text/parse         {min(text) / min(parse):7.3f}  best/best; "
          f"per round {spread(per_round)}  (target <= 1.5)")
    if sarif:
        fixes = times[2]
        per_round = [f / t for f, t in zip(fixes, text)]
        print(f"check (sarif)      {min(fixes):7.3f} s CPU (best)")
        print(f"sarif/text         {min(fixes) / min(text):7.3f}  "
              f"best/best; per round {spread(per_round)}  (target <= 3)")


def rss_ratio(root: Path, repeat: int, scratch: Path,
              env: dict[str, str]) -> None:
    """Peak RSS over one copy of the files and over two copies, with the
    results cache (in a fresh scratch directory each run) and without."""
    copies = []
    for name in ("one", "two"):
        target = scratch / name / root.name
        shutil.copytree(root, target,
                        ignore=shutil.ignore_patterns("tests", "*.pyc"))
        copies.append(target)
    files = sum(1 for _ in copies[0].rglob("*.py"))
    for label, cached in (("cache on", True), ("--no-cache", False)):
        single, double = [], []
        for index in range(repeat):
            for paths, peaks in ((copies[:1], single), (copies, double)):
                options = ["--cache-dir", str(
                    scratch / f"cache-{label}-{index}-{len(paths)}")] \
                    if cached else ["--no-cache"]
                peaks.append(run(check_command(
                    [str(p) for p in paths], *options), env)[1])
        per_round = [d / s for d, s in zip(double, single)]
        print(f"peak RSS ({label}) {files} files {min(single) / 1024:.1f}"
              f" MiB, {2 * files} files {min(double) / 1024:.1f} MiB")
        print(f"rss 2x/1x ({label})  {min(double) / min(single):6.3f}  "
              f"best/best; per round {spread(per_round)}  (target <= 1.1)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="nova==34.0.0")
    parser.add_argument("--path", help="a source tree instead of a release")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip", default="",
                        help="comma-separated: sarif, rss")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    root = Path(args.path) if args.path else \
        package_dir(*parse_spec(args.release))
    files = source_files(root)
    print(f"{root}: {len(files)} files (tests excluded), "
          f"{args.repeat} rounds, CPU time of whole processes")
    with tempfile.TemporaryDirectory(prefix="nsa-bench-cli-") as scratch:
        scratch = Path(scratch)
        env = child_environment(scratch)
        time_ratios(files, args.repeat, "sarif" not in skip, scratch, env)
        if "rss" not in skip:
            rss_ratio(root, args.repeat, scratch, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
