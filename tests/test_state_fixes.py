"""NSA201/NSA202 lock fixes judged by running the fixed code (issue 10).

Each shape is fixed by ``fix_file`` in a temporary folder, then the
result is executed with fakes: threads with a timeout for deadlocks, a
barrier for serialisation (callers that are serialised never meet at it),
an Event for "this call waits for that lock". A declined fix must name
its reason and the lines a human must look at.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import types

import pytest

pytest.importorskip("libcst")

from nova_secaudit.fixing import FixOptions, fix_file  # noqa: E402
from nova_secaudit.settings import Settings  # noqa: E402

CODES = frozenset({"NSA201", "NSA202"})
WAIT = 5.0  # seconds; generous, a healthy run takes milliseconds


def fix(tmp_path, source: str):
    """(fixed text, {line: reason} of declined fixes, fix counts)."""
    path = tmp_path / "module_under_fix.py"
    path.write_text(textwrap.dedent(source).lstrip())
    result = fix_file(str(path), Settings(), FixOptions(codes=CODES))
    assert result.error is None, result.error
    declined = {line: reason for line, code, reason in result.skipped
                if code in CODES}
    return path.read_text(), declined, dict(result.fixes)


def load(text: str, **fakes) -> types.SimpleNamespace:
    """Execute ``text`` as a module; ``fakes`` replace its globals after
    the import-time code ran (hooks the tests control)."""
    namespace = {"__name__": "module_under_fix"}
    exec(compile(text, "module_under_fix.py", "exec"), namespace)
    namespace.update(fakes)
    return types.SimpleNamespace(**namespace), namespace


def finishes(target, *args) -> bool:
    """Whether ``target(*args)`` returns within WAIT seconds in a thread."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    thread.join(WAIT)
    return not thread.is_alive()


# -- 1. no self-deadlock ------------------------------------------------------
NESTED_CHECK_THEN_ACT = """
    CACHE = {}


    def compute(key):
        return key * 2


    def _refresh(key):
        if key not in CACHE:
            CACHE[key] = compute(key)


    def get(key):
        if key not in CACHE:
            _refresh(key)
            CACHE[key] = CACHE[key] + 1
        return CACHE[key]
    """


def test_region_calling_a_function_locked_the_same_way_is_declined(
        tmp_path):
    text, declined, fixed = fix(tmp_path, NESTED_CHECK_THEN_ACT)
    assert not fixed
    # get() would take the lock, then call _refresh(), which takes it too
    assert "line 15 calls _refresh(), which would take _CACHE_LOCK too" \
        in declined[16]
    assert "reached from line 15 while _CACHE_LOCK is held" in declined[10]
    module, _ = load(text)
    assert finishes(module.get, 3)
    assert module.CACHE == {3: 7}


EXISTING_LOCK_HELD_BY_CALLER = """
    import threading

    _LOCK = threading.Lock()
    CACHE = {}


    def _refresh(key):
        if key not in CACHE:
            CACHE[key] = key * 2


    def get(key):
        with _LOCK:
            CACHE.pop(key, None)
            _refresh(key)
        return CACHE[key]
    """


def test_function_reached_while_its_lock_is_held_is_not_locked_again(
        tmp_path):
    text, declined, _ = fix(tmp_path, EXISTING_LOCK_HELD_BY_CALLER)
    assert "reached from line 15 while _LOCK is held" in declined[9]
    module, _ = load(text)
    assert finishes(module.get, 4)


INDEPENDENT_HELPER = """
    CACHE = {}


    def _build(key):
        return [key]


    def get(key):
        if key not in CACHE:
            CACHE[key] = _build(key)
        return CACHE[key]
    """


def test_check_then_act_calling_a_lock_free_helper_is_fixed_and_runs(
        tmp_path):
    text, declined, fixed = fix(tmp_path, INDEPENDENT_HELPER)
    assert fixed == {"NSA202": 1} and not declined
    assert "    with _CACHE_LOCK:\n        if key not in CACHE:\n" in text
    module, _ = load(text)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        module.get("k"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a caller is stuck"
    assert len(results) == 8 and all(r is results[0] for r in results)


# -- 3. no lock held across blocking work -------------------------------------
DB_CACHE = """
    from nova import objects

    _MIN_VERSIONS = {}


    def get_minimum_version(binary):
        if binary not in _MIN_VERSIONS:
            _MIN_VERSIONS[binary] = objects.Service.get_minimum_version(
                binary)
        return _MIN_VERSIONS[binary]
    """


@pytest.fixture()
def fake_nova_objects(monkeypatch):
    """``nova.objects`` whose Service query waits at a barrier: callers
    that are serialised never all reach it, and it breaks."""
    barrier = threading.Barrier(4, timeout=WAIT)

    class Service:
        @staticmethod
        def get_minimum_version(binary):
            barrier.wait()
            return 61

    nova = types.ModuleType("nova")
    objects = types.ModuleType("nova.objects")
    objects.Service = Service
    nova.objects = objects
    monkeypatch.setitem(sys.modules, "nova", nova)
    monkeypatch.setitem(sys.modules, "nova.objects", objects)
    return barrier


def test_lock_across_a_database_query_is_declined_and_callers_overlap(
        tmp_path, fake_nova_objects):
    text, declined, fixed = fix(tmp_path, DB_CACHE)
    assert not fixed
    assert "objects.Service.get_minimum_version() (line 8)" in declined[8]
    assert "queries the database" in declined[8]
    module, _ = load(text)
    errors = []

    def call():
        try:
            assert module.get_minimum_version("nova-compute") == 61
        except Exception as exc:  # BrokenBarrierError when serialised
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(t.is_alive() for t in threads), "a caller is stuck"
    assert errors == [] and not fake_nova_objects.broken


@pytest.mark.parametrize("call,why", [
    ("time.sleep(1)", "sleeps"),
    ("service.launch(CONF, server)", "forks or runs a process"),
    ("processutils.execute('ls')", "forks or runs a process"),
    ("future.result()", "waits for other work"),
    ("client.prepare().call(ctxt, 'ping')", "makes an RPC"),
    ("requests.get(url)", "uses the network"),
    ("helper()", "calls code this module does not own"),
])
def test_blocking_call_in_the_region_declines_the_lock(tmp_path, call, why):
    source = f"""
        import time

        from oslo_concurrency import processutils
        from oslo_service import service
        import requests

        from nova.utils import helper

        CONF = server = url = ctxt = client = future = None
        _DONE = None


        def run_once():
            global _DONE
            if _DONE is None:
                {call}
                _DONE = True
        """
    text, declined, fixed = fix(tmp_path, source)
    assert not fixed and why in declined[17]


def test_serve_holding_a_lock_across_launch_is_declined(tmp_path):
    # nova/service.py serve(): launch() forks the workers.
    text, declined, fixed = fix(tmp_path, """
        from oslo_service import service

        _launcher = None


        def serve(server, workers=None):
            global _launcher
            if _launcher:
                raise RuntimeError('serve() can only be called once')

            _launcher = service.launch(None, server, workers=workers)
        """)
    assert not fixed
    assert "service.launch() (line 11) forks or runs a process" in \
        declined[11]


def test_build_of_a_lazy_singleton_may_hold_the_lock(tmp_path):
    text, declined, fixed = fix(tmp_path, """
        import futurist

        DEFAULT_EXECUTOR = None


        def _create():
            return futurist.ThreadPoolExecutor(8)


        def get_default_executor():
            global DEFAULT_EXECUTOR
            if DEFAULT_EXECUTOR is None:
                DEFAULT_EXECUTOR = _create()
            return DEFAULT_EXECUTOR
        """)
    assert fixed == {"NSA202": 1}
    assert "with _DEFAULT_EXECUTOR_LOCK:" in text


# -- 4. no lock that protects nothing -----------------------------------------
EXTRA_EXMODS = """
    ALLOWED_EXMODS = ['nova.exception']
    EXTRA_EXMODS = []


    def add_extra_exmods(*args):
        EXTRA_EXMODS.extend(args)


    def clear_extra_exmods():
        del EXTRA_EXMODS[:]


    def get_allowed_exmods():
        return ALLOWED_EXMODS + EXTRA_EXMODS
    """


def test_lone_atomic_writers_with_unlocked_reader_are_declined(tmp_path):
    text, declined, fixed = fix(tmp_path, EXTRA_EXMODS)
    assert not fixed and text == textwrap.dedent(EXTRA_EXMODS).lstrip()
    for line in (6, 10):
        assert "without a lock at line(s) 14" in declined[line]
    module, _ = load(text)
    module.add_extra_exmods("a")
    assert module.get_allowed_exmods() == ["nova.exception", "a"]


def test_reset_of_a_global_filled_under_db_query_is_declined(tmp_path):
    # context.py: reset_globals() rebinds CELLS, load_cells() fills it
    # from the database (declined) and scatter-gather iterates it.
    text, declined, fixed = fix(tmp_path, """
        from nova import objects

        CELLS = []


        def reset_globals():
            global CELLS
            CELLS = []


        def load_cells():
            global CELLS
            if not CELLS:
                CELLS = objects.CellMappingList.get_all(None)


        def names():
            return [cell.name for cell in CELLS]
        """)
    assert not fixed
    assert "without a lock at line(s) 18" in declined[8]  # the iteration
    assert "queries the database" in declined[14]


# -- 5. existing locks reused -------------------------------------------------
@pytest.fixture()
def fake_lockutils(monkeypatch):
    """``oslo_concurrency.lockutils`` with one real lock per name."""
    locks: dict[str, threading.Lock] = {}
    lockutils = types.ModuleType("oslo_concurrency.lockutils")
    lockutils.lock = lambda name: locks.setdefault(name, threading.Lock())
    package = types.ModuleType("oslo_concurrency")
    package.lockutils = lockutils
    monkeypatch.setitem(sys.modules, "oslo_concurrency", package)
    monkeypatch.setitem(sys.modules, "oslo_concurrency.lockutils", lockutils)
    return locks


POLICY = """
    from oslo_concurrency import lockutils

    _ENFORCER = None


    def reset():
        global _ENFORCER
        if _ENFORCER:
            _ENFORCER.clear()
            _ENFORCER = None


    def init(make):
        global _ENFORCER
        if not _ENFORCER:
            with lockutils.lock('nova-policy-init'):
                if not _ENFORCER:
                    _ENFORCER = make()
        return _ENFORCER
    """


def test_reset_reuses_the_lockutils_lock_init_holds(tmp_path,
                                                    fake_lockutils):
    text, declined, fixed = fix(tmp_path, POLICY)
    assert fixed == {"NSA202": 1} and not declined
    assert "    with lockutils.lock('nova-policy-init'):\n" \
        "        if _ENFORCER:\n" in text
    assert "threading" not in text  # no second, unrelated lock
    module, _ = load(text)
    module.init(lambda: {"rule": 1})
    held = fake_lockutils["nova-policy-init"]
    held.acquire()
    thread = threading.Thread(target=module.reset, daemon=True)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()  # reset() waits for the init lock
    held.release()
    thread.join(WAIT)
    assert not thread.is_alive() and module.init(dict) == {}


def test_nsa202_is_reported_at_the_clear_not_at_the_rebinding(tmp_path):
    from nova_secaudit.engine import check_source

    found = [f for f in check_source(textwrap.dedent(POLICY).lstrip())
             if f.code == "NSA202"]
    assert [(f.line, f.col) for f in found] == [(9, 8)]


def test_module_lock_guarding_the_global_is_reused(tmp_path):
    text, declined, fixed = fix(tmp_path, """
        import threading

        _CACHE_GUARD = threading.Lock()
        CACHE = {}


        def put(key, value):
            with _CACHE_GUARD:
                CACHE[key] = value


        def bump(key):
            CACHE[key] = CACHE.get(key, 0) + 1
        """)
    assert fixed == {"NSA201": 1}
    assert "    with _CACHE_GUARD:\n        CACHE[key] = CACHE.get(" in text
    assert text.count("threading.Lock()") == 1
    module, namespace = load(text)
    namespace["_CACHE_GUARD"].acquire()
    thread = threading.Thread(target=module.bump, args=("k",), daemon=True)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()
    namespace["_CACHE_GUARD"].release()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert module.CACHE == {"k": 1}


def test_per_item_synchronized_guard_cannot_be_reused(tmp_path):
    text, declined, fixed = fix(tmp_path, """
        from nova import utils

        CELL_CACHE = {}


        def reset_globals():
            global CELL_CACHE
            CELL_CACHE = {}


        def set_target_cell(cell_mapping, connect):
            @utils.synchronized(cell_mapping.uuid)
            def get_or_set_cached_cell():
                if cell_mapping.uuid not in CELL_CACHE:
                    CELL_CACHE[cell_mapping.uuid] = connect()
                return CELL_CACHE[cell_mapping.uuid]
            return get_or_set_cached_cell()
        """)
    assert not fixed
    assert "guarded per item by utils.synchronized(cell_mapping.uuid)" in \
        declined[8]


# -- 7. half fixes ------------------------------------------------------------
def test_flag_set_before_the_work_it_announces_is_declined(tmp_path):
    # nova/version.py _load_config(): locking only the check and
    # ``loaded = True`` lets a second caller read unset globals.
    text, declined, fixed = fix(tmp_path, """
        loaded = False
        VENDOR = None


        def _load_config(read):
            global loaded, VENDOR
            if loaded:
                return

            loaded = True

            VENDOR = read()


        def vendor_string(read):
            _load_config(read)
            return VENDOR
        """)
    assert not fixed
    assert "set at line 10 before the work it announces (lines 12-12)" in \
        declined[10]


FLAGS = """
    _SUPPORTS_AFFINITY = None
    _SUPPORTS_ANTI_AFFINITY = None
    _SUPPORTS_SOFT_AFFINITY = None


    def validate_filter(name):
        return name.endswith('Filter')


    def group_details():
        global _SUPPORTS_AFFINITY
        if _SUPPORTS_AFFINITY is None:
            _SUPPORTS_AFFINITY = validate_filter('AffinityFilter')
        global _SUPPORTS_ANTI_AFFINITY
        if _SUPPORTS_ANTI_AFFINITY is None:
            _SUPPORTS_ANTI_AFFINITY = validate_filter('AntiAffinityFilter')
        global _SUPPORTS_SOFT_AFFINITY
        if _SUPPORTS_SOFT_AFFINITY is None:
            _SUPPORTS_SOFT_AFFINITY = validate_filter('SoftWeigher')
        return (_SUPPORTS_AFFINITY, _SUPPORTS_ANTI_AFFINITY,
                _SUPPORTS_SOFT_AFFINITY)
    """


def test_lazy_flags_set_together_share_one_lock(tmp_path):
    text, declined, fixed = fix(tmp_path, FLAGS)
    assert fixed == {"NSA202": 3} and not declined
    assert text.count("threading.Lock()") == 1
    assert text.count("with _SUPPORTS_LOCK:") == 1
    module, _ = load(text)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        module.group_details())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a caller is stuck"
    assert results == [(True, True, False)] * 8


def test_lazy_flags_with_an_unlocked_reset_are_all_declined(tmp_path):
    source = FLAGS + """

    def reset_globals():
        global _SUPPORTS_AFFINITY
        _SUPPORTS_AFFINITY = None
    """
    text, declined, fixed = fix(tmp_path, source)
    assert not fixed and sorted(declined) == [13, 16, 19]
    assert all("line(s) 26" in reason for reason in declined.values())


def test_lock_for_a_class_attribute_is_defined_before_the_class(tmp_path):
    text, declined, fixed = fix(tmp_path, """
        import threading


        class Driver(object):
            _seen = {}

            def spawn(self, uuid):
                if not self._seen.get(uuid, False):
                    self._seen[uuid] = True
                    return 'rescheduled'
                return 'spawned'
        """)
    assert fixed == {"NSA202": 1}
    lines = text.splitlines()
    assert lines.index("_SEEN_LOCK = threading.Lock()") < \
        lines.index("class Driver(object):")
    module, _ = load(text)
    driver = module.Driver()
    assert [driver.spawn("a"), driver.spawn("a")] == \
        ["rescheduled", "spawned"]


def test_declined_fix_reason_reaches_json_and_sarif(tmp_path):
    import json

    from nova_secaudit.cli import main

    path = tmp_path / "rpc_like.py"
    path.write_text(textwrap.dedent(EXTRA_EXMODS).lstrip())
    for fmt, key in (("json", "not_auto_fixable"), ("sarif", None)):
        out = tmp_path / f"report.{fmt}"
        main(["check", "--select", "NSA201", "--format", fmt,
              "--output", str(out), str(path)])
        document = json.loads(out.read_text())
        if fmt == "json":
            reasons = [f[key] for f in document["findings"]]
        else:
            reasons = [r["properties"]["notAutoFixable"]
                       for r in document["runs"][0]["results"]]
        assert len(reasons) == 2
        assert all("without a lock at line(s) 14" in r for r in reasons)


@pytest.fixture()
def fake_nova_utils(monkeypatch):
    """``nova.utils.synchronized(name)`` with one real lock per name."""
    import functools

    locks: dict[str, threading.Lock] = {}

    def synchronized(name):
        def wrap(func):
            @functools.wraps(func)
            def locked(*args, **kwargs):
                with locks.setdefault(name, threading.Lock()):
                    return func(*args, **kwargs)
            return locked
        return wrap

    nova = types.ModuleType("nova")
    utils = types.ModuleType("nova.utils")
    utils.synchronized = synchronized
    nova.utils = utils
    monkeypatch.setitem(sys.modules, "nova", nova)
    monkeypatch.setitem(sys.modules, "nova.utils", utils)
    return locks


def test_synchronized_name_guarding_the_global_is_reused_as_decorator(
        tmp_path, fake_nova_utils):
    text, declined, fixed = fix(tmp_path, """
        from nova import utils

        _HOSTS = {}


        @utils.synchronized('hosts')
        def add_host(name):
            _HOSTS[name] = _HOSTS.get(name, 0) + 1


        class Tracker(object):
            @staticmethod
            def forget(name):
                if name in _HOSTS:
                    del _HOSTS[name]
        """)
    assert fixed == {"NSA202": 1} and not declined
    assert "    @staticmethod\n    @utils.synchronized('hosts')\n" \
        "    def forget(name):\n" in text
    module, _ = load(text)
    module.add_host("a")
    fake_nova_utils["hosts"].acquire()
    thread = threading.Thread(target=module.Tracker.forget, args=("a",),
                              daemon=True)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()  # waits for the same named lock
    fake_nova_utils["hosts"].release()
    thread.join(WAIT)
    assert not thread.is_alive() and module._HOSTS == {}


def test_recursive_check_then_act_is_declined_and_still_runs(tmp_path):
    text, declined, fixed = fix(tmp_path, """
        DEPTHS = {}


        def depth(node, parents):
            if node not in DEPTHS:
                parent = parents.get(node)
                DEPTHS[node] = 0 if parent is None else \\
                    depth(parent, parents) + 1
            return DEPTHS[node]
        """)
    assert not fixed and "runs depth() again" in declined[7]
    module, _ = load(text)
    assert finishes(module.depth, "c", {"c": "b", "b": "a"})
    assert module.DEPTHS == {"a": 0, "b": 1, "c": 2}


# A lock is a global's own only where the global is changed under it: the
# new lock of SKIP's check-then-act reads TENANTS, which must not make a
# second run take that lock for TENANTS' writers (swift's functional test
# set-up had this shape; the second run changed the file again).
READ_UNDER_ANOTHER_GLOBALS_LOCK = """
    SKIP = False
    TENANTS = ['', '']


    def configure(config):
        TENANTS[0] = config['account']
        TENANTS[1] = config['account2']


    def decide():
        global SKIP
        if not SKIP:
            SKIP = not all(TENANTS)
"""


def test_reads_under_a_new_lock_do_not_make_it_that_globals_lock(tmp_path):
    text, declined, fixes = fix(tmp_path, READ_UNDER_ANOTHER_GLOBALS_LOCK)
    assert fixes == {"NSA202": 1} and "with _SKIP_LOCK:" in text
    assert sorted(declined) == [6, 7]
    again, declined_again, fixes_again = fix(tmp_path, text)
    assert again == text and not fixes_again
    assert len(declined_again) == 2
    module, _ = load(text)
    module.configure({"account": "a", "account2": "b"})
    assert finishes(module.decide) and module.SKIP is False
