"""Which lock fixes an NSA201/NSA202 site, or why none can (issue 10).

Every site of a module is decided together, from the module's
concurrency model (:mod:`nova_secaudit.analysis.concurrency`): the lock
the module already holds for that global (same form) or a new one; then a
site is declined, with the reason and the lines a human must look at,
when its lock would be held across blocking work, would deadlock (the
region reaches code taking the lock, or is reached from code holding it),
would protect nothing (other writers or iterating readers stay unlocked;
a lone atomic operation nothing needs to join), or would be a half fix.
Declining one site can decline others of the same global: repeated to a
fixed point.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nova_secaudit.analysis import ancestors, block_of, parent_of
from nova_secaudit.analysis.concurrency import Concurrency, Lock, concurrency
from nova_secaudit.analysis.functions import walk
from nova_secaudit.analysis.names import name_tokens


@dataclass
class Candidate:
    """One NSA201/NSA202 site a lock could fix."""

    site: ast.stmt  # the statement that changes the global
    name: str  # ``CELLS`` or ``Class.attr``
    kind: str  # "module" or "class"
    lock: str  # the lock a new definition would get
    statements: list  # the statements the ``with`` would hold
    func: ast.AST
    build: ast.AST | None = None  # the lazy singleton's build call
    half_fix: str | None = None  # why locking this region alone is wrong
    # one statement touching the global once: atomic under the GIL
    atomic: bool = False
    # decisions
    lock_text: str = ""
    lock_key: str = ""
    existing: bool = False
    decorate: bool = False  # decorate the function with ``lock_text``
    reason: str | None = None
    group: list = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.statements[0].lineno

    @property
    def last(self) -> int:
        return self.statements[-1].end_lineno


def _lines(nodes) -> str:
    numbers = sorted({n.lineno for n in nodes})
    shown = ", ".join(str(n) for n in numbers[:6])
    return shown + (", ..." if len(numbers) > 6 else "")


def _region_ids(candidate: Candidate) -> set[int]:
    return {id(stmt) for stmt in candidate.statements}


def _inside_any(node: ast.AST, regions: set[int]) -> bool:
    return any(id(parent) in regions for parent in [node, *ancestors(node)])


def _guards(name: str, kind: str, model: Concurrency) -> dict[str, Lock]:
    """The locks the module holds where it changes ``name``: a lock held
    only around reads of it (a check-then-act on another global that reads
    this one) is not this global's lock, and taking it as such would make
    a second ``fix`` run decide differently from the first."""
    guards: dict[str, Lock] = {}
    for access in model.accesses(name, kind):
        if not access.write:
            continue
        for lock in access.locks:
            guards.setdefault(lock.key, lock)
    return guards


def _choose_lock(candidate: Candidate, guards: dict[str, Lock],
                 model: Concurrency) -> None:
    per_item = [lock for lock in guards.values() if lock.per_item]
    if per_item:
        lock = per_item[0]
        candidate.reason = (
            f"{candidate.name} is guarded per item by {lock.text} "
            f"(line {lock.line}); no single lock covers it, fix by hand")
    elif len(guards) > 1:
        candidate.reason = (f"{candidate.name} is guarded by different "
                            "locks (" + ", ".join(
                                sorted(g.text for g in guards.values())) +
                            "); fix by hand")
    elif guards:
        lock = next(iter(guards.values()))
        func = candidate.func
        if lock.form == "decorator" and id(func) in model.key_of:
            # The same form: the whole function under the same decorator.
            candidate.statements = list(func.body)
            candidate.decorate = True
        elif lock.form != "with":
            candidate.reason = (f"{candidate.name} is guarded by "
                                f"{'@' if lock.form == 'decorator' else ''}"
                                f"{lock.text} (line {lock.line}); hold the "
                                "same lock here by hand")
            return
        candidate.lock_text, candidate.lock_key = lock.text, lock.key
        candidate.existing = True
    else:
        candidate.lock_text = candidate.lock
        candidate.lock_key = "new:" + candidate.lock


def _group_flags(candidates: list[Candidate]) -> None:
    """Lazy flags set one after the other in one block (scheduler/utils's
    four ``_SUPPORTS_*``) share one new lock and one ``with``."""
    by_block: dict[int, list[Candidate]] = {}
    for c in candidates:
        if c.reason is None and not c.existing and c.build is not None:
            by_block.setdefault(id(parent_of(c.statements[0])), []).append(c)
    for members in by_block.values():
        members.sort(key=lambda c: c.first)
        runs, run = [], [members[0]]
        for c in members[1:]:
            block = block_of(c.statements[0])
            between = block[block.index(run[-1].statements[-1]) + 1:
                            block.index(c.statements[0])]
            if all(isinstance(s, ast.Global) for s in between):
                run.append(c)
            else:
                runs.append(run)
                run = [c]
        runs.append(run)
        for run in runs:
            if len(run) < 2:
                continue
            lock = _group_lock_name([c.name for c in run]) or run[0].lock
            block = block_of(run[0].statements[0])
            span = block[block.index(run[0].statements[0]):
                         block.index(run[-1].statements[-1]) + 1]
            for c in run:
                c.lock = c.lock_text = lock
                c.lock_key = "new:" + lock
                c.statements = span
                c.group = run


def _group_lock_name(names: list[str]) -> str | None:
    token_lists = [[t.upper() for t in name_tokens(n.strip("_"))]
                   for n in names]
    common = []
    for tokens in zip(*token_lists):
        if len(set(tokens)) != 1:
            break
        common.append(tokens[0])
    return "_" + "_".join(common) + "_LOCK" if common else None


class _Round:
    """What the still-active candidates hold, for one round of checks."""

    def __init__(self, active: list[Candidate], model: Concurrency):
        self.model = model
        self.regions: dict[str, set[int]] = {}  # lock key -> statement ids
        # lock key -> {function key: (candidate holding it, call)}
        self.reach: dict[str, dict[str, tuple]] = {}
        # lock key -> {function key: candidates wrapped there}
        self.wrapped: dict[str, dict[str, list]] = {}
        for c in active:
            self.regions.setdefault(c.lock_key, set()).update(
                _region_ids(c))
            c_key = model.function_key(c.site)
            self.wrapped.setdefault(c.lock_key, {}).setdefault(
                c_key, []).append(c)
            reached = self.reach.setdefault(c.lock_key, {})
            for key, call in model.reachable(_calls_in(c, model)).items():
                reached.setdefault(key, []).append((c, call))
        self._uncovered: dict[tuple, list] = {}
        # (lock key, global) with a check-then-act or read-modify-write
        self.compound = {(c.lock_key, c.name) for c in active
                         if not c.atomic}

    def uncovered(self, c: Candidate) -> list:
        """Racing uses of c's global left outside every region of c's
        lock and not already holding it."""
        key = (c.name, c.kind, c.lock_key)
        found = self._uncovered.get(key)
        if found is None:
            regions = self.regions.get(c.lock_key, set())
            found = self._uncovered[key] = [
                a.node for a in self.model.accesses(c.name, c.kind)
                if (a.write or a.whole) and
                not any(lock.key == c.lock_key for lock in a.locks) and
                not _inside_any(a.node, regions)]
        return found


def _callee_text(call: ast.Call) -> str:
    text = ast.unparse(call.func)
    return text if len(text) <= 40 else "..." + text[-37:]


def _calls_in(c: Candidate, model: Concurrency) -> list:
    return [(n, model.callee(n)) for s in c.statements for n in walk(s)
            if isinstance(n, ast.Call)]


def _decline_reason(c: Candidate, round_: _Round) -> str | None:
    model = round_.model
    if c.half_fix:
        return c.half_fix
    blocking = model.blocking_call(c.statements, c.build)
    if blocking is not None:
        outer, call, why = blocking
        text = f"{_callee_text(call)}() (line {call.lineno})"
        if outer is not call:
            text = (f"{_callee_text(outer)}() (line {outer.lineno}) runs "
                    + text + ", which")
        return (f"a lock held over lines {c.first}-{c.last} would be held "
                f"while {text} {why}; callers would be serialised "
                "behind it")
    own = model.function_key(c.site)
    # Self-deadlock: the region runs code that takes the same lock ...
    wrapped = round_.wrapped.get(c.lock_key, {})
    for key, call in model.reachable(_calls_in(c, model)).items():
        if c.existing and c.lock_key in model.takes(key):
            return (f"line {call.lineno} calls {key}(), which takes "
                    f"{c.lock_text} itself: holding it here would "
                    "deadlock")
        if key == own:
            return (f"line {call.lineno} runs {key}() again while "
                    f"{c.lock_text} would be held: a non-reentrant lock "
                    "would deadlock")
        others = [o for o in wrapped.get(key, ()) if o is not c]
        if others:
            return (f"line {call.lineno} calls {key}(), which would take "
                    f"{c.lock_text} too (line {others[0].site.lineno}): "
                    "a non-reentrant lock would deadlock")
    # ... or is reached from code already holding it.
    if own is not None:
        holder = model.reached_holding(c.lock_key).get(own) \
            if c.existing else None
        if holder is None:
            holder = next((call for o, call in
                           round_.reach.get(c.lock_key, {}).get(own, ())
                           if o.func is not c.func), None)
        if holder is not None:
            return (f"{own}() is reached from line {holder.lineno} while "
                    f"{c.lock_text} is held: locking here would deadlock")
    # A lock protects nothing unless every racing access holds it too.
    racing = round_.uncovered(c)
    if racing:
        return (f"{c.name} is also used without a lock at line(s) "
                f"{_lines(racing)}; a lock here alone would protect "
                "nothing: look at those lines")
    if c.atomic and not c.existing and \
            (c.lock_key, c.name) not in round_.compound:
        return (f"line {c.site.lineno} is one atomic operation on "
                f"{c.name} and no check-then-act or existing lock in the "
                "module needs it to hold a lock: a new lock would protect "
                "nothing (lock the readers that iterate it, if any, by "
                "hand)")
    return None


def plan_locks(candidates: list[Candidate], facts) -> None:
    """Decide every candidate's lock or the reason it is declined.

    All candidates are decided together: a lock is added only when every
    racing access of its global ends up under it, so declining one site
    can decline the others of the same global (repeated to a fixed
    point)."""
    if not candidates:
        return
    model = facts.memo(concurrency)
    guards: dict[tuple, dict] = {}
    for c in candidates:
        key = (c.name, c.kind)
        if key not in guards:
            guards[key] = _guards(c.name, c.kind, model)
        _choose_lock(c, guards[key], model)
    _group_flags(candidates)
    active = [c for c in candidates if c.reason is None]
    while active:
        round_ = _Round(active, model)
        declined = {}
        for c in active:
            reason = _decline_reason(c, round_)
            if reason is not None:
                declined[id(c)] = (c, reason)
        if not declined:
            return
        for c, reason in list(declined.values()):
            for member in c.group or [c]:
                if member.reason is None:
                    member.reason = reason if member is c else (
                        f"set together with {c.name}: " + reason)
        active = [c for c in active if c.reason is None]
