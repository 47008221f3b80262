"""Simple value flow inside one function.

:class:`ValueFlow` answers "does this expression carry a value from a
source?" where a source is whatever the asking rule says (a sensitive name,
a caught exception). Values flow through assignments (position-aware: a
later clean assignment ends the taint), f-strings, ``%``, ``+``,
``.format()``, ``str()``/``repr()`` and string methods, containers and
subscripts. Derived values do not carry it: comparisons, ``in``, ``len``,
``bool``, ``not``, masker calls, and other calls whose result is opaque.
"""

from __future__ import annotations

import ast
from typing import Callable

from nova_secaudit.analysis.functions import assigned_names, walk_local
from nova_secaudit.analysis.masking import is_masker_call

TEXT_FUNCTIONS = frozenset({"str", "repr", "format", "six.text_type",
                            "six.binary_type", "oslo_utils.encodeutils."
                            "exception_to_unicode", "dict", "list", "tuple",
                            "oslo_utils.encodeutils.safe_decode",
                            "oslo_utils.encodeutils.safe_encode",
                            "re.sub", "textwrap.shorten"})
TEXT_METHODS = frozenset({"format", "replace", "strip", "lstrip", "rstrip",
                          "lower", "upper", "encode", "decode", "join",
                          "title", "capitalize", "splitlines", "split",
                          "format_map", "copy", "get", "items", "values",
                          "__str__", "__repr__"})


class ValueFlow:
    """Which names in ``func`` hold a value carried from a source."""

    def __init__(self, func: ast.AST, facts,
                 is_source: Callable[[ast.AST], bool] | None,
                 opaque_attributes: frozenset[str] = frozenset()):
        self.facts = facts
        # A subclass may define is_source as a method instead (and pass
        # None): storing a bound method of the flow on the flow would make
        # it a reference cycle that keeps the whole tree alive.
        if is_source is not None:
            self.is_source = is_source
        self.opaque_attributes = opaque_attributes
        # name -> [(position, carries)] in source order
        self._bindings: dict[str, list[tuple[tuple[int, int], bool]]] = {}
        self._collect(func)

    def is_source(self, expr: ast.AST) -> bool:
        """Whether ``expr`` itself is a source (the constructor's test, or
        a subclass's method)."""
        raise NotImplementedError

    def _binding_nodes(self, func: ast.AST) -> list[ast.AST]:
        """The nodes that bind names in ``func``, in source order
        (subclasses may look at fewer for speed)."""
        return sorted((n for n in walk_local(func)
                       if isinstance(n, (ast.Assign, ast.AnnAssign,
                                         ast.AugAssign, ast.NamedExpr,
                                         ast.For, ast.AsyncFor,
                                         ast.withitem, ast.comprehension))),
                      key=_position)

    def _collect(self, func: ast.AST) -> None:
        for node in self._binding_nodes(func):
            if isinstance(node, ast.Assign):
                self._bind(node.targets, node.value, node)
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
                if node.value is not None:
                    self._bind([node.target], node.value, node)
            elif isinstance(node, ast.AugAssign):
                if isinstance(node.target, ast.Name) and \
                        self.carries(node.value, node):
                    self._record(node.target.id, node, True)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._bind([node.target], node.iter, node)
            elif isinstance(node, ast.comprehension):
                self._bind([node.target], node.iter, node.target)
            elif isinstance(node, ast.withitem) and node.optional_vars:
                self._bind([node.optional_vars], node.context_expr,
                           node.context_expr)

    def _bind(self, targets, value: ast.AST, at: ast.AST) -> None:
        carries = self.carries(value, at)
        for target in targets:
            for name in assigned_names(target):
                self._record(name, at, carries)

    def _record(self, name: str, at: ast.AST, carries: bool) -> None:
        self._bindings.setdefault(name, []).append((_position(at), carries))

    def name_carries(self, name: str, at: ast.AST) -> bool:
        """Whether ``name``'s latest binding before ``at`` carries it."""
        position = _position(at)
        state = False
        for bound_at, carries in self._bindings.get(name, ()):
            if bound_at < position:
                state = carries
        return state

    def carries(self, expr: ast.AST | None, at: ast.AST | None = None
                ) -> bool:
        """Whether ``expr`` (evaluated at ``at``) carries a source value."""
        if expr is None:
            return False
        at = at or expr
        if self.is_source(expr):
            return True
        if isinstance(expr, ast.Name):
            return self.name_carries(expr.id, at)
        if isinstance(expr, ast.Attribute):
            return expr.attr not in self.opaque_attributes and \
                self.carries(expr.value, at)
        if isinstance(expr, ast.Call):
            return self._call_carries(expr, at)
        # Containers, f-strings, ``+``/``%``, conditionals: their parts.
        return any(self.carries(part, at)
                   for part in flowing_parts(expr, self.facts))

    def _call_carries(self, call: ast.Call, at: ast.AST) -> bool:
        if is_masker_call(call, self.facts):
            return False
        func = call.func
        arguments = list(call.args) + [kw.value for kw in call.keywords]
        if isinstance(func, ast.Attribute) and func.attr in TEXT_METHODS:
            return self.carries(func.value, at) or \
                any(self.carries(a, at) for a in arguments)
        qualified = self.facts.qualified_name(func)
        if qualified is not None and (qualified in TEXT_FUNCTIONS or
                                      qualified.startswith("builtins.") and
                                      qualified[9:] in TEXT_FUNCTIONS):
            return any(self.carries(a, at) for a in arguments)
        return False


def flowing_parts(expr: ast.AST, facts) -> list[ast.AST]:
    """The sub-expressions whose values :meth:`ValueFlow.carries` may
    follow into ``expr``, for cheap pre-tests: a superset, as it ignores
    maskers (their arguments are included) and positions."""
    kind = expr.__class__
    if kind in _VALUE_WRAPPERS:
        return [expr.value]
    if kind is ast.JoinedStr or kind is ast.BoolOp or kind is ast.Dict:
        return expr.values
    if kind is ast.BinOp:
        return [expr.left, expr.right] \
            if isinstance(expr.op, (ast.Add, ast.Mod)) else []
    if kind in _SEQUENCES:
        return expr.elts
    if kind is ast.IfExp:
        return [expr.body, expr.orelse]
    if kind is not ast.Call:
        return []
    func = expr.func
    arguments = [*expr.args, *(keyword.value for keyword in expr.keywords)]
    if func.__class__ is ast.Attribute and func.attr in TEXT_METHODS:
        return [func.value, *arguments]
    if is_masker_call(expr, facts):
        return arguments
    qualified = facts.qualified_name(func)
    if qualified is not None and (qualified in TEXT_FUNCTIONS or
                                  qualified.startswith("builtins.") and
                                  qualified[9:] in TEXT_FUNCTIONS):
        return arguments
    return []


_VALUE_WRAPPERS = (ast.Attribute, ast.Subscript, ast.Starred,
                   ast.FormattedValue)
_SEQUENCES = (ast.Tuple, ast.List, ast.Set)


def _position(node: ast.AST) -> tuple[int, int]:
    if isinstance(node, ast.withitem):
        node = node.context_expr
    elif isinstance(node, ast.comprehension):
        node = node.target
    return node.lineno, node.col_offset
