"""The base of every codemod: engine findings mapped onto libcst nodes.

A codemod never decides on its own what is wrong. It runs the detection
engine on the module it is given (so ``nova-secaudit check`` and the fix
can never disagree), keeps the findings of its own codes that carry what the
fix needs, and edits only the nodes whose positions the engine reported.

Positions: the engine reports ``ast`` columns, which count UTF-8 *bytes*;
libcst's :class:`PositionProvider` counts *characters*. :class:`Targets`
converts once per module, so a line with non-ASCII text before the reported
node still matches.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import copy
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import ClassVar, Iterable

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.metadata import MetadataWrapper, PositionProvider

from nova_secaudit.analysis import source_lines
from nova_secaudit.codemods.layout import relayout_call
from nova_secaudit.codemods.positions import compute_positions
from nova_secaudit.engine import Finding, FixSafety, check
from nova_secaudit.reporting import char_column
from nova_secaudit.settings import Settings, load_settings


@dataclass(frozen=True)
class Target:
    """One finding with libcst-style (1-based line, character col) bounds."""

    finding: Finding
    start: tuple[int, int]
    end: tuple[int, int]

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def args(self) -> dict[str, str]:
        return self.finding.fix_args

    def within(self, start: tuple[int, int], end: tuple[int, int]) -> bool:
        return start <= self.start and self.end <= end


class Targets:
    """Findings indexed by their character position in the module."""

    def __init__(self, findings: Iterable[Finding], text: str):
        self.lines = source_lines(text)
        self.by_start: dict[tuple[int, int], list[Target]] = {}
        self.all: list[Target] = []
        for found in findings:
            target = Target(found, self._char_pos(found.line, found.col),
                            self._char_pos(found.end_line or found.line,
                                           found.end_col))
            self.by_start.setdefault(target.start, []).append(target)
            self.all.append(target)

    def _char_pos(self, line: int, byte_col: int) -> tuple[int, int]:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return line, char_column(text, byte_col)

    def at(self, start: tuple[int, int], codes=None) -> list[Target]:
        found = self.by_start.get(start, [])
        return [t for t in found if codes is None or t.code in codes]

    def inside(self, start, end, codes=None) -> list[Target]:
        return [t for t in self.all if t.within(start, end)
                and (codes is None or t.code in codes)]

    def __bool__(self) -> bool:
        return bool(self.all)


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


def position_wrapper(module: cst.Module) -> MetadataWrapper:
    """A metadata wrapper of ``module`` (not copied: codemods never mutate
    nodes) with its positions computed.

    Through ``resolve``, libcst (1.x) also walks the whole module once for
    batchable providers when none is asked for, which costs as much as
    computing the positions; storing them directly skips that walk, and
    :mod:`positions` computes them for less (a test checks the result
    equals what ``resolve`` gives).
    """
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper._metadata[PositionProvider] = compute_positions(module)
    return wrapper


def changed_argument(original: cst.Call, updated: cst.Call) -> int | None:
    """Index of the first argument an edit added or changed."""
    from nova_secaudit.codemods.layout import code_of

    for index, arg in enumerate(updated.args):
        if index >= len(original.args) or \
                code_of(arg.value) != code_of(original.args[index].value):
            return index
    return None


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options every command understands, for ``python -m libcst.tool``."""
    parser.add_argument("--nsa-config", default=None,
                        help="nova-secaudit config file (default: nearest "
                             "pyproject.toml, setup.cfg or tox.ini)")
    parser.add_argument("--unsafe-fixes", action="store_true",
                        help="also apply fixes that may change behaviour "
                             "beyond the defect (see docs/codemods.md)")


class FindingCodemod(VisitorBasedCodemodCommand):
    """Maps the engine's findings of ``CODES`` onto the module being fixed.

    Subclasses implement libcst ``leave_*`` methods that look their node up
    with :meth:`targets_at` and record what they did with :meth:`applied`
    or :meth:`skip`. When the module holds no finding the command can fix,
    the command raises ``SkipFile`` and the file is left as it was.
    """

    CODES: ClassVar[tuple[str, ...]] = ()
    METADATA_DEPENDENCIES = (PositionProvider,)
    # fix_data keys a finding must carry for this command to fix it.
    REQUIRED_ARGS: ClassVar[dict[str, tuple[str, ...]]] = {}

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        add_common_args(arg_parser)

    def __init__(self, context: CodemodContext,
                 settings: Settings | None = None,
                 codes: Iterable[str] | None = None,
                 nsa_config: str | None = None, known=None,
                 unsafe_fixes: bool = False,
                 wrapper: MetadataWrapper | None = None,
                 **overrides) -> None:
        super().__init__(context)
        self.unsafe_fixes = unsafe_fixes
        # (module, its text, engine findings with suppressions applied)
        self.known = known
        # The module's metadata when other commands or findings share it
        # (positions are computed once per file, not once per command).
        self.wrapper = wrapper
        # The ast tree of the text in ``known``, when one was handed over.
        self.text_tree: ast.Module | None = None
        if settings is None:
            settings = load_settings(context.filename or ".", nsa_config)
        changes = {k: v for k, v in overrides.items()
                   if v is not None and k in Settings.__dataclass_fields__}
        self.settings = settings.replace(**changes) if changes else settings
        self.options = {k: v for k, v in overrides.items()
                        if k not in Settings.__dataclass_fields__}
        self._start(codes)

    def _start(self, codes: Iterable[str] | None) -> None:
        """The state of one transform (set up again by :meth:`twin`)."""
        self.codes = tuple(c for c in (codes or self.CODES)
                           if c in self.CODES)
        # Fixable findings whose unsafe fix was not asked for.
        self.held_back: list[Finding] = []
        self.targets = Targets((), "")
        self.fixed: Counter = Counter()
        self.skipped: list[tuple[Finding, str]] = []
        self._handled: set[Target] = set()
        self._statements: list[int] = []
        self._untouched: set[cst.CSTNode] = set()

    def twin(self, context: CodemodContext, codes: Iterable[str],
             known, wrapper: MetadataWrapper | None,
             text_tree: ast.Module | None = None) -> "FindingCodemod":
        """A fresh command like this unused one, for another finding:
        libcst's own set-up of a command walks every attribute of its
        class (its matcher bookkeeping), which cost more than the fix
        itself when a report proposes a fix per finding. ``text_tree`` is
        the ``ast`` tree of the text in ``known``, when the caller has it."""
        twin = copy.copy(self)
        twin.context = context
        twin.known = known
        twin.wrapper = wrapper
        twin.text_tree = text_tree
        twin._start(codes)
        return twin

    # -- findings --------------------------------------------------------
    def engine_findings(self, text: str) -> list[Finding]:
        """The engine's findings of this command's codes in ``text``."""
        from nova_secaudit.rules import RULES_BY_CODE

        path = self.context.filename or "<stdin>"
        # Running a command asks for its codes (opt-in ones included);
        # only an explicit ignore in the configuration turns one off.
        only_ignores = Settings(
            ignore=self.settings.ignore,
            per_file_ignores=self.settings.per_file_ignores)
        rules = [RULES_BY_CODE[code](self.settings) for code in self.codes
                 if code in RULES_BY_CODE and
                 only_ignores.is_enabled(code, True, path)]
        if not rules:
            return []
        try:
            tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError):
            return []
        return check(tree, path, self.settings, rules=rules, source=text,
                     suppress=True)

    @classmethod
    def fixable(cls, found: Finding) -> str | None:
        """None when ``found`` can be fixed, else the reason it cannot."""
        args = found.fix_args
        if "unfixable" in args:  # the rule knows why no mechanical fix fits
            return args["unfixable"]
        missing = [k for k in cls.REQUIRED_ARGS.get(found.code, ())
                   if k not in args]
        if missing:
            return "the rule gave no " + ", ".join(missing)
        return None

    @classmethod
    def safety(cls, found: Finding) -> FixSafety:
        """SAFE when the fix of ``found`` (a fixable one) changes nothing
        but the defect, UNSAFE when a reviewer must judge what else it
        changes; the rule's class-wide answer unless a command knows the
        shape better. ``fix`` applies UNSAFE ones only with
        --unsafe-fixes (ruff's convention)."""
        from nova_secaudit.rules import RULES_BY_CODE

        return RULES_BY_CODE[found.code].fix

    def transform_module(self, tree: cst.Module) -> cst.Module:
        # Findings first: a module with nothing to fix is skipped before
        # libcst computes any metadata for it. ``known`` (the fix run's
        # pre-filter) saves generating the text and re-running the engine
        # when this very module object was already checked.
        if self.known is not None and self.known[0] is tree:
            _, text, known = self.known
            findings = [f for f in known if f.code in self.codes]
        else:
            text = tree.code
            self.text_tree = None  # it would be of another text
            findings = self.engine_findings(text)
        usable = []
        for found in findings:
            reason = self.fixable(found)
            if reason:
                self.skip_finding(found, reason)
            elif not self.unsafe_fixes and \
                    self.safety(found) is FixSafety.UNSAFE:
                self.held_back.append(found)
            else:
                usable.append(found)
        if not usable:
            raise SkipFile("no finding of " + ", ".join(self.codes) +
                           " to fix")
        self.text = text
        self.targets = Targets(usable, text)
        return super().transform_module(tree)

    @contextmanager
    def _handle_metadata_reference(self, module: cst.Module):
        # As libcst's, without deep-copying the module first: codemods
        # never mutate nodes, and the copy doubled the cost on big files.
        old = self.context.wrapper
        wrapper = self.wrapper
        if wrapper is None or wrapper.module is not module:
            wrapper = position_wrapper(module)
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            try:
                yield wrapper.module
            finally:
                self.context = replace(self.context, wrapper=old)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self.prepare(tree)
        self._edit_starts = sorted(
            {t.start for t in self.targets.all} | set(self.edit_starts()))
        result = tree.visit(self)
        for target in self.targets.all:
            if target not in self._handled:
                self.skip(target, "no matching syntax node")
        self.fixed = +self.fixed  # drop codes whose fixes were undone
        if not self.fixed:
            raise SkipFile("nothing fixable: " + "; ".join(
                r for _, r in self.skipped))
        return self.finish(result)

    def prepare(self, tree: cst.Module) -> None:
        """Hook: look at the whole module before visiting."""

    def edit_starts(self) -> Iterable[tuple[int, int]]:
        """Hook: (line, character col) of nodes the fix edits besides the
        findings themselves (a binding masked for the log that uses it, a
        branch after the wait), so statement pruning keeps them."""
        return ()

    def finish(self, tree: cst.Module) -> cst.Module:
        """Hook: module-level edits (imports, locks) after visiting."""
        return tree

    # -- helpers for subclasses -------------------------------------------
    def position(self, node: cst.CSTNode):
        return self.get_metadata(PositionProvider, node)

    def start_of(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.position(node).start
        return pos.line, pos.column

    def end_of(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.position(node).end
        return pos.line, pos.column

    def targets_at(self, node: cst.CSTNode, codes=None) -> list[Target]:
        found = self.targets.at(self.start_of(node), codes or self.codes)
        return [t for t in found if t not in self._handled]

    def targets_inside(self, node: cst.CSTNode, codes=None) -> list[Target]:
        found = self.targets.inside(self.start_of(node), self.end_of(node),
                                    codes or self.codes)
        return [t for t in found if t not in self._handled]

    def applied(self, target: Target) -> None:
        self._handled.add(target)
        self.fixed[target.code] += 1

    def skip(self, target: Target, reason: str) -> None:
        if target in self._handled:
            return
        self._handled.add(target)
        self.skip_finding(target.finding, reason)

    def skip_finding(self, found: Finding, reason: str) -> None:
        self.skipped.append((found, reason))
        self.warn(f"{found.line}:{found.col + 1} {found.code} not fixed: "
                  f"{reason}")

    def original_line(self, line: int) -> str:
        lines = self.targets.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def indent_of_line(self, line: int) -> str:
        text = self.original_line(line)
        return text[:len(text) - len(text.lstrip(" \t"))]

    def relayout(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """``updated`` re-filled to 79 columns where ``original`` stood."""
        start, end = self.start_of(original), self.end_of(original)
        first, last = self.original_line(start[0]), self.original_line(end[0])
        width = max(len(self.original_line(n))
                    for n in range(start[0], end[0] + 1))
        return relayout_call(updated, first[:start[1]], last[end[1]:],
                             self.indent_of_line(start[0]), width,
                             stmt_indent=self.statement_indent(),
                             changed=changed_argument(original, updated),
                             unchanged=frozenset(
                                 self.original_line(n).strip()
                                 for n in range(start[0], end[0] + 1)))

    def statement_indent(self) -> str:
        """Indentation of the statement being visited (original text)."""
        return self.indent_of_line(self._statements[-1]) \
            if self._statements else ""

    def holds_target(self, node: cst.CSTNode) -> bool:
        """Whether a finding to fix starts inside ``node`` (other visitors
        of the module can skip the nodes that hold none, as this one
        does with statements)."""
        start, end = self.start_of(node), self.end_of(node)
        first = bisect.bisect_left(self._edit_starts, start)
        return first < len(self._edit_starts) and \
            self._edit_starts[first] <= end

    # Dispatch is a plain CSTTransformer's: libcst's matcher decorators
    # (m.visit, m.call_if_inside...) are not honoured here, as none of our
    # commands uses them and their bookkeeping walked every attribute of
    # the command once per transform (tests check no command uses them).
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        cst.CSTTransformer.on_visit_attribute(self, node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode,
                           attribute: str) -> None:
        cst.CSTTransformer.on_leave_attribute(self, original_node, attribute)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _STATEMENTS):
            if not self.holds_target(node):
                # Nothing to fix in it: neither it nor its children are
                # visited, and it is kept as it is (on_leave too).
                self._untouched.add(node)
                return False
            self._statements.append(self.start_of(node)[0])
        return cst.CSTTransformer.on_visit(self, node)

    def on_leave(self, original_node, updated_node):
        if original_node in self._untouched:
            return updated_node
        result = cst.CSTTransformer.on_leave(self, original_node,
                                             updated_node)
        if isinstance(original_node, _STATEMENTS):
            self._statements.pop()
        return result

    def project(self) -> str:
        """The top-level package of the file being fixed (default nova)."""
        from nova_secaudit.analysis import module_location

        package = module_location(self.context.filename or "")[1]
        return package.split(".", 1)[0] if package else "nova"
