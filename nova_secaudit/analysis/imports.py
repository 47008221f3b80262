"""Imports and aliases -> qualified names.

Every import form binds a local name to a dotted path: ``import a.b`` binds
``a``; ``import a.b as c`` binds ``c`` to ``a.b``; ``from a import b as c``
binds ``c`` to ``a.b``; relative imports are made absolute against the
module's own package. Imports inside functions (common in Nova, to dodge
circular imports) count too, but a module-level binding wins a clash.
"""

from __future__ import annotations

import ast
import builtins

_BUILTINS = frozenset(dir(builtins))


def dotted_name(expr: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


class ImportMap:
    """Resolves names and attribute chains in one module."""

    def __init__(self, tree: ast.Module, imports: list[ast.AST],
                 module_name: str, package: str):
        self.module_name = module_name
        self.package = package
        self.aliases: dict[str, str] = {}
        top_level = set(map(id, tree.body)) if isinstance(tree, ast.Module) \
            else set()
        # Local imports first so module-level ones overwrite them.
        for node in sorted(imports, key=lambda n: id(n) in top_level):
            self._bind(node)
        self.module_defined = set()
        for stmt in getattr(tree, "body", ()):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                 ast.ClassDef)):
                self.module_defined.add(stmt.name)

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self.aliases[head] = head
            return
        base = self._absolute_base(node)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            target = f"{base}.{alias.name}" if base else alias.name
            self.aliases[alias.asname or alias.name] = target

    def _absolute_base(self, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module or ""
        parts = self.package.split(".") if self.package else []
        if node.level - 1 > len(parts):
            return None
        if node.level > 1:
            parts = parts[:len(parts) - (node.level - 1)]
        if node.module:
            parts.append(node.module)
        return ".".join(parts) if parts else None

    def resolve(self, expr: ast.AST) -> str | None:
        """The qualified name ``expr`` refers to, or None when unknown."""
        name = dotted_name(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.aliases:
            target = self.aliases[head]
        elif head in self.module_defined:
            target = f"{self.module_name}.{head}" if self.module_name \
                else head
        elif head in _BUILTINS:
            target = f"builtins.{head}"
        else:
            return None
        return f"{target}.{rest}" if rest else target
