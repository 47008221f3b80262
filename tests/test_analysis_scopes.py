"""Shared analysis for NSA2xx/NSA5xx: guarded regions, initialisation code,
module globals and mutables, name resolution inside functions."""

from __future__ import annotations

import ast

import pytest

from nova_secaudit.analysis import ModuleFacts
from nova_secaudit.analysis.functions import walk
from nova_secaudit.analysis.mutables import (
    global_reference, module_state, shared_container)
from nova_secaudit.analysis.scopes import (
    is_guarded, is_init_code, is_lock_name, is_synchronized_decorator)
from nova_secaudit.settings import Settings


def facts_of(source: str, settings: Settings | None = None) -> ModuleFacts:
    facts = ModuleFacts(ast.parse(source), "m.py", settings or Settings(),
                        source)
    facts.activate()
    for _ in walk(facts.tree):  # parents of every node
        pass
    return facts


def marked(facts: ModuleFacts) -> ast.stmt:
    """The statement whose line carries ``# here``."""
    lines = facts.source.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "# here" in line)
    return next(node for node in walk(facts.tree)
                if isinstance(node, ast.stmt) and node.lineno == number)


@pytest.mark.parametrize("name,expected", [
    ("_CACHE_LOCK", True), ("cells_lock", True), ("mutex", True),
    ("_sem", True), ("rlock", True), ("self._locks", True),
    ("lockutils.lock", True), ("COORDINATOR.get_lock", True),
    ("block", False), ("clock", False), ("blocker", False),
    ("unlock_all", False), ("semantic", False), ("self._block_device", False),
])
def test_lock_names_match_whole_tokens(name, expected):
    assert is_lock_name(name, Settings()) is expected


@pytest.mark.parametrize("decorator,expected", [
    ("synchronized", True), ("utils.synchronized('x')", True),
    ("lockutils.synchronized('x', external=True)", True),
    ("coordination.synchronized('{volume.id}')", True),
    ("functools.wraps(f)", False), ("serialized", False),
])
def test_synchronized_decorators(decorator, expected):
    expr = ast.parse(decorator, mode="eval").body
    assert is_synchronized_decorator(expr, Settings()) is expected


GUARDED = [
    ("with-lock-name", "import threading\nL = threading.Lock()\nX = []\n"
     "def f():\n    with L:\n        X.append(1)  # here\n", True),
    ("with-lock-and-other-item", "X = []\n"
     "def f(cm, _LOCK):\n    with cm(), _LOCK:\n        X.append(1)  # here\n",
     True),
    ("in-with-item-expression-itself", "X = []\n"
     "def f(_LOCK):\n    with _LOCK:\n        pass\n    X.append(1)  # here\n",
     False),
    ("enclosing-synchronized", "from nova import utils\nX = []\n"
     "@utils.synchronized('a')\ndef f():\n    def g():\n"
     "        X.append(1)  # here\n    g()\n", True),
    ("acquire-try-finally-release", "X = []\n"
     "def f(lock):\n    lock.acquire()\n    try:\n"
     "        X.append(1)  # here\n"
     "    finally:\n        lock.release()\n", True),
    ("if-acquire-try-finally", "X = []\n"
     "def f(lock):\n    if lock.acquire(False):\n        try:\n"
     "            X.append(1)  # here\n        finally:\n"
     "            lock.release()\n", True),
    ("release-of-another-lock", "X = []\n"
     "def f(a, b):\n    a.acquire()\n    try:\n        X.append(1)  # here\n"
     "    finally:\n        b.release()\n", False),
    ("in-finally-itself", "X = []\n"
     "def f(lock):\n    lock.acquire()\n    try:\n        pass\n"
     "    finally:\n        lock.release()\n        X.append(1)  # here\n",
     False),
    ("synchronized-on-another-class-method", "X = []\nclass A:\n"
     "    @synchronized\n    def a(self):\n        pass\n"
     "    def b(self):\n        X.append(1)  # here\n", False),
]


@pytest.mark.parametrize("source,expected",
                         [pytest.param(s, e, id=n) for n, s, e in GUARDED])
def test_guarded_regions(source, expected):
    facts = facts_of(source)
    assert is_guarded(marked(facts), facts) is expected


INIT = [
    ("module-top-level", "X = []\nX.append(1)  # here\n", True),
    ("main-block", "X = []\nif __name__ == '__main__':\n"
     "    X.append(1)  # here\n", True),
    ("called-from-main-only", "X = []\ndef main():\n    X.append(1)  # here\n"
     "if __name__ == '__main__':\n    main()\n", True),
    ("called-at-top-and-from-function", "X = []\ndef load():\n"
     "    X.append(1)  # here\nload()\ndef later():\n    load()\n", False),
    ("never-referenced", "X = []\ndef load():\n    X.append(1)  # here\n",
     False),
    ("decorator-at-module-level", "R = {}\ndef reg(f):\n"
     "    R[f.__name__] = f  # here\n    return f\n@reg\ndef g():\n    pass\n",
     True),
    ("decorator-factory-nested", "R = {}\ndef reg(name):\n    def deco(f):\n"
     "        R[name] = f  # here\n        return f\n    return deco\n"
     "@reg('x')\ndef g():\n    pass\n", True),
    ("returns-other-value", "R = []\ndef add(item):\n"
     "    R.append(item)  # here\n    return len(R)\n", False),
    ("method-named-init", "class A:\n    X = []\n    def __init__(self):\n"
     "        A.X.append(1)  # here\n", False),
    ("named-in-dunder-all-only", "__all__ = ['add']\nX = []\n"
     "def add(v):\n    X.append(v)  # here\n", False),
    ("mentioned-in-a-comment-only", "X = []\n# add() is called by rpc\n"
     "def add(v):\n    X.append(v)  # here\n", False),
    # RULES.md: every use must be a call or a decorator application at
    # module top level; any other reference lets the function run later.
    ("called-at-top-and-in-dispatch-dict", "X = []\ndef add(v):\n"
     "    X.append(v)  # here\nadd(1)\nHANDLERS = {'add': add}\n", False),
    ("called-at-top-and-thread-target", "import threading\nX = []\n"
     "def add(v=1):\n    X.append(v)  # here\nadd()\n"
     "threading.Thread(target=add).start()\n", False),
    ("called-at-top-and-callback", "import atexit\nX = []\n"
     "def add(v=1):\n    X.append(v)  # here\nadd()\n"
     "atexit.register(add)\n", False),
    ("called-at-top-and-default-argument", "X = []\ndef add(v=1):\n"
     "    X.append(v)  # here\nadd()\ndef run(hook=add):\n    hook()\n",
     False),
    ("called-at-top-and-in-lambda", "X = []\ndef add(v=1):\n"
     "    X.append(v)  # here\nadd()\nLATER = lambda: add()\n", False),
    ("called-in-class-body-and-top-level-if", "X = []\ndef add(v=1):\n"
     "    X.append(v)  # here\nclass A:\n    add()\n"
     "if X is not None:\n    add(2)\n", True),
    ("decorator-applied-to-method-at-import", "R = {}\ndef reg(name):\n"
     "    def deco(f):\n        R[name] = f  # here\n        return f\n"
     "    return deco\nclass A:\n    @reg('x')\n    def g(self):\n"
     "        pass\n", True),
]


@pytest.mark.parametrize("source,expected",
                         [pytest.param(s, e, id=n) for n, s, e in INIT])
def test_initialisation_code(source, expected):
    facts = facts_of(source)
    assert is_init_code(marked(facts), facts) is expected


@pytest.mark.parametrize("source,expected",
                         [pytest.param(s, e, id=n) for n, s, e in INIT])
def test_initialisation_code_without_source_text(source, expected):
    facts = facts_of(source)
    stmt = marked(facts)
    facts.source = None  # the tree-walking path must agree with the text
    assert is_init_code(stmt, facts) is expected


def test_configured_init_function():
    source = "X = []\ndef setup():\n    X.append(1)  # here\n"
    facts = facts_of(source, Settings(init_functions=("setup",)))
    assert is_init_code(marked(facts), facts)


def test_module_globals_and_mutables():
    facts = facts_of(
        "import collections\nimport weakref\n"
        "A = {}\nB: list = []\nC = (1, 2)\nD = frozenset()\nE = None\n"
        "if True:\n    F = set()\nelse:\n    F = None\n"
        "try:\n    G = collections.defaultdict(list)\nexcept Exception:\n"
        "    G = {}\n"
        "with open('x') as f:\n    H = weakref.WeakValueDictionary()\n"
        "I = {k: 1 for k in 'ab'}\nJ = dict()\nK = 0\nK += 1\n"
        "def f():\n    L = {}\n"
        "class M:\n    n = []\n    o = ()\n")
    state = facts.memo(module_state)
    assert set(state.mutables) == {"A", "B", "F", "G", "H", "I", "J"}
    assert {"C", "D", "E", "K"} <= state.globals
    assert "L" not in state.globals
    assert state.class_mutables == {"M": {"n": state.class_mutables["M"]
                                          ["n"]}}


def test_global_reference_sees_shadowing():
    facts = facts_of(
        "X = {}\n"
        "def a():\n    X[1] = 1  # here\n")
    assert global_reference("X", marked(facts), facts)
    for body in ("    X = {}\n    X[1] = 1  # here\n",
                 "    for X in ():\n        pass\n    X[1] = 1  # here\n",
                 "    import X\n    X[1] = 1  # here\n"):
        facts = facts_of("X = {}\ndef a():\n" + body)
        assert not global_reference("X", marked(facts), facts)
    closure = facts_of("X = {}\ndef a():\n    X = {}\n    def b():\n"
                       "        X[1] = 1  # here\n")
    assert not global_reference("X", marked(closure), closure)
    declared = facts_of("X = {}\ndef a():\n    global X\n    X = {}\n"
                        "    X[1] = 1  # here\n")
    assert global_reference("X", marked(declared), declared)


def test_class_mutable_through_self_only_when_never_assigned():
    source = ("class A:\n    shared = {}\n    own = {}\n"
              "    def __init__(self):\n        self.own = {}\n"
              "    def f(self):\n        self.shared[1] = 1  # here\n"
              "        self.own[1] = 1\n")
    facts = facts_of(source)
    stmt = marked(facts)
    target = shared_container(stmt.targets[0].value, facts, at=stmt)
    assert (target.name, target.kind, target.lock) == \
        ("A.shared", "class", "_SHARED_LOCK")
    own = next(n for n in walk(facts.tree) if isinstance(n, ast.Assign)
               and n.lineno == stmt.lineno + 1)
    assert shared_container(own.targets[0].value, facts, at=own) is None


# -- the concurrency model (analysis/concurrency.py) ------------------------
def _model(source: str):
    from nova_secaudit.analysis.concurrency import concurrency

    facts = facts_of(source)
    return facts, facts.memo(concurrency)


def test_call_graph_follows_names_self_cls_and_class_methods():
    facts, model = _model(
        "def helper():\n    pass\n\n"
        "class A:\n"
        "    def run(self):\n        self.step()\n        helper()\n"
        "    def step(self):\n        A.build()\n"
        "    @classmethod\n    def build(cls):\n        cls.done()\n"
        "    @classmethod\n    def done(cls):\n        len([])\n")
    edges = {key: sorted(c for _, c in model.calls(key) if c)
             for key in model.functions}
    assert edges == {"helper": [], "A.run": ["A.step", "helper"],
                     "A.step": ["A.build"], "A.build": ["A.done"],
                     "A.done": []}
    assert sorted(model.reachable(model.calls("A.run"))) == \
        ["A.build", "A.done", "A.step", "helper"]


def test_one_lockutils_name_is_one_lock_in_every_form():
    facts, model = _model(
        "import threading\n"
        "from oslo_concurrency import lockutils\n"
        "from nova import utils\n"
        "_GUARD = threading.Lock()\n\n"
        "def a():\n    with lockutils.lock('cells'):\n        pass\n\n"
        "@utils.synchronized('cells')\ndef b():\n    pass\n\n"
        "def c():\n    _GUARD.acquire()\n    try:\n        pass\n"
        "    finally:\n        _GUARD.release()\n")
    assert model.takes("a") == model.takes("b") == {"named:cells"}
    assert model.takes("c") == {"expr:_GUARD"}


@pytest.mark.parametrize("call,why", [
    ("objects.Service.get_by_id(ctxt, 1)", "queries the database"),
    ("time.sleep(1)", "sleeps"),
    ("os.fork()", "forks or runs a process"),
    ("fut.result()", "waits for other work"),
    ("open('/etc/hosts')", "does file I/O"),
    ("unknown_module.thing()", "calls code this module does not own"),
    ("db_read()", "queries the database (@api_db_api.context_manager"
                  ".reader)"),
    ("_EXECUTE_LOG.append(1)", None),  # a receiver's name is not a kind
    ("', '.join(names)", None),
    ("LOG.warning('x')", None),
    ("len(names)", None),
    ("copy.deepcopy(names)", None),
    ("raise objects.ServiceNotFound(service_id=1)", None),
])
def test_blocking_calls_and_why(call, why):
    import textwrap

    source = textwrap.dedent(f"""
        import copy
        import os
        import time

        from oslo_log import log as logging

        from nova import objects
        from nova.db.api import api as api_db_api
        import unknown_module

        LOG = logging.getLogger(__name__)
        _EXECUTE_LOG = []


        @api_db_api.context_manager.reader
        def db_read():
            pass


        def region(ctxt, fut, names):
            {call}
        """)
    facts, model = _model(source)
    body = model.functions["region"].body
    found = model.blocking_call(body)
    assert (found[2] if found else None) == why


def test_import_time_uses_cost_a_bounded_number_of_text_searches(
        monkeypatch):
    # Every top-level function holding a change site asks whether it only
    # runs at import. Deciding that with a text search per function made a
    # module of n such functions cost n searches of its whole text; past
    # MAX_LINE_WORDS names one walk decides the rest.
    from nova_secaudit.analysis import MAX_LINE_WORDS
    from nova_secaudit.engine import check

    searches = []
    search = ModuleFacts._lines_with

    def counted(self, words):
        searches.append(words)
        return search(self, words)

    monkeypatch.setattr(ModuleFacts, "_lines_with", counted)
    source = "_CACHE = {}\n" + "".join(
        f"\n\ndef handler_{n}(key):\n    _CACHE[key] = {n}\n"
        for n in range(400))
    found = check(ast.parse(source), "m.py", Settings(select=("NSA201",)),
                  source=source)
    assert [f.line for f in found] == [4 * n + 5 for n in range(400)]
    assert len(searches) <= MAX_LINE_WORDS + 2, searches[:5]
