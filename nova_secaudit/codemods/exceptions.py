"""NSA301: stop rebuilding a caught exception from its own text.

``raise type(e)(str(e))`` becomes a bare ``raise`` when the arguments are
only the exception's own text (fix data ``bare``; safe). Otherwise, with
``--unsafe-fixes`` only (callers see the original message without the
added context): in a module with a logger and a ``'<format>' % args``
message, ``LOG.debug('<format>', args)`` then a bare
``raise``, which keeps the caught type; failing that, ``raise
<CaughtType>(...) from e`` with the type the handler names (fix data
``type`` and ``name``; under ``except Exception`` callers that catch the
real type no longer do). A handler
catching a tuple, and ``six.reraise``, are left for a person and reported
as skipped.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.exceptions.ReraiseOriginal PATH
"""

from __future__ import annotations

import ast

import libcst as cst

from nova_secaudit.analysis.logs import module_logger

from nova_secaudit.codemods.base import FindingCodemod
from nova_secaudit.codemods.layout import MAX_LINE, code_of, relayout_call
from nova_secaudit.engine import FixSafety


class ReraiseOriginal(FindingCodemod):
    """NSA301: bare ``raise``; with ``--unsafe-fixes``, the context
    message logged at debug level and a bare ``raise`` (keeps the type),
    else ``raise <Type>(...) from e``."""

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

    def prepare(self, tree: cst.Module) -> None:
        # Bare raises that take over a context message: the message's log
        # call goes right before the statement.
        self._context_logs: dict[int, cst.SimpleStatementLine] = {}
        self._logger = ""
        if any("bare" not in t.args for t in self.targets.all):
            from nova_secaudit.analysis import ModuleFacts

            facts = ModuleFacts(ast.parse(self.text),
                                self.context.filename or "", self.settings)
            self._logger = module_logger(facts)
            facts.release()

    def leave_Raise(self, original: cst.Raise, updated: cst.Raise):
        for target in self.targets_at(original):
            if "bare" in target.args:
                self.applied(target)
                return _bare(updated)
            log = self._context_log(original, self._logger)
            if log is not None:
                self.applied(target)
                bare = _bare(updated)
                self._context_logs[id(bare)] = log
                return bare
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

    def leave_SimpleStatementLine(self, original, updated):
        if len(updated.body) == 1 and id(updated.body[0]) in \
                self._context_logs:
            return cst.FlattenSentinel(
                [self._context_logs.pop(id(updated.body[0])), updated])
        return updated

    def _context_log(self, original: cst.Raise, logger: str | None):
        """``LOG.debug(<format>, <args>)`` carrying the context message of
        ``raise type(e)(<format> % <args>)``, so a bare raise can keep the
        caught type (Nova's hacking H904: no ``%`` inside a log call);
        None when the message has another shape or the line would pass 79
        columns."""
        call = original.exc
        if not logger or not isinstance(call, cst.Call) or \
                len(call.args) != 1 or call.args[0].keyword or \
                call.args[0].star:
            return None
        message = call.args[0].value
        if isinstance(message, cst.BinaryOperation) and \
                isinstance(message.operator, cst.Modulo) and \
                isinstance(message.left, (cst.SimpleString,
                                          cst.ConcatenatedString)):
            values = message.right
            parts = [message.left] + (
                [e.value for e in values.elements]
                if isinstance(values, cst.Tuple) else [values])
        elif isinstance(message, (cst.SimpleString,
                                  cst.ConcatenatedString)):
            parts = [message]
        else:
            return None
        code = ", ".join(code_of(part) for part in parts)
        indent = self.indent_of_line(self.start_of(original)[0])
        text = f"{logger}.debug({code})"
        if "\n" in text or len(indent + text) > MAX_LINE:
            return None
        return cst.parse_statement(text + "\n")

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


def _bare(statement: cst.Raise) -> cst.Raise:
    return statement.with_changes(
        exc=None, cause=None,
        whitespace_after_raise=cst.MaybeSentinel.DEFAULT)
