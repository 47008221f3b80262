"""NSA301: stop rebuilding a caught exception from its own text.

``raise type(e)(str(e))`` becomes a bare ``raise`` when the arguments are
only the exception's own text (fix data ``bare``; safe); otherwise, with
``--unsafe-fixes`` only, ``raise <CaughtType>(...) from e`` with the type
the handler names (fix data ``type`` and ``name``; unsafe: under ``except
Exception`` callers that catch the real type no longer do). A handler
catching a tuple, and ``six.reraise``, are left for a person and reported
as skipped.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.exceptions.ReraiseOriginal PATH
"""

from __future__ import annotations

import libcst as cst

from nova_secaudit.codemods.base import FindingCodemod
from nova_secaudit.codemods.layout import relayout_call
from nova_secaudit.engine import FixSafety


class ReraiseOriginal(FindingCodemod):
    """NSA301: bare ``raise``, or ``raise <Type>(...) from e``."""

    DESCRIPTION = "NSA301: re-raise instead of rebuilding the exception"
    CODES = ("NSA301",)

    @classmethod
    def fixable(cls, found):
        args = found.fix_args
        if "bare" in args or "type" in args:
            return super().fixable(found)
        return ("the handler names no single exception type to raise "
                "(tuple, bare except or six.reraise); fix by hand")

    @classmethod
    def safety(cls, found):
        # A bare raise keeps the type, text and traceback; ``raise
        # <CaughtType>(...) from e`` raises the class the handler names,
        # which may be a base of the real one (``except Exception``): a
        # caller catching the original type no longer does.
        return FixSafety.SAFE if "bare" in found.fix_args else \
            FixSafety.UNSAFE

    def leave_Raise(self, original: cst.Raise, updated: cst.Raise):
        for target in self.targets_at(original):
            if "bare" in target.args:
                self.applied(target)
                return updated.with_changes(
                    exc=None, cause=None,
                    whitespace_after_raise=cst.MaybeSentinel.DEFAULT)
            call = updated.exc
            if not isinstance(call, cst.Call):
                self.skip(target, "the raised value is not a call")
                return updated
            call = call.with_changes(
                func=cst.parse_expression(target.args["type"]))
            cause = updated.cause
            name = target.args.get("name")
            if cause is None and name:
                cause = cst.From(item=cst.Name(name))
            suffix_extra = f" from {name}" if cause is not None and name \
                and updated.cause is None else ""
            call = self._relayout(original, call, suffix_extra)
            self.applied(target)
            return updated.with_changes(exc=call, cause=cause)
        return updated

    def _relayout(self, original: cst.Raise, call: cst.Call,
                  extra: str) -> cst.Call:
        exc = original.exc
        start, end = self.start_of(exc), self.end_of(exc)
        first, last = self.original_line(start[0]), self.original_line(end[0])
        width = max(len(self.original_line(n))
                    for n in range(start[0], end[0] + 1))
        return relayout_call(call, first[:start[1]], extra + last[end[1]:],
                             self.indent_of_line(start[0]), width,
                             stmt_indent=self.statement_indent())
