"""Engine speed as ratios measured in one process (machines here are noisy).

(a) ``ast.parse`` of every file vs (b) parse + our engine with every rule
family on (opt-in rules included): target (b)/(a) <= 1.5.
(c) a default flake8 run (pycodestyle, pyflakes, mccabe) over the same
files with and without our plugin loaded, in process: target <= 1.10.

Usage: python bench/bench_engine.py [--release nova==34.0.0] [--repeat 5]
       python bench/bench_engine.py --path DIR
Each file is timed both ways in turn and the ratio is the median over the
rounds, so background load that comes and goes does not decide it.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time
from pathlib import Path

from nova_secaudit.engine import check
from nova_secaudit.releases import package_dir, parse_spec
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.settings import Settings


def source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if "tests" not in p.relative_to(root).parts)


def time_parse_and_engine(sources, repeat: int
                          ) -> tuple[float, float, float]:
    """(best parse time, best parse + engine time, median ratio).

    Each file is parsed alone and then parsed and checked right after (the
    order swapped every other round, so neither side always gets the warm
    caches): both sides of the ratio are measured within milliseconds of
    each other, and a change in the machine's speed between rounds, which
    moves the best-of totals by 10 % or more here, cancels out."""
    settings = Settings(select=tuple(rule.code for rule in ALL_RULES))
    clock = time.process_time
    parse_best = engine_best = float("inf")
    ratios = []
    for round_number in range(repeat):
        parse_total = engine_total = 0.0
        for path, text in sources:
            for engine_side in ((False, True) if round_number % 2 == 0
                                else (True, False)):
                start = clock()
                tree = ast.parse(text, filename=path)
                if engine_side:
                    # the text too, as flake8, pylint and the CLI pass it
                    check(tree, path, settings, source=text)
                elapsed = clock() - start
                del tree
                if engine_side:
                    engine_total += elapsed
                else:
                    parse_total += elapsed
        parse_best = min(parse_best, parse_total)
        engine_best = min(engine_best, engine_total)
        ratios.append(engine_total / parse_total)
    return parse_best, engine_best, statistics.median(ratios)


def time_flake8(paths: list[str], repeat: int) -> tuple[float, float]:
    from flake8.main.application import Application
    from flake8.plugins import finder

    original = finder.find_plugins

    def without_ours(*args, **kwargs):
        return [p for p in original(*args, **kwargs)
                if p.package != "nova-secaudit"]

    argv = ["--isolated", "--jobs=1", "--exit-zero", "--output-file",
            os.devnull, *paths]
    best = {False: float("inf"), True: float("inf")}
    for _ in range(repeat):
        for with_plugin in (False, True):
            finder.find_plugins = original if with_plugin else without_ours
            try:
                start = time.process_time()
                Application().run(argv)
                best[with_plugin] = min(best[with_plugin],
                                        time.process_time() - start)
            finally:
                finder.find_plugins = original
    return best[False], best[True]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="nova==34.0.0")
    parser.add_argument("--path", help="a source tree instead of a release")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-flake8", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.path) if args.path else \
        package_dir(*parse_spec(args.release))
    files = source_files(root)
    sources = [(str(p), p.read_text(encoding="utf-8")) for p in files]
    lines = sum(text.count("\n") for _, text in sources)
    print(f"{args.path or args.release}: {len(files)} files, {lines} lines "
          f"(tests excluded), {args.repeat} rounds")
    parse, engine, ratio = time_parse_and_engine(sources, args.repeat)
    print(f"ast.parse          {parse:7.3f} s")
    print(f"parse + engine     {engine:7.3f} s")
    print(f"engine ratio       {ratio:7.3f}  (target <= 1.5; median of the "
          f"rounds, each file timed both ways in turn)")
    if not args.skip_flake8:
        plain, ours = time_flake8([str(p) for p in files], args.repeat)
        print(f"flake8 default     {plain:7.3f} s")
        print(f"flake8 + plugin    {ours:7.3f} s")
        print(f"flake8 ratio       {ours / plain:7.3f}  (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
