"""What counts as a logging call (RULES.md, shared definitions)."""

from __future__ import annotations

import ast

from nova_secaudit.analysis.functions import assigned_names
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.names import last_name

LOG_LEVELS = frozenset({"debug", "info", "warning", "warn", "error",
                        "exception", "critical", "log"})
# Level of each method; ``log`` takes its level as first argument.
LEVEL_NUMBERS = {"debug": 10, "info": 20, "warning": 30, "warn": 30,
                 "error": 40, "exception": 40, "critical": 50}
LOGGER_FACTORIES = frozenset({"logging.getLogger",
                              "oslo_log.log.getLogger"})
_LOGGER_RECEIVERS = frozenset({"log", "logger"})


def _logger_names(facts) -> frozenset[str]:
    """Names bound anywhere in the module by logging.getLogger(...)."""
    names = set()
    for assign in facts.nodes(ast.Assign):
        value = assign.value
        if isinstance(value, ast.Call) and \
                facts.qualified_name(value.func) in LOGGER_FACTORIES:
            for target in assign.targets:
                names.update(assigned_names(target))
                dotted = dotted_name(target)
                if dotted:
                    names.add(dotted)
    return frozenset(names)


def is_logger(receiver: ast.AST, facts) -> bool:
    """``LOG``, ``self._log``, ``logging``, or a getLogger-bound name."""
    dotted = dotted_name(receiver)
    if dotted is None:
        return False
    if facts.qualified_name(receiver) == "logging":
        return True
    if last_name(dotted).lstrip("_").lower() in _LOGGER_RECEIVERS:
        return True
    return dotted in facts.memo(_logger_names)


def logging_method(call: ast.AST, facts) -> str | None:
    """The level method name when ``call`` is a logging call, else None."""
    if not isinstance(call, ast.Call) or \
            not isinstance(call.func, ast.Attribute):
        return None
    method = call.func.attr
    if method in LOG_LEVELS and is_logger(call.func.value, facts):
        return method
    return None


def logging_level(call: ast.Call, method: str) -> int | None:
    """Numeric level of a logging call, None when it cannot be told."""
    if method != "log":
        return LEVEL_NUMBERS[method]
    if not call.args:
        return None
    level = call.args[0]
    if isinstance(level, ast.Constant) and isinstance(level.value, int):
        return level.value
    name = dotted_name(level)
    if name:
        return LEVEL_NUMBERS.get(last_name(name).lower())
    return None


def module_logger(facts) -> str:
    """The module's logger (``LOG = logging.getLogger(__name__)`` at top
    level), or "" when it has none."""
    for statement in facts.tree.body:
        if isinstance(statement, ast.Assign) and \
                isinstance(statement.value, ast.Call) and \
                facts.qualified_name(statement.value.func) in \
                LOGGER_FACTORIES and \
                isinstance(statement.targets[0], ast.Name):
            return statement.targets[0].id
    return ""
