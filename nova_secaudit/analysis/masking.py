"""Maskers: calls whose result no longer carries a raw secret.

RULES.md: strutils.mask_password / mask_dict_password, any function whose
name has a mask / sanitize / sanitise / redact / scrub / hide token (also
``masked``, ``redacted``...), ``url.render_as_string()`` unless
``hide_password=False``, ``repr()`` of a SQLAlchemy URL, and the configured
masker and URL masker.
"""

from __future__ import annotations

import ast
from collections import deque
import functools
import os

from nova_secaudit.analysis import ancestors
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.names import last_name, name_tokens

KNOWN_MASKERS = frozenset({"oslo_utils.strutils.mask_password",
                           "oslo_utils.strutils.mask_dict_password"})
MASKER_TOKEN_STEMS = ("mask", "sanitiz", "sanitis", "redact", "scrub",
                      "hide")
URL_FACTORIES = frozenset({"sqlalchemy.engine.url.make_url",
                           "sqlalchemy.engine.make_url",
                           "sqlalchemy.make_url"})


def _configured(facts) -> frozenset[str]:
    settings = facts.settings
    return KNOWN_MASKERS | {n for n in (settings.masker, settings.url_masker)
                            if n}


def is_masker_call(node: ast.AST, facts) -> bool:
    """Whether ``node`` is a call that masks what it is given."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "render_as_string":
        return not any(kw.arg == "hide_password" and
                       isinstance(kw.value, ast.Constant) and
                       kw.value.value is False for kw in node.keywords)
    name = dotted_name(func)
    if name is None:
        return False
    configured = facts.memo(_configured)
    if name in configured or facts.qualified_name(func) in configured:
        return True
    if name == "repr" and node.args and _is_sqlalchemy_url(node.args[0],
                                                           facts):
        return True
    return any(token.startswith(MASKER_TOKEN_STEMS)
               for token in name_tokens(last_name(name)))


def _is_sqlalchemy_url(expr: ast.AST, facts) -> bool:
    if isinstance(expr, ast.Call):
        return facts.qualified_name(expr.func) in URL_FACTORIES
    name = dotted_name(expr)
    return name is not None and name.endswith(".url")


def is_masked(expr: ast.AST, facts, within: ast.AST | None = None) -> bool:
    """Whether ``expr`` sits inside a masker call (below ``within``)."""
    for parent in ancestors(expr):
        if parent is within:
            return False
        if is_masker_call(parent, facts):
            return True
        if isinstance(parent, ast.stmt):
            return False
    return False


def text_source(tree: ast.AST, position: tuple[int, int, int, int]):
    """Where to mask a raw text that a handler logs through a local name.

    ``msg = "Failed: %s" % e; LOG.error(msg); raise Error(msg)``: masking
    ``msg`` in the log call alone would leave the raised message raw. When
    the expression at ``position`` (ast line, byte col, end line, end col)
    is such a name, the answer is ``("binding", value)``: the value of its
    one assignment earlier in the handler, where one masker covers every
    sink. ``("sinks", lines)`` when the name has other readers but no such
    binding (the fix must be declined); None when the position is not a
    name read elsewhere.
    """
    name, handler = _name_in_handler(tree, position)
    if name is None:
        return None
    stores = [n for n in ast.walk(handler) if isinstance(n, ast.Name)
              and n.id == name.id and not isinstance(n.ctx, ast.Load)]
    readers = sorted({n.lineno for n in ast.walk(handler)
                      if isinstance(n, ast.Name) and n.id == name.id and
                      isinstance(n.ctx, ast.Load) and n is not name})
    if not readers:
        return None
    binding = _single_binding(handler, name, stores)
    if binding is not None:
        return "binding", binding
    return "sinks", readers


def _around(tree: ast.AST, line: int):
    """``ast.walk(tree)`` (same order) without the subtrees whose lines
    leave out ``line``: a parent's lines hold its children's."""
    todo = deque([tree])
    while todo:
        node = todo.popleft()
        for child in ast.iter_child_nodes(node):
            first = getattr(child, "lineno", None)
            if first is None or first <= line <= child.end_lineno:
                todo.append(child)
        yield node


def _name_in_handler(tree: ast.AST, position):
    line, col, end_line, end_col = position
    for handler in _around(tree, line):
        if not isinstance(handler, ast.ExceptHandler) or \
                not handler.lineno <= line <= handler.end_lineno:
            continue
        for node in ast.walk(handler):
            if isinstance(node, ast.Name) and \
                    isinstance(node.ctx, ast.Load) and \
                    (node.lineno, node.col_offset, node.end_lineno,
                     node.end_col_offset) == position and \
                    node.id != handler.name:
                return node, handler
    return None, None


def _single_binding(handler, name: ast.Name, stores):
    """The value of ``name``'s only store in ``handler``, a plain
    ``name = value`` that runs before the read in the same block path."""
    if len(stores) != 1:
        return None
    for node in ast.walk(handler):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                node.targets[0] is stores[0] and \
                (node.end_lineno, node.end_col_offset) < \
                (name.lineno, name.col_offset):
            return node.value
    return None


# The package's one URL-credential helper (docs/codemods.md): in the
# first of these top-level modules that imports nothing of its package (a
# leaf cannot close an import cycle, whoever imports it), else in a new
# ``masking_utils`` module, which later runs then find as such a leaf.
SHARED_URL_HELPER = "mask_url_credentials"
HELPER_HOMES = ("safe_utils", "utils", "masking_utils")


def url_helper_home(path: str) -> tuple[str, str] | None:
    """(file, dotted module) holding the URL-credential helper for the
    package of ``path``; None outside a package."""
    from nova_secaudit.analysis import module_location

    package = module_location(path)[1]
    if not package:
        return None
    directory = os.path.dirname(os.path.abspath(path))
    for _ in range(package.count(".")):
        directory = os.path.dirname(directory)
    home = _home_in(directory, package.split(".", 1)[0])
    # Fixed modules import the helper: a home that cannot be written
    # would leave them importing nothing (each then defines its own).
    return home if _writable(home[0]) else None


def _writable(path: str) -> bool:
    from nova_secaudit.fixing import is_read_only

    if os.path.lexists(path):
        return os.path.isfile(path) and not os.path.islink(path) and \
            not is_read_only(path)
    return os.access(os.path.dirname(path), os.W_OK)


@functools.lru_cache(maxsize=64)
def _home_in(directory: str, top: str) -> tuple[str, str]:
    for name in HELPER_HOMES:
        candidate = os.path.join(directory, name + ".py")
        # A link could point anywhere; the fix never writes through one
        # it was not given.
        if not os.path.islink(candidate) and _is_leaf(candidate, top):
            return candidate, f"{top}.{name}"
    name = HELPER_HOMES[-1]
    return os.path.join(directory, name + ".py"), f"{top}.{name}"


def _is_leaf(path: str, top: str) -> bool:
    """Whether the module at ``path`` exists and imports nothing of its
    own package at import time (module-level statements)."""
    from nova_secaudit.source import SourceError, read_bytes

    try:
        tree = ast.parse(read_bytes(path))
    except (SourceError, SyntaxError, ValueError, RecursionError):
        return False  # absent, not a regular file, too large, broken
    for node in _module_level(tree.body):
        if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").split(".")[0] == top):
            return False
        if isinstance(node, ast.Import) and any(
                alias.name.split(".")[0] == top for alias in node.names):
            return False
    return True


def _module_level(body):
    """Statements that run at import: top level, also inside if/try."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(node, (ast.If, ast.Try, ast.ExceptHandler,
                                 ast.With)) and inner:
                yield from _module_level(inner)
