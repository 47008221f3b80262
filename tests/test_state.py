"""NSA201/NSA202 on marker-annotated snippets: positives and hard negatives.

Each case is a small Nova-shaped module whose ``# expect: CODE`` markers
must match the findings both ways (only NSA2xx codes are compared).
"""

from __future__ import annotations

import ast
import time

import pytest

from nova_secaudit.engine import check
from nova_secaudit.settings import Settings
from support import assert_markers

STATE = ("NSA2",)


def case(name, source, settings=None):
    return pytest.param(source, settings, id=name)


CASES = [
    # --- positives -------------------------------------------------------
    case("NSA201-append-to-module-list", """
CELLS = []


def register_cell(cell):
    CELLS.append(cell)  # expect: NSA201
"""),
    case("NSA201-subscript-store-and-delete", """
CACHE = {}


def put(k, v):
    CACHE[k] = v  # expect: NSA201


def drop(k):
    del CACHE[k]  # expect: NSA201
"""),
    case("NSA201-annotated-module-dict-in-top-level-try", """
import collections

try:
    import eventlet  # noqa
    STATS: dict = collections.OrderedDict()
except ImportError:
    STATS = {}


def count(k):
    STATS[k] = 1  # expect: NSA201
"""),
    case("NSA201-global-augmented-counter", """
_COUNT = 0


def bump():
    global _COUNT
    _COUNT += 1  # expect: NSA201
"""),
    case("NSA201-global-rebinding-of-mutable", """
CELL_CACHE = {}


def reset_cell_cache():
    global CELL_CACHE
    CELL_CACHE = {}  # expect: NSA201
"""),
    case("NSA201-pop-as-assigned-value-and-returned", """
CACHE = {}


def take(k):
    value = CACHE.pop(k, None)  # expect: NSA201
    return value


def take_all():
    return CACHE.popitem()  # expect: NSA201
"""),
    case("NSA201-class-mutable-through-cls-and-classname", """
class Registry(object):
    handlers = []

    @classmethod
    def add(cls, handler):
        cls.handlers.append(handler)  # expect: NSA201

    def drop(self, handler):
        Registry.handlers.remove(handler)  # expect: NSA201
"""),
    case("NSA201-class-mutable-through-self-never-assigned", """
class Driver(object):
    stats = {}

    def update(self, pools):
        self.stats['pools'] = pools  # expect: NSA201
"""),
    case("NSA201-with-block-is-not-a-lock", """
import contextlib

clock = {}


def tick(k, block):
    with contextlib.closing(block):
        clock[k] = 1  # expect: NSA201
"""),
    case("NSA201-nested-function-without-lock", """
CACHE = {}


def outer(k):
    def inner(v):
        CACHE[k] = v  # expect: NSA201
    return inner
"""),
    case("NSA202-lazy-executor-singleton", """
import futurist

DEFAULT_EXECUTOR = None


def get_default_executor():
    global DEFAULT_EXECUTOR
    if DEFAULT_EXECUTOR is None:
        DEFAULT_EXECUTOR = futurist.ThreadPoolExecutor(8)  # expect: NSA202
    return DEFAULT_EXECUTOR
"""),
    case("NSA202-load-cells", """
from nova import objects

CELLS = []


def load_cells():
    global CELLS
    if not CELLS:
        CELLS = objects.CellMappingList.get_all(None)  # expect: NSA202
"""),
    case("NSA202-not-in-then-store", """
CACHE = {}


def lookup(k, build):
    if k not in CACHE:
        CACHE[k] = build(k)  # expect: NSA202
    return CACHE[k]
"""),
    case("NSA202-try-keyerror-then-store", """
CELL_CACHE = {}


def set_target_cell(context, cell_mapping, connect):
    try:
        cell_tuple = CELL_CACHE[cell_mapping.uuid]
    except KeyError:
        cell_tuple = connect(cell_mapping)
        CELL_CACHE[cell_mapping.uuid] = cell_tuple  # expect: NSA202
    context.conn = cell_tuple
"""),
    case("NSA202-get-then-store", """
CACHE = {}


def lookup(k, build):
    value = CACHE.get(k)
    if value is None:
        value = build(k)
        CACHE[k] = value  # expect: NSA202
    return value
"""),
    case("NSA202-early-return", """
CACHE = {}


def lookup(k, build):
    if k in CACHE:
        return CACHE[k]
    value = build(k)
    CACHE.update({k: value})  # expect: NSA202
    return value
"""),
    case("NSA202-class-level-lazy-fill", """
class FaultWrapper(object):
    _status_to_type = {}

    @staticmethod
    def status_to_type(status, classes):
        if not FaultWrapper._status_to_type:
            for clazz in classes:
                # expect+1: NSA202
                FaultWrapper._status_to_type[clazz.code] = clazz
        return FaultWrapper._status_to_type.get(status)
"""),
    # --- hard negatives --------------------------------------------------
    case("NSA202-synchronized-nested-function-is-guarded", """
from nova import utils

CELL_CACHE = {}


def set_target_cell(context, cell_mapping, connect):
    @utils.synchronized(cell_mapping.uuid)
    def get_or_set_cached_cell():
        try:
            return CELL_CACHE[cell_mapping.uuid]
        except KeyError:
            CELL_CACHE[cell_mapping.uuid] = connect()
            return CELL_CACHE[cell_mapping.uuid]

    context.conn = get_or_set_cached_cell()
"""),
    case("NSA202-closure-inside-synchronized-function-is-guarded", """
from oslo_concurrency import lockutils

CACHE = {}


@lockutils.synchronized('cache')
def fill(keys, build):
    def one(k):
        if k not in CACHE:
            CACHE[k] = build(k)
    for k in keys:
        one(k)
"""),
    case("NSA201-with-module-lock", """
import threading

CELLS = []
_LOCK = threading.Lock()


def register(cell):
    with _LOCK:
        CELLS.append(cell)
"""),
    case("NSA201-with-self-lock-attribute-and-lock-dict", """
import threading

CELLS = []


class Registry(object):
    def __init__(self):
        self._mutex = threading.RLock()
        self._locks = {}

    def add(self, cell):
        with self._mutex:
            CELLS.append(cell)

    def add_keyed(self, key, cell):
        with self._locks[key]:
            CELLS.append(cell)
"""),
    case("NSA201-with-condition-bound-to-a-neutral-name", """
import threading

CELLS = []
_ready = threading.Condition()


def add(cell):
    with _ready:
        CELLS.append(cell)
        _ready.notify_all()
"""),
    case("NSA202-lockutils-lock-call", """
from oslo_concurrency import lockutils

CACHE = {}


def lookup(k, build):
    with lockutils.lock('x'):
        if k not in CACHE:
            CACHE[k] = build(k)
    return CACHE[k]
"""),
    case("NSA202-acquire-try-finally-release", """
import threading

_CACHE_LOCK = threading.Lock()
CACHE = {}


def lookup(k, build):
    _CACHE_LOCK.acquire()
    try:
        if k not in CACHE:
            CACHE[k] = build(k)
    finally:
        _CACHE_LOCK.release()
"""),
    case("NSA202-local-dict-shadows-global", """
CACHE = {}


def build(items):
    CACHE = {}
    for k, v in items:
        if k not in CACHE:
            CACHE[k] = v
    return CACHE
"""),
    case("NSA201-parameter-shadows-global", """
CACHE = {}


def fill(CACHE, k, v):
    CACHE[k] = v
"""),
    case("NSA201-module-tuple-and-frozenset-are-not-mutable", """
NAMES = ('a', 'b')
KINDS = frozenset({'x'})
LIMIT = None


def use(k):
    global NAMES
    NAMES = NAMES + (k,)
    return k in KINDS
"""),
    case("NSA201-mutation-in-main-block", """
import sys

ARGS = []

if __name__ == '__main__':
    ARGS.extend(sys.argv)
"""),
    case("NSA201-import-time-registration-decorator", """
HANDLERS = {}


def register(func):
    HANDLERS[func.__name__] = func
    return func


@register
def handle_boot():
    pass
"""),
    case("NSA201-registration-decorator-used-by-other-modules", """
_volume_register = []


def volumedriver(cls):
    _volume_register.append(cls)
    return cls


class Registry(object):
    notification_classes = []

    @classmethod
    def register_notification(cls, notification_cls):
        cls.notification_classes.append(notification_cls)
        return notification_cls
"""),
    case("NSA201-function-called-only-at-module-level", """
_MKFS = {}


def load_mkfs_command(os_type, command):
    _MKFS[os_type] = command


for spec in ('linux=mkfs.ext4',):
    load_mkfs_command(*spec.split('='))
"""),
    case("NSA201-class-body-and-module-level-code", """
import collections

CACHE = {}
CACHE['boot'] = 1
CACHE.update(x=2)


class Opts(object):
    seen = collections.deque()
    seen.append('a')
"""),
    case("NSA201-setdefault-is-atomic", """
CACHE = {}


def lookup(k, v):
    return CACHE.setdefault(k, v)
"""),
    case("NSA201-self-attribute-assigned-by-a-method", """
class Driver(object):
    stats = {}

    def __init__(self):
        self.stats = {}

    def update(self, pools):
        self.stats['pools'] = pools
"""),
    case("NSA201-class-init-hook", """
class CleanableObject(object):
    cleanable_resource_types = set()

    @classmethod
    def ovo_cls_init(cls):
        cls.cleanable_resource_types.add(cls.__name__)
"""),
    case("NSA202-lazy-import-is-idempotent", """
from oslo_utils import importutils

guestfs = None


def load():
    global guestfs
    if guestfs is None:
        guestfs = importutils.import_module('guestfs')
"""),
    case("NSA202-assert-is-not-a-decision", """
TRANSPORT = None


def cleanup():
    global TRANSPORT
    assert TRANSPORT is not None
    TRANSPORT.cleanup()
    TRANSPORT = None
"""),
    case("NSA202-plain-rebinding-of-non-mutable-global", """
TRANSPORT = None


def init(make):
    global TRANSPORT
    TRANSPORT = make()
"""),
]


@pytest.mark.parametrize("source,settings", CASES)
def test_state_markers(source, settings):
    kwargs = {"codes": STATE}
    if settings is not None:
        kwargs["settings"] = settings
    assert_markers(source, **kwargs)


def _findings(source, settings=None):
    settings = settings or Settings(select=("NSA2",))
    return [f for f in check(ast.parse(source), "snippet.py", settings)
            if f.code.startswith("NSA2")]


def test_nsa202_fix_data_spans_the_whole_check_then_act_block():
    source = ("CELLS = []\n"                      # 1
              "\n\n"                              # 2-3
              "def load_cells(loader):\n"         # 4
              "    global CELLS\n"                # 5
              "    if not CELLS:\n"               # 6
              "        CELLS = loader()\n"        # 7
              "        count = len(CELLS)\n"      # 8
              "    return CELLS\n")               # 9
    [found] = _findings(source)
    assert (found.code, found.line) == ("NSA202", 7)
    assert found.fix_args == {"global": "CELLS", "scope": "module",
                              "lock": "_CELLS_LOCK", "block_start": "6",
                              "block_end": "8"}


def test_nsa202_early_return_block_runs_from_check_to_store():
    source = ("CACHE = {}\n\n\n"
              "def lookup(k, build):\n"           # 4
              "    if k in CACHE:\n"              # 5
              "        return CACHE[k]\n"         # 6
              "    value = build(k)\n"            # 7
              "    CACHE[k] = value\n"            # 8
              "    return value\n")
    [found] = _findings(source)
    assert (found.fix_args["block_start"], found.fix_args["block_end"]) == \
        ("5", "8")


def test_nsa201_fix_data_names_global_and_lock():
    [found] = _findings("X = {}\n\n\ndef f(k):\n    X[k] = X.get(k, 0) + 1\n")
    assert found.fix_args == {"global": "X", "scope": "module",
                              "lock": "_X_LOCK"}
    assert found.message.startswith("shared X item stored without a lock")
    assert "CWE-362" in found.message


def test_nsa201_lone_atomic_append_is_reported_but_not_auto_fixable():
    [found] = _findings("X = []\n\n\ndef f(v):\n    X.append(v)\n")
    assert found.message.startswith("shared X append() without a lock")
    assert "would protect nothing" in found.fix_args["unfixable"]


@pytest.mark.parametrize("field,value,source", [
    ("lock_names", ("guard",),
     "CACHE = {}\n\n\ndef f(k, guard):\n    with guard:\n"
     "        CACHE[k] = 1\n"),
    ("synchronized_decorators", ("coordination.serialized",),
     "from cinder import coordination\n\nCACHE = {}\n\n\n"
     "@coordination.serialized('x')\ndef f(k):\n    CACHE[k] = 1\n"),
    ("init_functions", ("setup_cache",),
     "CACHE = {}\n\n\ndef setup_cache(k):\n    CACHE[k] = 1\n"),
], ids=["NSA201-configured-lock-name",
        "NSA201-configured-synchronized-decorator",
        "NSA201-configured-init-function"])
def test_configured_names_add_to_the_built_in_sets(field, value, source):
    assert len(_findings(source)) == 1
    configured = Settings(select=("NSA2",), **{field: value})
    assert _findings(source, configured) == []


def test_a_redefinition_under_a_top_level_if_is_not_a_reference():
    # Found by the line-ending property test: the text-based import-time
    # check took the second ``def`` line for a module-level call.
    source = ("CELLS = []\n\n\n"
              "def register_cell(cell):\n"
              "    CELLS.append(cell)  # expect: NSA201\n"
              "if CONF.enabled:\n"
              "    CELLS = []\n\n\n"
              "    def register_cell(cell):\n"
              "        CELLS.append(cell)  # expect: NSA201\n")
    assert_markers(source)


def _one_writer_per_function(count: int) -> str:
    return "D = {}\n\n\n" + "".join(
        f"def set_{i}(value):\n    D[{i}] = value\n\n\n"
        for i in range(count))


def _best_check_time(source: str, repeat: int = 2) -> float:
    tree = ast.parse(source)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        found = check(tree, "m.py", Settings(), source=source)
        best = min(best, time.perf_counter() - started)
    assert len(found) == source.count("def set_")  # every writer flagged
    return best


def test_nsa2xx_time_grows_linearly_with_the_number_of_functions():
    # The init-code question used to scan every line once per function:
    # doubling the functions quadrupled the time (issue 12). Measured in
    # one process, as a ratio, so a slow machine does not fail it.
    small = _best_check_time(_one_writer_per_function(1500))
    large = _best_check_time(_one_writer_per_function(3000))
    assert large / small < 3.0, (small, large)
