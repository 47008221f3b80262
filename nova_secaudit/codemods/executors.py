"""NSA101 / NSA102: give executors a worker bound and a backlog bound.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.executors.AddExecutorBound --max-workers 8 PATH
"""

from __future__ import annotations

import argparse

import libcst as cst

from nova_secaudit.codemods.base import FindingCodemod, add_common_args
from nova_secaudit.codemods.imports import ImportIndex, add_import


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _bound_value(existing: cst.BaseExpression, number: int
                 ) -> cst.BaseExpression:
    """The new bound: the number, or ``param or <number>`` for a parameter
    that defaults to None (its caller may still pass a real bound)."""
    if _is_none(existing) or not isinstance(existing, cst.Name):
        return cst.Integer(str(number))
    return cst.parse_expression(f"{existing.value} or {number}")


def set_argument(call: cst.Call, keyword: str, position: int | None,
                 value_for) -> cst.Call:
    """``call`` with its ``keyword`` argument (or the one at ``position``)
    replaced by ``value_for(old)``, or ``keyword=value_for(None)`` added."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == keyword:
            args[index] = arg.with_changes(value=value_for(arg.value))
            return call.with_changes(args=args)
    positional = [i for i, a in enumerate(args)
                  if a.keyword is None and not a.star]
    if position is not None and len(positional) > position:
        index = positional[position]
        args[index] = args[index].with_changes(
            value=value_for(args[index].value))
        return call.with_changes(args=args)
    new = cst.Arg(keyword=cst.Name(keyword), value=value_for(None),
                  equal=cst.AssignEqual(
                      whitespace_before=cst.SimpleWhitespace(""),
                      whitespace_after=cst.SimpleWhitespace("")))
    if args:
        last = args[-1]
        if last.comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = last.with_changes(comma=cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            # A trailing comma stays trailing, after the new argument; on
            # a one-argument-per-line call the new one gets its own line.
            between = call.whitespace_before_args if isinstance(
                last.comma.whitespace_after, cst.ParenthesizedWhitespace) \
                and isinstance(call.whitespace_before_args,
                               cst.ParenthesizedWhitespace) \
                else cst.SimpleWhitespace(" ")
            new = new.with_changes(comma=last.comma)
            args[-1] = last.with_changes(comma=cst.Comma(
                whitespace_after=between))
    return call.with_changes(args=args + [new])


class AddExecutorBound(FindingCodemod):
    """NSA101: add ``max_workers=<N>`` (``size``/``processes`` for green
    and multiprocessing pools); a literal None becomes N; a parameter that
    defaults to None becomes ``param or N``."""

    DESCRIPTION = "NSA101: give unbounded executors and pools a worker bound"
    CODES = ("NSA101",)
    REQUIRED_ARGS = {"NSA101": ("keyword",)}

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        add_common_args(arg_parser)
        arg_parser.add_argument(
            "--max-workers", type=int, default=None,
            help="worker bound to add (default: config max-workers, 8)")

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        for target in self.targets_at(original):
            number = self.settings.max_workers
            keyword = target.args["keyword"]
            updated = set_argument(updated, keyword, 0,
                                   lambda old: _bound_value(old, number)
                                   if old is not None
                                   else cst.Integer(str(number)))
            self.applied(target)
            return self.relayout(original, updated)
        return updated


class AddBacklogBound(FindingCodemod):
    """NSA102 (opt-in): add ``check_and_reject=futurist.rejection.
    reject_when_reached(<M>)`` and ``import futurist.rejection``."""

    DESCRIPTION = "NSA102: bound futurist executors' backlog"
    CODES = ("NSA102",)

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        add_common_args(arg_parser)
        arg_parser.add_argument(
            "--max-backlog", type=int, default=None,
            help="backlog bound to add (default: config max-backlog, 64)")

    def prepare(self, tree: cst.Module) -> None:
        index = ImportIndex(tree, self.project())
        self.rejection = index.local_name("futurist.rejection", module=True)
        self.needs_import = self.rejection is None
        self.rejection = self.rejection or "futurist.rejection"

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        for target in self.targets_at(original):
            value = cst.parse_expression(
                f"{self.rejection}.reject_when_reached("
                f"{self.settings.max_backlog})")
            updated = set_argument(updated, "check_and_reject", 1,
                                   lambda old: value)
            self.applied(target)
            return self.relayout(original, updated)
        return updated

    def finish(self, tree: cst.Module) -> cst.Module:
        if self.needs_import:
            tree = add_import(tree, "import futurist.rejection",
                              self.project())
        return tree
