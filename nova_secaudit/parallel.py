"""Per-file work over many files, in worker processes when asked.

Results come back in the order of the items whatever ``jobs`` is. A worker
that dies (killed, out of memory, a crash in C code) costs only the file it
was on: the remaining items run one per process, and the one whose worker
dies again gets ``died(item)`` instead of a result.
"""

from __future__ import annotations

import concurrent.futures
from typing import Callable, Iterator, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _run_chunk(work, items, args) -> list:
    return [work(item, *args) for item in items]


def map_in_order(work: Callable[..., Result], items: Sequence[Item],
                 args: tuple, jobs: int, died: Callable[[Item], Result],
                 chunk: int = 16) -> Iterator[Result]:
    """``work(item, *args)`` for every item (``work`` must be a module-level
    function, so worker processes can import it)."""
    if jobs <= 1 or len(items) <= chunk:
        for item in items:
            yield work(item, *args)
        return
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    finished = 0
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            for results in pool.map(_run_chunk, [work] * len(chunks), chunks,
                                    [args] * len(chunks)):
                finished += 1
                yield from results
    except concurrent.futures.process.BrokenProcessPool:
        for item in (i for part in chunks[finished:] for i in part):
            try:
                with concurrent.futures.ProcessPoolExecutor(1) as pool:
                    yield pool.submit(work, item, *args).result()
            except concurrent.futures.process.BrokenProcessPool:
                yield died(item)
