"""The pylint plugin's cost: pylint with ``--load-plugins`` of ours vs
pylint alone, over nova/compute of a release (tests excluded).

Two measurements, target <= 1.10 for both:

* Whole ``pylint --jobs=1`` processes with pylint's default checkers, with
  and without the plugin; their CPU time (user + system) comes from the
  kernel. The runs alternate and the best of each is kept. A run takes
  half a minute, and the machine's speed drifts by 10 - 20 % over that
  time here, so this ratio moves by as much from round to round.
* In one process with the plugin loaded: the CPU time the plugin spends
  (its import, and its checkers' ``process_module``: reading, parsing,
  the engine) against the rest of the run. Both are measured at the same
  moments, so drift cancels out: ratio = whole run / (whole run - plugin).

Usage: python bench/bench_pylint.py [--release nova==34.0.0]
                                    [--subdir compute] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_cli import child_environment, source_files
from bench_cli import run as measured_run
from nova_secaudit.releases import package_dir, parse_spec


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    return measured_run(command, env)[0]


# Runs pylint in this process with the plugin's checkers timed; writes
# {"total": CPU s of the whole process, "plugin": CPU s of ours} to argv[1].
ATTRIBUTING_DRIVER = """\
import json, sys, time
clock = time.process_time
started = clock()
import nova_secaudit.pylint_plugin as plugin
spent = [clock() - started]
for checker in plugin.CHECKERS:
    def timed(self, node, _original=checker.process_module):
        began = clock()
        try:
            return _original(self, node)
        finally:
            spent[0] += clock() - began
    checker.process_module = timed
from pylint.lint import Run
Run(sys.argv[2:], exit=False)
with open(sys.argv[1], "w") as out:
    json.dump({"total": clock(), "plugin": spent[0]}, out)
"""


def attributed_ratio(arguments: list[str], env: dict[str, str],
                     scratch: Path) -> float:
    """Whole run / (whole run - plugin), measured in one process."""
    report = scratch / "attributed.json"
    subprocess.run([sys.executable, "-c", ATTRIBUTING_DRIVER, str(report),
                    *arguments], stdout=subprocess.DEVNULL, env=env,
                   check=True)
    times = json.loads(report.read_text())
    return times["total"] / (times["total"] - times["plugin"])


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
        ratios, attributed = [], []
        for _ in range(args.repeat):
            alone = cpu_seconds(base + files, env)
            loaded = cpu_seconds(ours + files, env)
            plain, with_plugin = min(plain, alone), min(with_plugin, loaded)
            ratios.append(loaded / alone)
            attributed.append(attributed_ratio(ours[3:] + files, env,
                                               Path(scratch)))
    print(f"{root}: {len(files)} files (tests excluded), pylint --jobs=1, "
          f"{args.repeat} rounds")
    print(f"pylint             {plain:7.2f} s CPU (best)")
    print(f"pylint + plugin    {with_plugin:7.2f} s CPU (best)")
    print(f"plugin ratio       {with_plugin / plain:7.3f}  best/best; per "
          f"round {min(ratios):.3f} - {max(ratios):.3f}  (target <= 1.10)")
    print(f"in one process     {statistics.median(attributed):7.3f}  whole "
          f"run / run minus the plugin, median; per round "
          f"{min(attributed):.3f} - {max(attributed):.3f}  (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
