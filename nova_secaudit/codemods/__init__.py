"""libcst codemods that fix what the rules report, one command per fix.

Each command is a ``VisitorBasedCodemodCommand`` built on
:class:`~nova_secaudit.codemods.base.FindingCodemod`: it recomputes the
engine's findings on the module it is given and edits only the reported
nodes. ``nova-secaudit fix`` runs them in :data:`ORDER`; libcst's runner
runs one at a time (see docs/codemods.md)::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.executors.AddExecutorBound PATH
"""

from __future__ import annotations

import importlib

from nova_secaudit.engine import Finding, FixSafety

# (module, command class) in the order ``nova-secaudit fix`` applies them:
# expression-level edits first, statement insertions next, and wrapping
# whole statements in a lock last, so a wrapped block already holds the
# other fixes.
_COMMANDS = (
    ("exceptions", "ReraiseOriginal"),
    ("secrets", "MaskSecrets"),
    ("executors", "AddExecutorBound"),
    ("executors", "AddBacklogBound"),
    ("timeouts", "CancelPendingFutures"),
    ("state", "GuardWithLock"),
)


def _load():
    commands = []
    for module_name, class_name in _COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ImportError as exc:
            if exc.name != f"{__name__}.{module_name}":
                raise
            continue  # that family's codemod is not written yet
        commands.append(getattr(module, class_name))
    return tuple(commands)


ORDER = _load()
CODEMOD_FOR = {code: command for command in ORDER for code in command.CODES}
FIXABLE_CODES = frozenset(CODEMOD_FOR)


def fix_safety(found: Finding) -> FixSafety:
    """What ``fix`` would do with ``found``: NONE when no codemod fixes it
    (no command for its code, or the rule found no mechanical fix for this
    site), else the command's SAFE or UNSAFE for this shape."""
    command = CODEMOD_FOR.get(found.code)
    if command is None or command.fixable(found) is not None:
        return FixSafety.NONE
    return command.safety(found)
