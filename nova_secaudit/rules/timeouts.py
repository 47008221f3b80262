"""NSA4xx: bounded waits whose unfinished work is never cancelled."""

from __future__ import annotations

import ast

from nova_secaudit.analysis import enclosing_function, parent_of
from nova_secaudit.analysis.cancelling import cancel_plan
from nova_secaudit.analysis.functions import (
    enclosing_loops, is_none, mentions, parameter_names, walk_local)
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.logs import logging_method
from nova_secaudit.analysis.names import last_name, name_tokens
from nova_secaudit.analysis.pending import (
    PendingWork, Position, created_work, root_keys, started_before)
from nova_secaudit.engine import Example, FixSafety, Rule

FAMILY = ("4", "timeouts", "Timeouts that never cancel")

# Waits over a collection of futures: qualified name -> whether it returns
# a (done, not_done) pair.
COLLECTION_WAITS = {
    "concurrent.futures.wait": True,
    "futurist.waiters.wait_for_all": True,
    "futurist.waiters.wait_for_any": True,
    "concurrent.futures.as_completed": False,
}
COLLECTION_WAIT_NAMES = frozenset(n.rpartition(".")[2]
                                  for n in COLLECTION_WAITS)
# Methods that wait on their receiver with a timeout argument.
TIMED_METHODS = frozenset({"result", "exception", "waitall"})
EVENTLET_TIMEOUTS = frozenset({"eventlet.Timeout", "eventlet.timeout.Timeout"})
TIMEOUT_ERRORS = frozenset({
    "builtins.TimeoutError", "concurrent.futures.TimeoutError",
    "concurrent.futures._base.TimeoutError", "futurist.TimeoutError",
    "asyncio.TimeoutError", "socket.timeout",
}) | EVENTLET_TIMEOUTS
BROAD_ERRORS = frozenset({"builtins.Exception", "builtins.BaseException"})
THREAD_CONSTRUCTORS = frozenset({"threading.Thread", "threading.Timer",
                                 "multiprocessing.Process"})
THREAD_TOKENS = frozenset({"thread", "threads", "process", "proc", "worker",
                           "greenthread", "gt"})


RAISING_WAIT_HINT = ("the wait raises on timeout; cancel or kill the work in "
                     "the handler")


def timeout_argument(call: ast.Call, position: int | None):
    """The timeout expression of ``call`` unless absent or literal None."""
    for kw in call.keywords:
        if kw.arg == "timeout":
            return None if is_none(kw.value) else kw.value
    if position is not None and len(call.args) > position:
        value = call.args[position]
        return None if is_none(value) or isinstance(value, ast.Starred) \
            else value
    return None


def _is_text(expr: ast.AST) -> bool:
    return isinstance(expr, ast.JoinedStr) or \
        isinstance(expr, ast.Constant) and isinstance(expr.value, str)


def _owned_by_caller(roots: set[str], func) -> bool:
    """Work reached through a parameter or object state is not ours to
    cancel: the caller or the object's other methods own it."""
    params = parameter_names(func) - {"self", "cls"}
    return any(root.split(".", 1)[0] in params or
               root.startswith(("self.", "cls.")) for root in roots)


def _repeats_until_done(anchor: ast.AST, func, keys: set[str]) -> bool:
    """A wait inside ``while <work pending>:`` (or a loop that breaks once
    the work is done) is polling, not giving up."""
    for loop in enclosing_loops(anchor, func):
        if not isinstance(loop, ast.While):
            continue
        if mentions(loop.test, keys):
            return True
        for inner in walk_local(loop):
            if isinstance(inner, ast.If) and mentions(inner.test, keys) and \
                    any(isinstance(s, (ast.Break, ast.Return))
                        for s in inner.body + inner.orelse):
                return True
    return False


def _assignment_targets(call: ast.Call) -> list[ast.AST]:
    parent = parent_of(call)
    if isinstance(parent, ast.Assign) and parent.value is call:
        return parent.targets
    if isinstance(parent, (ast.AnnAssign, ast.NamedExpr)) and \
            parent.value is call:
        return [parent.target]
    return []


class TimeoutWithoutCancel(Rule):
    """Flags a bounded wait after which unfinished work is never cancelled.

    Why this is bad:
        When the wait times out the futures, greenthreads or threads keep
        running: each still holds a worker, a database connection and the
        request context, and the next timed-out call adds more. The caller
        is told the work "did not respond" while it is still consuming
        resources (CWE-400, CWE-404).
    Fix:
        Safe: cancel() only stops futures that have not started. When
        nothing reads the futures after the wait, ``for f in not_done:
        f.cancel()`` right after it (the waited collection when the result
        is not kept). When the only later read is the "did not respond"
        loop (``if not fut.done(): results[k] = sentinel``), ``if not
        fut.cancel(): LOG.warning(...)`` inside that branch, as Nova
        32.0.0 does. Any other later read (through another name such as
        ``dict(zip(fs, jobs))`` or ``list(not_done)``, or a second pass)
        is declined with its line: a cancelled future's result() raises
        CancelledError. Waits that raise on timeout (as_completed,
        result(timeout=...), eventlet Timeout) get a hint only.
    Known limits:
        Work reached through a parameter or ``self`` belongs to the caller
        or the object and is not flagged; a wait in a loop that repeats
        until the work is done is polling, not giving up.
    """

    code = "NSA401"
    symbol = "timeout-without-cancel"
    cwe = (400, 404)
    message = ("{wait}() with a timeout never cancels the unfinished work "
               "(CWE-404); cancel it after the wait")
    fix = FixSafety.SAFE
    # Every wait's name (or the import aliasing it) is in the text.
    # Every wait's name (or the import aliasing it) is in the text, or a
    # timeout keyword; a positional ``.result(t)`` counts only on work the
    # function started itself.
    trigger = ("wait", "as_completed", "imeout")
    _started_work = ("submit", "spawn", "Thread", "Timer", "Process",
                     "apply_async")

    def line_words(self, facts):
        return facts.call_line_words(
            COLLECTION_WAIT_NAMES | TIMED_METHODS | {"Timeout"})

    def applies(self, facts) -> bool:
        source = facts.source
        return super().applies(facts) or (
            (".result(" in source or ".exception(" in source)
            and any(word in source for word in self._started_work))
    bad = (
        Example(
            "import futurist.waiters\n\n\n"
            "def gather(executor, cells, timeout):\n"
            "    futures = [executor.submit(c.ping) for c in cells]\n"
            "    futurist.waiters.wait_for_all(futures, timeout)\n"
            "    return [f.result() for f in futures if f.done()]\n",
            name="futurist-wait-for-all"),
        Example(
            "from concurrent import futures as cf\n\n\n"
            "def gather(pool, jobs):\n"
            "    fs = {pool.submit(j): j for j in jobs}\n"
            "    done, not_done = cf.wait(fs, timeout=5)\n"
            "    return [f.result() for f in done]\n",
            name="stdlib-wait-returns-not-done",
            fixed="from concurrent import futures as cf\n\n\n"
                  "def gather(pool, jobs):\n"
                  "    fs = {pool.submit(j): j for j in jobs}\n"
                  "    done, not_done = cf.wait(fs, timeout=5)\n"
                  "    for f in not_done:\n"
                  "        f.cancel()\n"
                  "    return [f.result() for f in done]\n"),
        Example(
            "def call(executor, fn):\n"
            "    future = executor.submit(fn)\n"
            "    return future.result(timeout=10)\n",
            name="result-with-timeout"),
        Example(
            "import eventlet\n\n\n"
            "def call(fn):\n"
            "    gt = eventlet.spawn(fn)\n"
            "    with eventlet.Timeout(5):\n"
            "        return gt.wait()\n",
            name="eventlet-timeout-around-wait"),
    )
    good = (
        Example(
            "import futurist.waiters\n\n\n"
            "def gather(executor, cells, timeout):\n"
            "    tasks = {c: executor.submit(c.ping) for c in cells}\n"
            "    futurist.waiters.wait_for_all(tasks.values(), timeout)\n"
            "    for cell, future in tasks.items():\n"
            "        if not future.done():\n"
            "            future.cancel()\n",
            name="cancel-drawn-from-items"),
        Example(
            "from concurrent import futures\n\n\n"
            "def gather(pool, jobs):\n"
            "    fs = [pool.submit(j) for j in jobs]\n"
            "    done, not_done = futures.wait(fs, timeout=5)\n"
            "    for f in not_done:\n"
            "        f.cancel()\n",
            name="cancel-not-done"),
        Example(
            "from concurrent import futures\n\n\n"
            "def gather(jobs):\n"
            "    with futures.ThreadPoolExecutor(4) as pool:\n"
            "        fs = [pool.submit(j) for j in jobs]\n"
            "        futures.wait(fs, timeout=5)\n"
            "        pool.shutdown(wait=False, cancel_futures=True)\n",
            name="shutdown-cancel-futures"),
        Example(
            "from concurrent import futures\n\n\n"
            "def drain(pool, jobs):\n"
            "    not_done = [pool.submit(j) for j in jobs]\n"
            "    while not_done:\n"
            "        done, not_done = futures.wait(not_done, timeout=1)\n",
            name="polling-until-done"),
        Example(
            "from concurrent import futures\n\n\n"
            "def start(pool, jobs):\n"
            "    fs = [pool.submit(j) for j in jobs]\n"
            "    done, not_done = futures.wait(fs, timeout=1)\n"
            "    return not_done\n",
            name="pending-handed-to-caller"),
        Example(
            "from concurrent import futures\n\n\n"
            "def wait_all(fs):\n"
            "    futures.wait(fs, timeout=5)\n",
            name="futures-owned-by-caller"),
    )

    def visit_Call(self, node: ast.Call, facts):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in TIMED_METHODS:
            yield from self._check_method_wait(node, facts)
            return
        name = func.attr if isinstance(func, ast.Attribute) else getattr(
            func, "id", None)
        if name not in facts.call_words(COLLECTION_WAIT_NAMES):
            return
        wait = facts.qualified_name(func)
        if wait not in COLLECTION_WAITS or not node.args or \
                timeout_argument(node, 1) is None:
            return
        waited = root_keys(node.args[0])
        roots = set(waited)
        for target in _assignment_targets(node):
            roots |= {n for n in map(dotted_name, ast.walk(target)) if n}
        fix_data = cancel_plan(node, waited, facts) \
            if COLLECTION_WAITS[wait] else {"unfixable": RAISING_WAIT_HINT}
        yield from self._report(node, roots, facts, last_name(wait),
                                fix_data)

    def _check_method_wait(self, node: ast.Call, facts):
        func = node.func
        timeout = timeout_argument(node, 0)
        enclosing = enclosing_function(node)
        if timeout is None or enclosing is None:
            return
        receiver = dotted_name(func.value)
        if func.attr != "waitall" and not any(
                kw.arg == "timeout" for kw in node.keywords):
            # A positional timeout counts only on work made right here:
            # ``LOG.exception('...')`` and other lookalikes take text.
            if _is_text(timeout) or receiver is None or \
                    receiver not in created_work(enclosing, facts):
                return
        roots = {receiver} if receiver else set()
        yield from self._report(node, roots, facts, func.attr,
                                {"unfixable": RAISING_WAIT_HINT})

    def visit_With(self, node: ast.With, facts):
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and \
                    facts.qualified_name(expr.func) in EVENTLET_TIMEOUTS and \
                    expr.args and not is_none(expr.args[0]):
                roots = {dotted_name(call.func.value)
                         for stmt in node.body for call in ast.walk(stmt)
                         if isinstance(call, ast.Call)
                         and isinstance(call.func, ast.Attribute)
                         and call.func.attr == "wait"}
                roots.discard(None)
                if roots:
                    yield from self._report(
                        expr, roots, facts, "eventlet.Timeout",
                        {"unfixable": RAISING_WAIT_HINT})

    def _report(self, anchor, roots, facts, wait, fix_data):
        func = enclosing_function(anchor)
        if func is None or _owned_by_caller(roots, func):
            return
        pending = PendingWork(func, roots, facts)
        if _repeats_until_done(anchor, func, pending.keys):
            return
        if pending.is_cancelled_after(anchor) or \
                pending.is_handed_on_after(anchor):
            return
        yield self.finding(anchor, facts, wait=wait, fix_data=fix_data)


def _is_timeout_type(expr: ast.AST, facts) -> bool:
    qualified = facts.qualified_name(expr)
    if qualified in TIMEOUT_ERRORS:
        return True
    name = dotted_name(expr)
    return name is not None and last_name(name).endswith(
        ("Timeout", "TimeoutError"))


def catches_timeout_only(handler_type: ast.AST | None, facts) -> bool:
    """A timeout exception, alone or in a tuple without a broad one."""
    if handler_type is None:
        return False
    types = handler_type.elts if isinstance(handler_type, ast.Tuple) \
        else [handler_type]
    if any(facts.qualified_name(t) in BROAD_ERRORS for t in types):
        return False
    return any(_is_timeout_type(t, facts) for t in types)


def _is_default(expr: ast.AST | None) -> bool:
    """A value a handler returns instead of the result: nothing, a
    constant, an empty or constant display, or a name (a sentinel)."""
    if expr is None or isinstance(expr, (ast.Constant, ast.Name)):
        return True
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_default(e) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return all(_is_default(e) for e in expr.keys + expr.values)
    return False


def _only_logs_passes_or_assigns(body: list[ast.stmt], facts) -> bool:
    """The handler only logs, passes, assigns or returns a default."""
    for stmt in body:
        if isinstance(stmt, (ast.Pass, ast.Assign, ast.AugAssign,
                             ast.AnnAssign, ast.Continue, ast.Break)):
            continue
        if isinstance(stmt, ast.Return) and _is_default(stmt.value):
            continue
        if isinstance(stmt, ast.Expr) and (
                isinstance(stmt.value, ast.Constant)
                or logging_method(stmt.value, facts)):
            continue
        return False
    return True


class TimeoutHandlerSwallows(Rule):
    """Flags a timeout handler that only logs while its work runs on.

    Why this is bad:
        Catching the timeout and only logging, passing or setting a
        sentinel reports failure to the caller while the future,
        greenthread or thread started in the same function is never
        cancelled, killed or joined: the work leaks its worker and
        connections (CWE-400, CWE-404).
    Fix:
        None automatic: cancel or kill the work in the handler
        (``future.cancel()``, ``gt.kill()``), or re-raise.
    Known limits:
        Only work started in the same function is tracked. When the try
        body waits on that work, it must be settled or handed on after the
        handler; when the timeout comes from something else (an RPC call
        raising ``MessagingTimeout`` while a greenthread started earlier
        runs), the work must never be settled nor handed on in the
        function. A handler body counts as swallowing when it only logs,
        passes, assigns, continues/breaks, or returns a default (nothing,
        a constant, a name, a display of those). Work created without
        binding a name (``eventlet.spawn(f)`` as a statement) is not
        tracked.
    """

    code = "NSA402"
    symbol = "timeout-handler-swallows"
    cwe = (400, 404)
    message = ("timeout handler only logs while the work it timed out on "
               "keeps running (CWE-404); cancel or kill it")
    fix = FixSafety.NONE
    trigger = ("imeout",)
    statement_only = True  # handlers and with-statements; walks the rest
    bad = (
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(executor, fn):\n"
            "    future = executor.submit(fn)\n"
            "    try:\n"
            "        return future.result(timeout=10)\n"
            "    except TimeoutError:\n"
            "        LOG.warning('call timed out')\n",
            name="logs-and-returns-none"),
        Example(
            "import contextlib\n\nimport eventlet\n\n\n"
            "def call(fn):\n"
            "    gt = eventlet.spawn(fn)\n"
            "    with contextlib.suppress(eventlet.Timeout):\n"
            "        with eventlet.Timeout(5):\n"
            "            gt.wait()\n",
            name="suppressed-eventlet-timeout"),
        Example(
            "from concurrent import futures\n"
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def gather(executor, fns):\n"
            "    fs = [executor.submit(fn) for fn in fns]\n"
            "    try:\n"
            "        return [f.result() for f in "
            "futures.as_completed(fs, timeout=30)]\n"
            "    except futures.TimeoutError:\n"
            "        LOG.warning('gather timed out')\n"
            "        return []\n",
            name="as-completed-logs-and-returns-default"),
        Example(
            "import threading\n\n\n"
            "def run(fn, done):\n"
            "    worker = threading.Thread(target=fn)\n"
            "    worker.start()\n"
            "    try:\n"
            "        done.result(timeout=5)\n"
            "    except TimeoutError:\n"
            "        pass\n",
            name="thread-never-joined"),
        Example(
            "import eventlet\nimport oslo_messaging\n\n\n"
            "def call(client, ctxt, beat):\n"
            "    heartbeat = eventlet.spawn(beat)\n"
            "    try:\n"
            "        return client.call(ctxt, 'ping', timeout=30)\n"
            "    except oslo_messaging.MessagingTimeout:\n"
            "        return None\n",
            name="messaging-timeout-greenthread-never-killed"),
    )
    good = (
        Example(
            "def call(executor, fn):\n"
            "    future = executor.submit(fn)\n"
            "    try:\n"
            "        return future.result(timeout=10)\n"
            "    except TimeoutError:\n"
            "        future.cancel()\n"
            "        raise\n",
            name="cancels-and-reraises"),
        Example(
            "import eventlet\n\n\n"
            "def call(fn):\n"
            "    gt = eventlet.spawn(fn)\n"
            "    try:\n"
            "        with eventlet.Timeout(5):\n"
            "            return gt.wait()\n"
            "    except eventlet.Timeout:\n"
            "        pass\n"
            "    gt.kill()\n",
            name="killed-after-handler"),
        Example(
            "import requests\n\n\n"
            "def fetch(url):\n"
            "    try:\n"
            "        return requests.get(url, timeout=5)\n"
            "    except requests.exceptions.ReadTimeout:\n"
            "        return None\n",
            name="no-work-started-here"),
        Example(
            "def call(executor, fn):\n"
            "    future = executor.submit(fn)\n"
            "    try:\n"
            "        return future.result(timeout=10)\n"
            "    except (TimeoutError, Exception):\n"
            "        pass\n",
            name="tuple-with-broad-exception"),
        Example(
            "import eventlet\nimport oslo_messaging\n\n\n"
            "def call(client, ctxt, beat):\n"
            "    heartbeat = eventlet.spawn(beat)\n"
            "    try:\n"
            "        return client.call(ctxt, 'ping', timeout=30)\n"
            "    except oslo_messaging.MessagingTimeout:\n"
            "        return None\n"
            "    finally:\n"
            "        heartbeat.kill()\n",
            name="greenthread-killed-in-finally"),
        Example(
            "import threading\n\n\n"
            "def run(fn, done):\n"
            "    try:\n"
            "        done.result(timeout=5)\n"
            "    except TimeoutError:\n"
            "        pass\n"
            "    worker = threading.Thread(target=fn)\n"
            "    worker.start()\n",
            name="thread-started-after-the-handler"),
        Example(
            "from concurrent import futures\n\n\n"
            "def call(executor, fn):\n"
            "    future = executor.submit(fn)\n"
            "    try:\n"
            "        return future.result(timeout=10)\n"
            "    except futures.TimeoutError:\n"
            "        return future\n",
            name="future-handed-back"),
        Example(
            "from concurrent import futures\n\n\n"
            "def call(executor, fn, fallback):\n"
            "    future = executor.submit(fn)\n"
            "    try:\n"
            "        return future.result(timeout=10)\n"
            "    except futures.TimeoutError:\n"
            "        return fallback()\n",
            name="handler-does-more-than-return-a-default"),
    )

    def visit_ExceptHandler(self, node: ast.ExceptHandler, facts):
        if not catches_timeout_only(node.type, facts) or \
                not _only_logs_passes_or_assigns(node.body, facts):
            return
        guarded = parent_of(node)
        if self._leaves_work_running(node, guarded.body, facts):
            yield self.finding(node, facts)

    def visit_With(self, node: ast.With, facts):
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and \
                    facts.qualified_name(expr.func) == "contextlib.suppress" \
                    and any(_is_timeout_type(a, facts) for a in expr.args) \
                    and not any(facts.qualified_name(a) in BROAD_ERRORS
                                for a in expr.args) \
                    and self._leaves_work_running(
                        Position.end_of(node), node.body, facts, node):
                yield self.finding(expr, facts)

    @staticmethod
    def _leaves_work_running(anchor, guarded_body, facts,
                             node=None) -> bool:
        func = enclosing_function(node or anchor)
        if func is None:
            return False
        started = created_work(func, facts)
        if not started:
            return False
        pending = PendingWork(func, started, facts)
        if any(mentions(stmt, pending.keys) for stmt in guarded_body):
            # The timed-out wait was on this work: settled after it?
            return not (pending.is_settled_after(anchor)
                        or pending.is_handed_on_after(anchor))
        # A timeout of something else (an RPC call, a queue) while work
        # started before it runs on: flagged when that work is never
        # settled nor handed on anywhere in the function.
        return started_before(func, anchor, facts) and not (
            pending.is_settled_after(func) or
            pending.is_handed_on_after(func))


def _thread_objects(func, facts) -> set[str]:
    names = set()
    for node in walk_local(func):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and facts.qualified_name(node.value.func) in \
                THREAD_CONSTRUCTORS:
            names.update(filter(None, map(dotted_name, node.targets)))
    return names


def _is_thread_like(receiver: str, func, facts) -> bool:
    if set(name_tokens(last_name(receiver))) & THREAD_TOKENS:
        return True
    return receiver in _thread_objects(func, facts)


class JoinTimeoutUnchecked(Rule):
    """Flags ``t.join(timeout)`` whose thread is never checked afterwards.

    Why this is bad:
        join() with a timeout returns silently when the thread is still
        running; unless the code then asks ``is_alive()`` (or ``exitcode``)
        it carries on as if the work finished, leaking the thread and what
        it holds (CWE-400, CWE-404).
    Fix:
        None automatic: check ``t.is_alive()`` after the join and stop,
        report or escalate a stuck thread.
    Known limits:
        A positional timeout counts only on receivers that look like a
        thread or process (by name token or constructor), so ``sep.join``
        is never mistaken for it.
    """

    code = "NSA403"
    symbol = "join-timeout-unchecked"
    cwe = (400, 404)
    message = ("{receiver}.join() with a timeout is never followed by "
               "is_alive() (CWE-404); check for a stuck thread")
    fix = FixSafety.NONE
    trigger = (".join(",)

    def line_words(self, facts):
        return (".join(",)

    bad = (
        Example(
            "import threading\n\n\n"
            "def stop(fn):\n"
            "    worker = threading.Thread(target=fn)\n"
            "    worker.start()\n"
            "    worker.join(timeout=5)\n",
            name="keyword-timeout"),
        Example(
            "class Service:\n"
            "    def stop(self):\n"
            "        self._thread.join(10)\n",
            name="positional-timeout-on-thread-attribute"),
    )
    good = (
        Example(
            "import threading\n\n\n"
            "def stop(fn):\n"
            "    worker = threading.Thread(target=fn)\n"
            "    worker.start()\n"
            "    worker.join(timeout=5)\n"
            "    if worker.is_alive():\n"
            "        raise RuntimeError('worker stuck')\n",
            name="checks-is-alive"),
        Example(
            "def render(parts, sep):\n"
            "    return sep.join(parts)\n",
            name="string-join"),
        Example(
            "import threading\n\n\n"
            "def stop(fn):\n"
            "    worker = threading.Thread(target=fn)\n"
            "    worker.start()\n"
            "    while worker.is_alive():\n"
            "        worker.join(1)\n",
            name="join-in-liveness-loop"),
    )

    def visit_Call(self, node: ast.Call, facts):
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "join" or \
                len(node.args) > 1:
            return
        receiver = dotted_name(func.value)
        enclosing = enclosing_function(node)
        if receiver is None or enclosing is None:
            return
        keyword = any(kw.arg == "timeout" for kw in node.keywords)
        if not keyword and not _is_thread_like(receiver, enclosing, facts):
            return
        if timeout_argument(node, 0) is None:
            return
        keys = {receiver} | self._loop_sources(node, receiver, enclosing)
        for loop in enclosing_loops(node, enclosing):
            if isinstance(loop, ast.While) and mentions(loop.test, keys):
                return
        for later in walk_local(enclosing):
            if isinstance(later, (ast.Name, ast.Attribute)) and \
                    hasattr(later, "lineno") and \
                    (later.lineno, later.col_offset) > \
                    (node.end_lineno, node.end_col_offset) and \
                    dotted_name(later) in keys:
                return
        yield self.finding(node, facts, receiver=receiver)

    @staticmethod
    def _loop_sources(node, receiver, func) -> set[str]:
        """For ``for t in threads: t.join(1)``, later uses of ``threads``
        count as consulting ``t``."""
        sources = set()
        for loop in enclosing_loops(node, func):
            if isinstance(loop, (ast.For, ast.AsyncFor)) and \
                    isinstance(loop.target, ast.Name) and \
                    loop.target.id == receiver:
                sources |= root_keys(loop.iter)
        return sources


RULES = (TimeoutWithoutCancel, TimeoutHandlerSwallows, JoinTimeoutUnchecked)
