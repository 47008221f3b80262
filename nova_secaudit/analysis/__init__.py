"""Facts computed once per module; rules ask, they never re-derive them.

:class:`ModuleFacts` walks the tree once (iteratively, so deep nesting cannot
overflow the interpreter stack), records each node's parent and groups nodes
by type for the engine's dispatch. Everything else is computed lazily, the
first time a rule asks for it.
"""

from __future__ import annotations

import ast
import functools
import os
from typing import Iterator

from nova_secaudit.analysis.imports import ImportMap

PARENT = "_nsa_parent"
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_TYPES = FUNCTION_TYPES + (ast.ClassDef, ast.Module)


def parent_of(node: ast.AST) -> ast.AST | None:
    return getattr(node, PARENT, None)


def ancestors(node: ast.AST) -> Iterator[ast.AST]:
    node = parent_of(node)
    while node is not None:
        yield node
        node = parent_of(node)


def enclosing_function(node: ast.AST):
    """The innermost def/lambda containing ``node``, or None at module level."""
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES):
            return parent
        if isinstance(parent, ast.ClassDef):
            return None
    return None


def enclosing_statement(node: ast.AST) -> ast.stmt:
    """The innermost statement containing (or being) ``node``."""
    while not isinstance(node, ast.stmt):
        node = parent_of(node)
    return node


def module_location(path: str) -> tuple[str, str]:
    """(module name, package) of a file, found by walking up __init__.py."""
    if not path or path.startswith("<") or path == "-":
        return "", ""
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    package_parts = []
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, name = os.path.split(directory)
        package_parts.insert(0, name)
    package = ".".join(package_parts)
    module = ".".join(package_parts + parts)
    return module, package


class ModuleFacts:
    """Everything the rules may ask about one module."""

    def __init__(self, tree: ast.AST, path: str, settings):
        self.tree = tree
        self.path = path
        self.settings = settings
        self._by_type: dict[type, list[ast.AST]] = {}
        self._sorted: set[type] = set()
        self._memo: dict = {}
        self._index(tree)

    def _index(self, tree: ast.AST) -> None:
        by_type = self._by_type
        setattr(tree, PARENT, None)
        stack = [tree]
        pop, push = stack.pop, stack.append
        child_fields, node_class = _CHILD_FIELDS, ast.AST
        while stack:
            node = pop()
            node_type = type(node)
            bucket = by_type.get(node_type)
            if bucket is None:
                by_type[node_type] = [node]
            else:
                bucket.append(node)
            names = child_fields.get(node_type)
            if names is None:
                names = _child_fields(node_type)
            for name in names:
                value = getattr(node, name, None)
                if value.__class__ is list:
                    for item in value:
                        if isinstance(item, node_class):
                            item._nsa_parent = node
                            push(item)
                elif isinstance(value, node_class):
                    value._nsa_parent = node
                    push(value)

    def nodes(self, node_type: type) -> list:
        """All nodes of exactly ``node_type``, in source order."""
        bucket = self._by_type.get(node_type, [])
        if node_type not in self._sorted:
            bucket.sort(key=_position)
            self._sorted.add(node_type)
        return bucket

    @functools.cached_property
    def imports(self) -> ImportMap:
        module, package = module_location(self.path)
        return ImportMap(self.tree,
                         self.nodes(ast.Import) + self.nodes(ast.ImportFrom),
                         module, package)

    def qualified_name(self, expr: ast.AST) -> str | None:
        return self.imports.resolve(expr)

    def memo(self, compute):
        """``compute(self)``, computed once per module and kept."""
        try:
            return self._memo[compute]
        except KeyError:
            value = self._memo[compute] = compute(self)
            return value

    def imports_any(self, prefixes: tuple[str, ...]) -> bool:
        """Whether the module imports anything under one of ``prefixes``."""
        return any(target == p or target.startswith(p + ".")
                   for target in self.imports.aliases.values()
                   for p in prefixes)


# Fields that never hold a node we dispatch on: plain values, and the
# shared singleton context/operator nodes (Load, Store, Add, ...), whose
# "parent" would be meaningless. Skipping them halves the walk's cost.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "kind",
                          "type_comment", "level", "module", "is_async",
                          "conversion"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    names = tuple(f for f in node_type._fields if f not in _LEAF_FIELDS
                  and not (node_type is ast.Constant and f == "value"))
    _CHILD_FIELDS[node_type] = names
    return names


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
