"""Per-file work over many files, in worker processes when asked.

Results come back in the order of the items whatever ``jobs`` is. With
``isolate`` (libcst work: ``fix`` and the fixes of json/sarif/html reports)
the work runs in worker processes even with one job, because libcst's
native parser can crash the whole process (a segmentation fault on a
10,000-term ``and`` chain) or run for minutes (a 1 MB one-line list).

Each worker is persistent and answers item by item, so when one dies (a
crash in C code, the OOM killer) or overruns ``timeout`` seconds on an item
(it is then killed), the parent knows which item did it: that item gets
``died(item, reason)``, a fresh worker takes over and the rest of the batch
is handed out again. Nothing else is lost.
"""

from __future__ import annotations

import collections
import os
import signal
import time
from typing import Callable, Iterator, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Seconds one file may take in an isolated worker: the largest file of
# Nova (1.5 MB) takes about 30 s in libcst; a 1 MB one-line list, minutes.
DEFAULT_FILE_TIMEOUT = 120.0
# Seconds a worker is given to leave after being asked to.
_GRACE = 5.0
# Seconds between an idle worker's checks that its parent is alive.
_ORPHAN_CHECK = 1.0


def _serve(connection, work, args, parent: int) -> None:
    """Worker loop: batches in, one result per item out, None ends it."""
    # Ctrl-C is the parent's to handle; it then stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        # A forked worker holds inherited copies of the parent's pipe ends,
        # so a parent killed by a signal never closes them: a worker that
        # finds itself re-parented leaves instead of waiting for ever.
        if not connection.poll(_ORPHAN_CHECK):
            if os.getppid() != parent:
                return
            continue
        try:
            batch = connection.recv()
        except EOFError:
            return
        if batch is None:
            return
        for item in batch:
            try:
                answer = (True, work(item, *args))
            except Exception as exc:  # noqa: BLE001 - one item, one error
                answer = (False, f"internal error: {type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:160]}")
            connection.send(answer)


def preload_libcst() -> None:
    """Import libcst and the codemods once, before workers fork, so each
    worker (and each one restarted after a crash) does not pay ~0.6 s of
    CPU for it again."""
    try:
        import nova_secaudit.codemods  # noqa: F401
        import nova_secaudit.reporting.fixes  # noqa: F401
    except ImportError:
        pass  # no libcst: no fixes, nothing to preload


def _context():
    import multiprocessing  # here: ~30 ms the text-only CLI need not pay

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods
                                       else "spawn")


class _Worker:
    """One process and the items it holds, oldest first."""

    def __init__(self, work, args):
        context = _context()
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve,
                                       args=(child, work, args,
                                             os.getpid()),
                                       daemon=True)
        self.process.start()
        child.close()
        self.held: collections.deque[int] = collections.deque()
        self.since = time.monotonic()

    def give(self, indices: list[int], items: Sequence) -> None:
        self.held.extend(indices)
        self.since = time.monotonic()
        self.connection.send([items[i] for i in indices])

    def death(self) -> str:
        """Why the process ended (it has, or is being killed)."""
        self.process.join(_GRACE)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"worker process crashed ({name})"
        return f"worker process died (exit status {code})"

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.connection.send(None)
            except OSError:
                pass
            self.process.join(_GRACE)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


def map_in_order(work: Callable[..., Result], items: Sequence[Item],
                 args: tuple, jobs: int,
                 died: Callable[[Item, str], Result], chunk: int = 16,
                 isolate: bool = False,
                 timeout: float | None = None) -> Iterator[Result]:
    """``work(item, *args)`` for every item, or ``died(item, reason)`` for
    an item whose worker crashed, raised or ran out of ``timeout``.

    ``work`` must be a module-level function (a spawned worker imports
    it). Without ``isolate``, one job runs in this process.
    """
    items = list(items)
    if not items:
        return
    if jobs <= 1 and not isolate:
        for item in items:
            yield work(item, *args)
        return
    yield from _Pool(work, items, args, max(1, min(jobs, len(items))),
                     died, chunk, timeout).results()


class _Pool:
    def __init__(self, work, items, args, jobs, died, chunk, timeout):
        self.work, self.items, self.args = work, items, args
        self.died, self.timeout = died, timeout
        # Small batches near the end keep every worker busy.
        self.chunk = max(1, min(chunk, len(items) // (jobs * 4) or 1))
        self.todo = collections.deque(range(len(items)))
        self.done: dict[int, object] = {}
        self.workers = [_Worker(work, args) for _ in range(jobs)]

    def results(self) -> Iterator:
        following = 0
        try:
            while following < len(self.items):
                self._hand_out()
                self._collect()
                while following in self.done:
                    yield self.done.pop(following)
                    following += 1
        finally:
            for worker in self.workers:
                worker.stop(kill=bool(worker.held))

    def _hand_out(self) -> None:
        for worker in self.workers:
            if not worker.held and self.todo:
                batch = [self.todo.popleft() for _ in range(
                    min(self.chunk, len(self.todo)))]
                worker.give(batch, self.items)

    def _collect(self) -> None:
        from multiprocessing.connection import wait

        busy = {w.connection: w for w in self.workers if w.held}
        ready = wait(list(busy), self._wait_time())
        for connection in ready:
            worker = busy[connection]
            try:
                ok, answer = connection.recv()
            except (EOFError, OSError):
                self._replace(worker, worker.death())
                continue
            index = worker.held.popleft()
            worker.since = time.monotonic()
            self.done[index] = answer if ok else \
                self.died(self.items[index], answer)
        if self.timeout is not None:
            now = time.monotonic()
            for worker in busy.values():
                if worker.held and now - worker.since > self.timeout:
                    worker.process.kill()
                    worker.death()
                    self._replace(worker, f"gave up after {self.timeout:g} "
                                          "s (--file-timeout)")

    def _wait_time(self) -> float | None:
        if self.timeout is None:
            return None
        oldest = min(w.since for w in self.workers if w.held)
        return max(0.0, oldest + self.timeout - time.monotonic())

    def _replace(self, worker: _Worker, reason: str) -> None:
        index = worker.held.popleft()
        self.done[index] = self.died(self.items[index], reason)
        self.todo.extendleft(reversed(worker.held))
        worker.held.clear()
        worker.stop(kill=True)
        self.workers[self.workers.index(worker)] = _Worker(self.work,
                                                           self.args)
