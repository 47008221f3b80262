"""The pylint plugin's cost: pylint with ``--load-plugins`` of ours vs
pylint alone, over nova/compute of a release (tests excluded).

Both are whole ``pylint --jobs=1`` processes with pylint's default
checkers; their CPU time (user + system) comes from the kernel. The runs
alternate and the best of each is kept. Target: ratio <= 1.10.

Usage: python bench/bench_pylint.py [--release nova==34.0.0]
                                    [--subdir compute] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_cli import child_environment, source_files
from bench_cli import run as measured_run
from nova_secaudit.releases import package_dir, parse_spec


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    return measured_run(command, env)[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="nova==34.0.0")
    parser.add_argument("--subdir", default="compute")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    root = package_dir(*parse_spec(args.release)) / args.subdir
    files = source_files(root)
    base = [sys.executable, "-m", "pylint", "--jobs=1", "--exit-zero",
            "--persistent=n", "--score=n"]
    ours = base + ["--load-plugins=nova_secaudit.pylint_plugin"]
    with tempfile.TemporaryDirectory(prefix="nsa-bench-pylint-") as scratch:
        env = child_environment(Path(scratch))
        cpu_seconds(ours + files[:1], env)  # warm the bytecode cache
        plain = with_plugin = float("inf")
        ratios = []
        for _ in range(args.repeat):
            alone = cpu_seconds(base + files, env)
            loaded = cpu_seconds(ours + files, env)
            plain, with_plugin = min(plain, alone), min(with_plugin, loaded)
            ratios.append(loaded / alone)
    print(f"{root}: {len(files)} files (tests excluded), pylint --jobs=1, "
          f"{args.repeat} rounds")
    print(f"pylint             {plain:7.2f} s CPU (best)")
    print(f"pylint + plugin    {with_plugin:7.2f} s CPU (best)")
    print(f"plugin ratio       {with_plugin / plain:7.3f}  best/best; per "
          f"round {min(ratios):.3f} - {max(ratios):.3f}  (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
