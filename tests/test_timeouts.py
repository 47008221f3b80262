"""NSA401-NSA403 beyond the rules' own examples: the scatter-gather shapes
of Nova before and after its futurist move, and safe look-alikes."""

from __future__ import annotations

import pytest

from support import assert_markers

POSITIVES = {
    # The seed-era shape: wait, fill a sentinel, log, never cancel.
    "seed-scatter-gather-sentinel": """
import futurist.waiters
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
sentinel = object()


def scatter_gather(executor, cells, timeout, fn):
    tasks = {}
    results = {}
    for cell in cells:
        tasks[cell.uuid] = executor.submit(fn, cell)
    futurist.waiters.wait_for_all(tasks.values(), timeout)  # expect: NSA401
    for uuid, future in tasks.items():
        if not future.done():
            results[uuid] = sentinel
            LOG.warning('cell %s did not respond', uuid)
        else:
            results[uuid] = future.result()
    return results
""",
    "as-completed-timeout": """
from concurrent import futures


def first_results(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    out = []
    for f in futures.as_completed(fs, timeout=30):  # expect: NSA401
        out.append(f.result())
    return out
""",
    "wait-for-any-assigned-to-one-name": """
from futurist import waiters


def race(executor, fns):
    fs = [executor.submit(fn) for fn in fns]
    res = waiters.wait_for_any(fs, 5)  # expect: NSA401
    return len(res.done)
""",
    "logging-the-pending-set-is-not-handing-it-on": """
import logging
from concurrent import futures

LOG = logging.getLogger(__name__)


def gather(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    done, not_done = futures.wait(fs, timeout=3)  # expect: NSA401
    LOG.warning('%d jobs left running: %s', len(not_done), not_done)
""",
    "aliased-wait-function": """
from concurrent.futures import wait as settle


def gather(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    settle(fs, 3)  # expect: NSA401
""",
    "unreachable-futures": """
from concurrent import futures


def gather(pool, jobs):
    futures.wait([pool.submit(j) for j in jobs], timeout=3)  # expect: NSA401
""",
    "greenpile-waitall": """
import eventlet


def gather(fns):
    pile = eventlet.GreenPile(8)
    for fn in fns:
        pile.spawn(fn)
    pile.waitall(10)  # expect: NSA401
""",
    "swallowing-handler-on-stdlib-timeout": """
from concurrent import futures


def call(pool, fn):
    fut = pool.submit(fn)
    try:
        return fut.result(timeout=1)  # expect: NSA401
    except futures.TimeoutError:  # expect: NSA402
        result = None
    return result
""",
    "join-in-loop-never-checked": """
import threading


def stop_all(fns):
    threads = [threading.Thread(target=fn) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2)  # expect: NSA403
""",
    "result-timeout-handler-logs-and-returns": """
import logging
from concurrent import futures

LOG = logging.getLogger(__name__)


def call(pool, fn):
    fut = pool.submit(fn)
    try:
        return fut.result(timeout=1)  # expect: NSA401
    except futures.TimeoutError:  # expect: NSA402
        LOG.warning('call timed out')
        return {}
""",
    "messaging-timeout-after-spawn-never-killed": """
import eventlet
import oslo_messaging
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def ping(client, ctxt, beat):
    gt = eventlet.spawn(beat)
    try:
        return client.call(ctxt, 'ping', timeout=30)
    except oslo_messaging.MessagingTimeout:  # expect: NSA402
        LOG.error('ping timed out')
        return False
""",
    "len-of-pending-set-is-not-handing-it-on": """
from concurrent import futures


def gather(pool, jobs, report):
    fs = [pool.submit(j) for j in jobs]
    done, not_done = futures.wait(fs, timeout=3)  # expect: NSA401
    report(len(not_done), bool(not_done))
    return [f.result() for f in done]
""",
}

NEGATIVES = {
    # nova 32.0.0+ nova/context.py scatter_gather_cells: cancel each
    # unfinished future and log when the cancel fails.
    "nova-32-cancels-each-unfinished-future": """
import futurist.waiters


def scatter_gather(executor, cells, timeout, fn):
    tasks = {}
    results = {}
    for cell in cells:
        tasks[cell.uuid] = executor.submit(fn, cell)
    futurist.waiters.wait_for_all(tasks.values(), timeout)
    for uuid, future in tasks.items():
        if not future.done():
            results[uuid] = None
            if not future.cancel():
                pass
        else:
            results[uuid] = future.result()
    return results
""",
    "cancel-in-timeout-handler": """
from concurrent import futures


def first(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    try:
        for f in futures.as_completed(fs, timeout=30):
            return f.result()
    except futures.TimeoutError:
        for f in fs:
            f.cancel()
        raise
""",
    "pending-copied-then-cancelled": """
from concurrent import futures


def gather(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    futures.wait(fs, timeout=3)
    late = [f for f in fs if not f.done()]
    for f in late:
        f.cancel()
""",
    "pending-stored-on-self": """
from concurrent import futures


class Gatherer:
    def run(self, pool, jobs):
        fs = [pool.submit(j) for j in jobs]
        done, not_done = futures.wait(fs, timeout=3)
        self.stragglers = not_done
""",
    "pending-passed-on": """
from concurrent import futures


def gather(pool, jobs, reaper):
    fs = [pool.submit(j) for j in jobs]
    done, not_done = futures.wait(fs, timeout=3)
    reaper.adopt(not_done)
""",
    "wait-without-timeout": """
from concurrent import futures


def gather(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    futures.wait(fs)
    futures.wait(fs, timeout=None)
    return [f.result() for f in fs]
""",
    "poll-until-done-with-break": """
from concurrent import futures


def drain(pool, jobs):
    fs = [pool.submit(j) for j in jobs]
    while True:
        done, not_done = futures.wait(fs, timeout=1)
        if not not_done:
            break
""",
    "greenthread-killed-after-timeout": """
import eventlet


def call(fn):
    gt = eventlet.spawn(fn)
    try:
        with eventlet.Timeout(5):
            return gt.wait()
    except eventlet.Timeout:
        gt.kill()
        raise
""",
    "result-timeout-on-parameter": """
def wait_for(future):
    return future.result(timeout=5)
""",
    "timeout-handler-that-reraises": """
def call(pool, fn):
    fut = pool.submit(fn)
    try:
        return fut.result(timeout=1)
    except TimeoutError:
        fut.cancel()
        raise
""",
    "join-checked-through-the-collection": """
import threading


def stop_all(fns):
    threads = [threading.Thread(target=fn) for fn in fns]
    for t in threads:
        t.join(timeout=2)
    return [t for t in threads if t.is_alive()]
""",
    "string-and-path-joins": """
import os


def render(parts, thread_names):
    sep = ', '
    return sep.join(parts) + os.path.join('a', 'b') + '-'.join(thread_names)
""",
    "pending-set-passed-to-another-call": """
from concurrent import futures


def gather(pool, jobs, reaper):
    fs = [pool.submit(j) for j in jobs]
    done, not_done = futures.wait(fs, timeout=3)
    reaper.watch(not_done)
    return [f.result() for f in done]
""",
    "timeout-handler-reraises-after-log": """
import logging
from concurrent import futures

LOG = logging.getLogger(__name__)


def call(pool, fn):
    fut = pool.submit(fn)
    try:
        return fut.result(timeout=1)
    except futures.TimeoutError:
        LOG.warning('call timed out')
        fut.cancel()
        raise
""",
    "messaging-timeout-greenthread-waited-later": """
import eventlet
import oslo_messaging


def ping(client, ctxt, beat):
    gt = eventlet.spawn(beat)
    try:
        client.call(ctxt, 'ping', timeout=30)
    except oslo_messaging.MessagingTimeout:
        pass
    return gt.wait()
""",
    "join-then-exitcode": """
import multiprocessing


def run(fn):
    proc = multiprocessing.Process(target=fn)
    proc.start()
    proc.join(10)
    return proc.exitcode
""",
}


@pytest.mark.parametrize("source", POSITIVES.values(),
                         ids=[f"NSA4-{k}" for k in POSITIVES])
def test_positives(source):
    assert_markers(source)


@pytest.mark.parametrize("source", NEGATIVES.values(),
                         ids=[f"NSA4-{k}" for k in NEGATIVES])
def test_hard_negatives(source):
    assert_markers(source)
