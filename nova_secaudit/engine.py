"""The detection engine: rules, findings, and one pass over a module.

Every front end (flake8, pylint, the CLI) calls :func:`check` with a stdlib
``ast`` tree, so all three report the same code at the same line and column.
"""

from __future__ import annotations

import ast
import enum
import functools
import gc
import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator

from nova_secaudit.analysis import ModuleFacts
from nova_secaudit.settings import Settings
from nova_secaudit.suppressions import unsuppressed


class FixSafety(enum.Enum):
    """How far an automatic fix can be trusted."""

    SAFE = "safe"  # behaviour-preserving apart from the defect itself
    UNSAFE = "unsafe"  # changes behaviour a reviewer must look at
    NONE = "none"  # no codemod: the finding carries a hint only


@dataclass(frozen=True)
class Example:
    """A code sample attached to a rule; bad ones give exactly one finding."""

    source: str
    name: str = ""
    fixed: str | None = None


@dataclass(frozen=True, order=True)
class Finding:
    """One reported defect. Ordering is by position, then code."""

    path: str
    line: int
    col: int
    code: str
    message: str = field(compare=False)
    symbol: str = field(compare=False, default="")
    end_line: int = field(compare=False, default=0)
    end_col: int = field(compare=False, default=0)
    # What a codemod needs beyond the position, as sorted key/value pairs.
    fix_data: tuple[tuple[str, str], ...] = field(compare=False, default=())

    @property
    def fix_args(self) -> dict[str, str]:
        return dict(self.fix_data)


_CODE = re.compile(r"NSA[1-9]\d\d")
_SYMBOL = re.compile(r"[a-z]+(-[a-z0-9]+)+")
_REQUIRED_SECTIONS = ("Why this is bad:", "Fix:")
_SECTION_HEADINGS = frozenset({"Why this is bad", "Fix", "Known limits"})


class Rule:
    """Base class of every rule.

    A subclass declares its identity and examples as class attributes and
    implements ``visit_<AstNodeName>(self, node, facts)`` generators that
    yield findings made with :meth:`finding`. The engine dispatches nodes by
    type, so a rule never walks the whole tree itself. One instance serves
    every module of a run: per-module state goes in ``facts.memo``, never
    on ``self``.
    """

    code: ClassVar[str]
    symbol: ClassVar[str]
    cwe: ClassVar[tuple[int, ...]]
    message: ClassVar[str]
    fix: ClassVar[FixSafety]
    bad: ClassVar[tuple[Example, ...]]
    good: ClassVar[tuple[Example, ...]]
    default_enabled: ClassVar[bool] = True
    severity: ClassVar[str] = "warning"
    # What every module this rule can flag must contain: a tuple of literal
    # substrings (any one suffices; fastest) or a compiled regex. When the
    # source text is known and it does not match, the rule is skipped for
    # the module at the cost of one search. It must be a superset: a
    # trigger that misses a true positive is a bug.
    trigger: ClassVar[tuple[str, ...] | re.Pattern | None] = None
    # True when the rule only visits statement-tier nodes (statements,
    # except handlers) and reaches expressions through
    # ``analysis.functions.walk``/``walk_local`` (which set parents): the
    # engine then need not index every expression of the module for it.
    statement_only: ClassVar[bool] = False
    # ast node classes this rule visits, derived from its visit_* methods.
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls) or cls.__dict__.get("_abstract"):
            return
        _validate_rule_class(cls)
        cls.node_types = tuple(
            getattr(ast, name[len("visit_"):])
            for name in dir(cls)
            if name.startswith("visit_")
        )

    def __init__(self, settings: Settings):
        self.settings = settings

    def line_words(self, facts: ModuleFacts):
        """Words one of which is on the lines of every statement holding a
        node this rule must visit, or None (it needs every node).

        Returning words lets the engine index only those statements'
        expressions. Only for rules whose dispatched nodes always sit on a
        line naming a trigger word (a call's own name or its import alias).
        """
        return None

    def applies(self, facts: ModuleFacts) -> bool:
        """Whether the rule can flag anything in this module (cheap test)."""
        trigger = self.trigger
        if facts.source is None or trigger is None:
            return True
        if isinstance(trigger, tuple):
            return any(map(facts.contains, trigger))
        return trigger.search(facts.source) is not None

    @classmethod
    def summary(cls) -> str:
        return inspect.getdoc(cls).splitlines()[0]

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its headed sections."""
        sections = {"summary": ""}
        current = "summary"
        for line in inspect.getdoc(cls).splitlines():
            stripped = line.strip()
            if stripped.endswith(":") and not line.startswith(" ") and \
                    stripped[:-1] in _SECTION_HEADINGS:
                current = stripped[:-1]
                sections[current] = ""
                continue
            sections[current] += line.strip() + "\n"
        return {k: " ".join(v.split()) for k, v in sections.items()}

    @classmethod
    def pylint_msgid(cls) -> str:
        return "W6" + cls.code[3:]

    def finding(self, node: ast.AST, facts: ModuleFacts, *,
                fix_data: dict[str, str] | None = None,
                **message_fields: str) -> Finding:
        return Finding(
            path=facts.path,
            line=node.lineno,
            col=node.col_offset,
            code=self.code,
            message=self.message.format(**message_fields),
            symbol=self.symbol,
            end_line=getattr(node, "end_lineno", None) or node.lineno,
            end_col=getattr(node, "end_col_offset", None) or node.col_offset,
            fix_data=tuple(sorted((fix_data or {}).items())),
        )


def shortest_words(words) -> tuple[str, ...]:
    """``words`` without those containing another of them: a text holding
    ``ThreadPoolExecutor`` holds ``Pool``, so one search serves both."""
    words = sorted(set(words), key=len)
    kept: list[str] = []
    for word in words:
        if not any(shorter in word for shorter in kept):
            kept.append(word)
    return tuple(kept)


def _validate_rule_class(cls: type[Rule]) -> None:
    """Fail at import time when a rule lacks its identity, docs or examples."""
    name = cls.__name__
    for attr in ("code", "symbol", "cwe", "message", "fix", "bad", "good"):
        if not hasattr(cls, attr):
            raise TypeError(f"rule {name} lacks {attr!r}")
    if not _CODE.fullmatch(cls.code):
        raise TypeError(f"rule {name}: bad code {cls.code!r}")
    if not _SYMBOL.fullmatch(cls.symbol):
        raise TypeError(f"rule {name}: symbol {cls.symbol!r} not kebab-case")
    camel = "".join(part.capitalize() for part in cls.symbol.split("-"))
    if camel != name:
        raise TypeError(f"rule {name}: class name should be {camel}")
    doc = inspect.getdoc(cls) or ""
    for section in _REQUIRED_SECTIONS:
        if section not in doc:
            raise TypeError(f"rule {name}: docstring lacks {section!r}")
    if "CWE-" not in doc:
        raise TypeError(f"rule {name}: docstring names no CWE")
    if not cls.bad or not cls.good:
        raise TypeError(f"rule {name}: needs bad and good examples")
    if "CWE-" not in cls.message and \
            not cls.message.startswith(("{", cls.code)):
        raise TypeError(f"rule {name}: message should name its CWE")


def active_rules(settings: Settings, path: str = "") -> list[Rule]:
    """Instantiate the rules enabled by ``settings`` for ``path``."""
    # Path patterns are matched once per file, not once per rule.
    off_here = settings.ignored_in(path) if path else ()
    return [rule for rule in _enabled_rules(settings)
            if not rule.code.startswith(off_here)]


@functools.lru_cache(maxsize=32)
def _enabled_rules(settings: Settings) -> tuple[Rule, ...]:
    """The rules ``settings`` turns on, before per-file ignores: made once
    per run, as a rule keeps no state of its own between modules."""
    from nova_secaudit.rules import ALL_RULES

    return tuple(rule(settings) for rule in ALL_RULES
                 if settings.is_enabled(rule.code, rule.default_enabled))


def run_rules(rules: Iterable[Rule], facts: ModuleFacts,
              errors: list[str] | None = None) -> list[Finding]:
    """Dispatch the indexed nodes of ``facts`` to ``rules``.

    A rule that raises (a bug, or ``RecursionError`` on a pathological
    tree) loses its findings for this module only: the others still run,
    and the failure becomes one line, ``internal error in NSAxxx: ...``,
    appended to ``errors`` (logged when ``errors`` is None). The engine
    itself never raises for a tree ``ast.parse`` produced.
    """
    found: set[Finding] = set()
    facts.activate()
    active = []
    for rule in rules:
        try:
            if rule.applies(facts):
                active.append(rule)
        except Exception as exc:  # reported as one line, never raised
            _report(internal_error(rule.code, exc), facts, errors)
    rules = active
    nodes = facts.nodes
    words = set()
    for rule in rules:
        if rule.statement_only:
            continue
        try:
            needed = rule.line_words(facts)
        except Exception as exc:  # the rule then sees every node
            _report(internal_error(rule.code, exc), facts, errors)
            needed = None
        if needed is None:
            facts.expand()
            break
        words.update(needed)
    else:
        if words:
            facts.expand_lines(words)
        nodes = facts.line_nodes
    for rule in rules:
        mine: list[Finding] = []
        node = None
        try:
            for node_type in rule.node_types:
                visit = getattr(rule, "visit_" + node_type.__name__)
                for node in nodes(node_type):
                    mine.extend(visit(node, facts))
        except Exception as exc:  # reported as one line, never raised
            _report(internal_error(rule.code, exc, node), facts, errors)
            continue
        found.update(mine)
    return sorted(found)


def _report(message: str, facts: ModuleFacts,
            errors: list[str] | None) -> None:
    if errors is None:
        logging.getLogger("nova_secaudit").error("%s: %s", facts.path,
                                                 message)
    else:
        errors.append(message)


def internal_error(code: str, exc: BaseException, node=None) -> str:
    """``internal error in NSA101: KeyError: 'x' (line 3)``, one line."""
    detail = " ".join(str(exc).split())
    if len(detail) > 160:
        detail = detail[:157] + "..."
    text = f"internal error in {code}: {type(exc).__name__}"
    if detail:
        text += f": {detail}"
    line = getattr(node, "lineno", None)
    return text + (f" (line {line})" if line else "")


def collect_cycles_rarely() -> None:
    """Let Python's cyclic garbage collector run less often in a process
    that checks many files (the CLI; mypy does the same).

    With the default thresholds a young collection runs every 700
    allocations, and older ones walk every live object, the tree being
    checked included: about a tenth of a run's CPU time. Checking leaves
    no reference cycles (trees and facts are freed by reference counting;
    a test asserts it), so collecting rarely frees nothing later.
    """
    gc.set_threshold(100_000, 50, 100)


def check(tree: ast.AST, path: str = "<unknown>",
          settings: Settings | None = None,
          rules: Iterable[Rule] | None = None,
          errors: list[str] | None = None,
          source: str | None = None,
          suppress: bool = False) -> list[Finding]:
    """Every finding of the enabled rules in ``tree``, sorted and unique.

    ``source``, the module's text when the caller has it, lets rules with a
    text ``trigger`` skip modules they cannot flag. ``suppress`` (only for
    the CLI: flake8 and pylint apply their own) drops what the module's
    ``# noqa`` / ``# pylint: disable=`` comments cover; it needs
    ``source``.

    ``rules`` overrides the settings-based selection (the pylint front end
    runs every rule once and lets pylint decide what to show). A rule's
    internal error is appended to ``errors`` (see :func:`run_rules`).
    """
    if suppress and source is None:
        raise ValueError("suppress=True needs the module's source text")
    settings = settings or Settings()
    if rules is None:
        rules = active_rules(settings, path)
    rules = list(rules)
    if not rules:
        return []
    facts = ModuleFacts(tree, path, settings, source)
    try:
        found = run_rules(rules, facts, errors)
        return unsuppressed(found, facts) if suppress and found else found
    finally:
        # Let the tree go with the caller's last reference, as after
        # ast.parse alone: freed before the next file is parsed.
        facts.release()


def check_source(source: str, path: str = "<unknown>",
                 settings: Settings | None = None) -> list[Finding]:
    """Parse ``source`` and check it (convenience for tests and examples)."""
    return check(ast.parse(source, filename=path), path, settings,
                 source=source)


def iter_example_findings(rule: type[Rule],
                          example: Example) -> Iterator[Finding]:
    """Findings of ``rule``'s own code in ``example`` (rule forced on)."""
    settings = Settings(select=(rule.code,))
    for found in check_source(example.source, "example.py", settings):
        if found.code == rule.code:
            yield found
