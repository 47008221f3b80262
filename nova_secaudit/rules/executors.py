"""NSA1xx: executors and green pools built without a bound."""

from __future__ import annotations

import ast

from nova_secaudit.analysis import enclosing_function
from nova_secaudit.analysis.functions import (
    is_none, is_rebound_before, parameter_defaults)
from nova_secaudit.engine import Example, FixSafety, Rule, shortest_words

FAMILY = ("1", "executors", "Executors and pools without bounds")

# Executor class -> (position of the bound argument, its keyword).
POOLS = {
    "concurrent.futures.ThreadPoolExecutor": (0, "max_workers"),
    "concurrent.futures.ProcessPoolExecutor": (0, "max_workers"),
    "concurrent.futures.thread.ThreadPoolExecutor": (0, "max_workers"),
    "concurrent.futures.process.ProcessPoolExecutor": (0, "max_workers"),
    "futurist.ThreadPoolExecutor": (0, "max_workers"),
    "futurist.GreenThreadPoolExecutor": (0, "max_workers"),
    "futurist.ProcessPoolExecutor": (0, "max_workers"),
    "futurist.DynamicThreadPoolExecutor": (0, "max_workers"),
    "eventlet.GreenPool": (0, "size"),
    "eventlet.greenpool.GreenPool": (0, "size"),
    "eventlet.GreenPile": (0, "size_or_pool"),
    "eventlet.greenpool.GreenPile": (0, "size_or_pool"),
    "multiprocessing.Pool": (0, "processes"),
    "multiprocessing.pool.Pool": (0, "processes"),
    "multiprocessing.pool.ThreadPool": (0, "processes"),
}
# futurist executors whose backlog check_and_reject can bound.
REJECTING_EXECUTORS = frozenset({
    "futurist.ThreadPoolExecutor",
    "futurist.GreenThreadPoolExecutor",
    "futurist.DynamicThreadPoolExecutor",
})
POOL_CLASS_NAMES = frozenset(name.rpartition(".")[2] for name in POOLS)
REJECTING_NAMES = frozenset(n.rpartition(".")[2] for n in REJECTING_EXECUTORS)


def configured_factories(specs: tuple[str, ...]) -> dict:
    """``pkg.f`` / ``pkg.f:kw`` / ``pkg.f:2`` -> {qualname: (pos, kw)}."""
    factories = {}
    for spec in specs:
        name, _, bound = spec.partition(":")
        if not bound:
            factories[name] = (0, "max_workers")
        elif bound.isdigit():
            factories[name] = (int(bound), None)
        else:
            factories[name] = (None, bound)
    return factories


def bound_argument(call: ast.Call, position, keyword):
    """The expression given as the bound, or None when none is given."""
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def passes_unpacked(call: ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords) or \
        any(isinstance(a, ast.Starred) for a in call.args)


def is_unbounded(call: ast.Call, bound: ast.AST | None) -> bool:
    """No bound, literal None, or a None-defaulted parameter passed as is."""
    if bound is None or is_none(bound):
        return True
    if not isinstance(bound, ast.Name):
        return False
    func = enclosing_function(call)
    if func is None:
        return False
    default = parameter_defaults(func).get(bound.id)
    return is_none(default) and not is_rebound_before(func, bound.id, call)


class UnboundedExecutor(Rule):
    """Flags an executor or green pool created without a worker bound.

    Why this is bad:
        With no bound, concurrent.futures and futurist size the pool from the
        CPU count, GreenPool and GreenPile allow 1000 greenthreads. Each
        worker may hold a database or message-queue connection, so a burst of
        requests exhausts connection pools and memory (CWE-400, CWE-770).
        A bound that is a literal None, or a parameter defaulting to None and
        passed straight through, is no bound either.
    Fix:
        Adds max_workers=<N> (size=<N> for GreenPool, processes=<N> for
        multiprocessing pools), N from --max-workers. Safe: it only caps
        concurrency; pick N to suit the deployment.
    Known limits:
        A bound computed elsewhere (a variable, CONF.x) is trusted. Calls
        that unpack *args or **kwargs are not checked.
    """

    code = "NSA101"
    symbol = "unbounded-executor"
    cwe = (400, 770)
    message = ("{callee}() has no {keyword} bound (CWE-770); "
               "pass {keyword}=<N>")
    fix = FixSafety.SAFE
    bad = (
        Example("import futurist\n\n"
                "executor = futurist.ThreadPoolExecutor()\n",
                name="futurist-no-argument",
                fixed="import futurist\n\n"
                      "executor = futurist.ThreadPoolExecutor("
                      "max_workers=8)\n"),
        Example("from eventlet import greenpool as gp\n\n"
                "pool = gp.GreenPool(size=None)\n",
                name="alias-and-literal-none"),
        Example("from concurrent import futures\n\n\n"
                "def make(workers=None):\n"
                "    return futures.ThreadPoolExecutor(workers)\n",
                name="none-default-parameter-passed-through"),
        Example("import multiprocessing\n\npool = multiprocessing.Pool()\n",
                name="multiprocessing-pool",
                fixed="import multiprocessing\n\n"
                      "pool = multiprocessing.Pool(processes=8)\n"),
    )
    good = (
        Example("import futurist\n\nimport nova.conf\n\n"
                "CONF = nova.conf.CONF\n"
                "executor = futurist.ThreadPoolExecutor(CONF.workers)\n",
                name="bounded-from-conf"),
        Example("from futurist import ThreadPoolExecutor as TPE\n\n"
                "with TPE(max_workers=4) as executor:\n"
                "    executor.submit(print)\n",
                name="aliased-with-keyword-bound"),
        Example("from concurrent import futures\n\n\n"
                "def make(workers=None):\n"
                "    workers = workers or 4\n"
                "    return futures.ThreadPoolExecutor(workers)\n",
                name="none-default-replaced-before-use"),
        Example("import futurist\n\n\n"
                "def make(**kwargs):\n"
                "    return futurist.ThreadPoolExecutor(**kwargs)\n",
                name="kwargs-passed-through"),
    )

    def __init__(self, settings):
        super().__init__(settings)
        self.factories = configured_factories(settings.executor_factories)
        self.callee_names = POOL_CLASS_NAMES | frozenset(
            name.rpartition(".")[2] for name in self.factories)
        # A pool's class name appears in its call or in the import that
        # aliases it, so a module without any of the names has no finding.
        self.trigger = shortest_words(self.callee_names)

    def line_words(self, facts):
        return facts.call_line_words(self.callee_names)

    def visit_Call(self, node: ast.Call, facts):
        # Cheap name test first: most calls are not executors at all.
        if _called_name(node) not in facts.call_words(self.callee_names):
            return
        callee = facts.qualified_name(node.func)
        if callee is None:
            return
        spec = POOLS.get(callee)
        if spec is None:
            spec = self.factories.get(callee)
            if spec is None:
                return
        if passes_unpacked(node):
            return
        position, keyword = spec
        if is_unbounded(node, bound_argument(node, position, keyword)):
            keyword = keyword or "max_workers"
            yield self.finding(node, facts, callee=callee, keyword=keyword,
                               fix_data={"keyword": keyword})


class UnboundedBacklog(Rule):
    """Flags a futurist executor created without check_and_reject.

    Why this is bad:
        Without check_and_reject a futurist executor queues every submitted
        task: when workers are slow the backlog grows without limit and
        holds the request contexts it captured (CWE-400, CWE-770).
    Fix:
        Adds check_and_reject=futurist.rejection.reject_when_reached(<M>)
        and imports futurist.rejection. Unsafe: callers now see
        futurist.RejectedSubmission when the backlog is full and must
        handle it. Opt-in rule: select NSA102 to run it.
    """

    code = "NSA102"
    symbol = "unbounded-backlog"
    cwe = (400, 770)
    message = ("{callee}() has no check_and_reject backlog bound "
               "(CWE-770); pass reject_when_reached(<M>)")
    fix = FixSafety.UNSAFE
    default_enabled = False
    trigger = ("Executor",)

    def line_words(self, facts):
        return facts.call_line_words(REJECTING_NAMES)
    bad = (
        Example("import futurist\n\n"
                "executor = futurist.ThreadPoolExecutor(max_workers=4)\n",
                name="no-check-and-reject",
                fixed="import futurist\nimport futurist.rejection\n\n"
                      "executor = futurist.ThreadPoolExecutor(\n"
                      "    max_workers=4,\n"
                      "    check_and_reject=futurist.rejection."
                      "reject_when_reached(64))\n"),
    )
    good = (
        Example("import futurist\nfrom futurist import rejection\n\n"
                "executor = futurist.ThreadPoolExecutor(\n"
                "    max_workers=4,\n"
                "    check_and_reject=rejection.reject_when_reached(8))\n",
                name="rejecting-executor"),
        Example("from concurrent import futures\n\n"
                "executor = futures.ThreadPoolExecutor(4)\n",
                name="stdlib-executor-has-no-rejection-hook"),
    )

    def visit_Call(self, node: ast.Call, facts):
        if _called_name(node) not in facts.call_words(REJECTING_NAMES):
            return
        callee = facts.qualified_name(node.func)
        if callee not in REJECTING_EXECUTORS or passes_unpacked(node):
            return
        if bound_argument(node, 1, "check_and_reject") is None or \
                is_none(bound_argument(node, 1, "check_and_reject")):
            yield self.finding(node, facts, callee=callee)


RULES = (UnboundedExecutor, UnboundedBacklog)
