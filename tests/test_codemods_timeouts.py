"""NSA401's fix, judged by running the code: with real
concurrent.futures, the fixed function cancels what it left queued, logs
what it could not cancel, and never makes a later result() raise
CancelledError; shapes that read the futures again are declined."""

from __future__ import annotations

import logging
import textwrap
import threading
from concurrent import futures

import pytest

from nova_secaudit.fixing import FileFix, FixOptions, transform_text
from nova_secaudit.settings import Settings

SENTINEL_LOOP = textwrap.dedent("""\
    import concurrent.futures
    import logging

    LOG = logging.getLogger('nsa.sentinel')
    did_not_respond_sentinel = object()


    def scatter_gather(executor, jobs, timeout):
        tasks = {}
        results = {}
        for name, job in jobs.items():
            tasks[name] = executor.submit(job)
        concurrent.futures.wait(tasks.values(), timeout)
        for name, future in tasks.items():
            if not future.done():
                results[name] = did_not_respond_sentinel
            else:
                results[name] = future.result()
        return results
    """)


def fix(source: str) -> tuple[str, FileFix]:
    result = FileFix("snippet.py")
    text = transform_text(source, "snippet.py", Settings(),
                          FixOptions(codes=frozenset({"NSA401"})), result)
    return text, result


def load(source: str) -> dict:
    namespace: dict = {"__name__": "fixed_snippet"}
    exec(compile(source, "fixed_snippet.py", "exec"), namespace)
    return namespace


class Jobs:
    """A job that holds the only worker until released, and a job queued
    behind it that records whether it ever ran."""

    def __init__(self):
        self.release = threading.Event()
        self.ran: list[str] = []

    def slow(self):
        self.release.wait(10)
        self.ran.append("slow")
        return "slow"

    def queued(self):
        self.ran.append("queued")
        return "queued"

    def fast(self):
        return "fast"


def run_scatter(namespace, order=("fast", "slow", "queued")):
    jobs = Jobs()
    executor = futures.ThreadPoolExecutor(max_workers=1)
    try:
        results = namespace["scatter_gather"](
            executor, {name: getattr(jobs, name) for name in order}, 0.3)
    finally:
        jobs.release.set()
        executor.shutdown(wait=True)
    return results, jobs


def test_sentinel_loop_gets_cancel_inside_the_not_done_branch():
    fixed, result = fix(SENTINEL_LOOP)
    assert result.fixes["NSA401"] == 1, result.skipped
    assert (
        "        if not future.done():\n"
        "            results[name] = did_not_respond_sentinel\n"
        "            if not future.cancel():\n"
        "                LOG.warning(\n"
        "                    'Could not cancel the work for %s after the "
        "timeout; it '\n"
        "                    'goes on running in the background.', name)\n"
        "        else:\n") in fixed
    assert fix(fixed)[0] == fixed  # a second run changes nothing


def test_fixed_sentinel_loop_cancels_queued_work_and_reports_running(
        caplog):
    # One worker: "fast" finishes, "slow" holds the worker past the
    # timeout, "queued" waits behind it.
    before, jobs = run_scatter(load(SENTINEL_LOOP))
    assert jobs.ran == ["slow", "queued"]  # unfixed: queued work still ran
    namespace = load(fix(SENTINEL_LOOP)[0])
    sentinel = namespace["did_not_respond_sentinel"]
    with caplog.at_level(logging.WARNING, logger="nsa.sentinel"):
        results, jobs = run_scatter(namespace)
    assert results == {"fast": "fast", "slow": sentinel, "queued": sentinel}
    assert jobs.ran == ["slow"]  # cancelled before it started
    assert [r.getMessage() for r in caplog.records] == [
        "Could not cancel the work for slow after the timeout; it goes on "
        "running in the background."]


def test_sentinel_loop_without_a_logger_just_cancels():
    source = SENTINEL_LOOP.replace(
        "LOG = logging.getLogger('nsa.sentinel')\n", "")
    fixed, result = fix(source)
    assert result.fixes["NSA401"] == 1
    assert "            future.cancel()\n        else:" in fixed
    results, jobs = run_scatter(load(fixed))
    assert jobs.ran == ["slow"]


def test_positive_done_test_gets_cancel_in_its_else_branch():
    source = SENTINEL_LOOP.replace(
        "        if not future.done():\n"
        "            results[name] = did_not_respond_sentinel\n"
        "        else:\n"
        "            results[name] = future.result()\n",
        "        if future.done():\n"
        "            results[name] = future.result()\n"
        "        else:\n"
        "            results[name] = did_not_respond_sentinel\n")
    assert source != SENTINEL_LOOP
    fixed, result = fix(source)
    assert result.fixes["NSA401"] == 1, result.skipped
    assert "sentinel\n            if not future.cancel():" in fixed
    results, jobs = run_scatter(load(fixed))
    assert jobs.ran == ["slow"]


AFTER_WAIT = textwrap.dedent("""\
    from concurrent import futures


    def gather(executor, jobs):
        fs = [executor.submit(job) for job in jobs]
        done, not_done = futures.wait(fs, timeout=0.3)
        return sorted(f.result() for f in done)
    """)


def test_nothing_read_after_the_wait_cancels_right_after_it():
    fixed, result = fix(AFTER_WAIT)
    assert result.fixes["NSA401"] == 1
    assert "timeout=0.3)\n    for f in not_done:\n        f.cancel()\n" \
        in fixed
    jobs = Jobs()
    executor = futures.ThreadPoolExecutor(max_workers=1)
    try:
        done = load(fixed)["gather"](executor,
                                     [jobs.fast, jobs.slow, jobs.queued])
    finally:
        jobs.release.set()
        executor.shutdown(wait=True)
    assert done == ["fast"] and jobs.ran == ["slow"]


# Each reads the futures again after the wait; a cancel right after it
# would make that read raise CancelledError (item 2 of issue 10).
READ_AGAIN = {
    "through-a-dict-made-before": """\
        from concurrent import futures


        def gather(executor, jobs):
            fs = [executor.submit(job) for job in jobs]
            by_future = dict(zip(fs, jobs))
            done, not_done = futures.wait(fs, timeout=0.3)
            return {by_future[f].__name__: f.result()
                    for f in by_future}
        """,
    "through-a-copy-of-not-done": """\
        from concurrent import futures


        def gather(executor, jobs):
            fs = [executor.submit(job) for job in jobs]
            done, not_done = futures.wait(fs, timeout=0.3)
            late = list(not_done)
            return [f.result() for f in done] + [f.result() for f in late]
        """,
    "iterating-the-original-list": """\
        from concurrent import futures


        def gather(executor, jobs):
            fs = [executor.submit(job) for job in jobs]
            futures.wait(fs, timeout=0.3)
            return [f.result() for f in fs]
        """,
    "sentinel-loop-then-read-again": """\
        from concurrent import futures


        def gather(executor, jobs):
            fs = [executor.submit(job) for job in jobs]
            results = []
            futures.wait(fs, timeout=0.3)
            for f in fs:
                if not f.done():
                    results.append(None)
            return results + [f.result() for f in fs]
        """,
}


@pytest.mark.parametrize("source", READ_AGAIN.values(), ids=READ_AGAIN)
def test_futures_read_again_after_the_wait_are_declined(source):
    source = textwrap.dedent(source)
    fixed, result = fix(source)
    assert fixed == source
    [(line, code, reason)] = result.skipped
    assert code == "NSA401"
    assert "read after the wait" in reason and "CancelledError" in reason
    # The unfixed function still gets every result: nothing cancelled.
    jobs = Jobs()
    executor = futures.ThreadPoolExecutor(max_workers=1)
    try:
        threading.Timer(0.5, jobs.release.set).start()
        gathered = load(fixed)["gather"](executor,
                                         [jobs.fast, jobs.slow, jobs.queued])
    finally:
        jobs.release.set()
        executor.shutdown(wait=True)
    assert "queued" in str(gathered)


def test_declined_cancel_would_have_raised_cancelled_error():
    """Why the decline matters: the naive fix (cancel right after the
    wait) makes the dict-through shape raise CancelledError."""
    source = textwrap.dedent(READ_AGAIN["through-a-dict-made-before"])
    naive = source.replace(
        "timeout=0.3)\n",
        "timeout=0.3)\n    for f in not_done:\n        f.cancel()\n")
    jobs = Jobs()
    executor = futures.ThreadPoolExecutor(max_workers=1)
    try:
        threading.Timer(0.5, jobs.release.set).start()
        with pytest.raises(futures.CancelledError):
            load(naive)["gather"](executor,
                                  [jobs.fast, jobs.slow, jobs.queued])
    finally:
        jobs.release.set()
        executor.shutdown(wait=True)


def test_module_level_wait_is_no_finding_and_no_crash():
    source = textwrap.dedent("""\
        from concurrent import futures

        pool = futures.ThreadPoolExecutor(2)
        fs = [pool.submit(print, 1)]
        done, not_done = futures.wait(fs, timeout=1)
        print(fs)
        """)
    fixed, result = fix(source)
    assert fixed == source and not result.skipped and not result.fixes
