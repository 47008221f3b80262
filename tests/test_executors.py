"""NSA101/NSA102 beyond the rules' own examples: import forms, factories,
the None-default parameter, and look-alikes that are safe."""

from __future__ import annotations

import pytest

from nova_secaudit.settings import Settings
from support import assert_markers

POSITIVES = {
    "every-pool-class": """
import concurrent.futures
import multiprocessing
import multiprocessing.pool
import eventlet
from eventlet import greenpool
import futurist

concurrent.futures.ThreadPoolExecutor()  # expect: NSA101
concurrent.futures.ProcessPoolExecutor(max_workers=None)  # expect: NSA101
futurist.GreenThreadPoolExecutor()  # expect: NSA101
futurist.ProcessPoolExecutor()  # expect: NSA101
futurist.DynamicThreadPoolExecutor()  # expect: NSA101
eventlet.GreenPool()  # expect: NSA101
eventlet.GreenPile()  # expect: NSA101
greenpool.GreenPile(size_or_pool=None)  # expect: NSA101
multiprocessing.Pool(None)  # expect: NSA101
multiprocessing.pool.ThreadPool()  # expect: NSA101
""",
    "keyword-only-none-default": """
from concurrent import futures


def build(*, workers=None, name='x'):
    # expect+1: NSA101
    return futures.ThreadPoolExecutor(workers, thread_name_prefix=name)
""",
    "nested-class-method": """
import futurist


class Manager:
    def __init__(self):
        # expect+1: NSA101:26
        self._executor = futurist.GreenThreadPoolExecutor()
""",
}

NEGATIVES = {
    "bounded-positional-and-keyword": """
import concurrent.futures as cf
import eventlet
import multiprocessing

cf.ThreadPoolExecutor(4)
cf.ThreadPoolExecutor(max_workers=len([1, 2]))
eventlet.GreenPool(size=100)
eventlet.GreenPile(10)
multiprocessing.Pool(processes=2)
""",
    "synchronous-executor-has-no-workers": """
import futurist

futurist.SynchronousExecutor()
""",
    "unrelated-class-with-same-name": """
class ThreadPoolExecutor:
    pass


ThreadPoolExecutor()
""",
    "unpacked-positional-arguments": """
import futurist


def build(*args):
    return futurist.ThreadPoolExecutor(*args)
""",
    "none-default-reassigned-in-branch-before-call": """
import futurist


def build(workers=None):
    if workers is None:
        workers = 8
    return futurist.ThreadPoolExecutor(workers)
""",
    "parameter-without-none-default": """
import futurist


def build(workers=4):
    return futurist.ThreadPoolExecutor(workers)
""",
}


@pytest.mark.parametrize("source", POSITIVES.values(),
                         ids=[f"NSA101-{k}" for k in POSITIVES])
def test_positives(source):
    assert_markers(source)


@pytest.mark.parametrize("source", NEGATIVES.values(),
                         ids=[f"NSA101-{k}" for k in NEGATIVES])
def test_hard_negatives(source):
    assert_markers(source)


def test_configured_factory_with_keyword_bound():
    settings = Settings(executor_factories=(
        "nova.utils.create_executor:max_workers", "nova.utils.pool:1"))
    assert_markers("""
from nova import utils

utils.create_executor()  # expect: NSA101
utils.create_executor(max_workers=None)  # expect: NSA101
utils.create_executor(max_workers=4)
utils.pool('name')  # expect: NSA101
utils.pool('name', 8)
""", settings=settings)


def test_configured_factory_is_not_flagged_without_configuration():
    assert_markers("from nova import utils\n\nutils.create_executor()\n")


def test_backlog_rule_is_opt_in_and_only_for_futurist():
    source = """
import futurist
from concurrent import futures

futurist.ThreadPoolExecutor(4)  # expect: NSA102
futurist.GreenThreadPoolExecutor(4, None)  # expect: NSA102
futurist.ProcessPoolExecutor(4)
futures.ThreadPoolExecutor(4)
"""
    assert_markers(source, settings=Settings(select=("NSA102",)))
    assert_markers(source.replace("# expect: NSA102", ""))
