"""Questions about one function body: parameters, order, later uses."""

from __future__ import annotations

import ast
from typing import Iterator

from nova_secaudit.analysis import FUNCTION_TYPES, ancestors, subtree
from nova_secaudit.analysis.imports import dotted_name


def walk(root: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``root`` (not root itself), parents set on the way.

    Use this, not ``ast.walk``, when the nodes' parents will be asked for:
    the module index sets expression parents only once a rule needs them.
    """
    return subtree(root)


def walk_local(root: ast.AST) -> Iterator[ast.AST]:
    """Nodes under ``root`` without entering nested defs, lambdas or
    classes (they are yielded, their bodies are not); parents are set."""
    return subtree(root, NESTED_SCOPES)


NESTED_SCOPES = FUNCTION_TYPES + (ast.ClassDef,)


def parameter_defaults(func) -> dict[str, ast.AST | None]:
    """Parameter name -> its default expression (None when it has none)."""
    args = func.args
    positional = args.posonlyargs + args.args
    defaults: dict[str, ast.AST | None] = {a.arg: None for a in positional}
    for arg, default in zip(positional[len(positional) -
                                       len(args.defaults):], args.defaults):
        defaults[arg.arg] = default
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        defaults[arg.arg] = default
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            defaults[extra.arg] = None
    return defaults


def parameter_names(func) -> set[str]:
    return set(parameter_defaults(func))


def target_elements(target: ast.AST) -> Iterator[ast.AST]:
    """The single targets of an assignment or loop target, unpacked from
    tuples, lists and starred parts (``a, (b.x, *c)`` -> a, b.x, c)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from target_elements(element)
    elif isinstance(target, ast.Starred):
        yield from target_elements(target.value)
    else:
        yield target


def assigned_names(target: ast.AST) -> Iterator[str]:
    """Names bound by an assignment or loop target."""
    for element in target_elements(target):
        if isinstance(element, ast.Name):
            yield element.id


def binds_name(node: ast.AST, name: str) -> bool:
    """Whether statement/expression ``node`` (re)binds ``name`` itself."""
    if isinstance(node, ast.Assign):
        return any(name in assigned_names(t) for t in node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return isinstance(node.target, ast.Name) and node.target.id == name
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return name in assigned_names(node.target)
    if isinstance(node, ast.NamedExpr):
        return node.target.id == name
    if isinstance(node, ast.withitem):
        return node.optional_vars is not None and \
            name in assigned_names(node.optional_vars)
    return False


def is_rebound_before(func, name: str, node: ast.AST) -> bool:
    """Whether ``name`` is rebound in ``func`` before ``node`` starts."""
    limit = (node.lineno, node.col_offset)
    for inner in walk_local(func):
        if binds_name(inner, name) and \
                (inner.lineno, inner.col_offset) < limit:
            return True
    return False


def is_none(expr: ast.AST | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def enclosing_loops(node: ast.AST, func) -> Iterator[ast.AST]:
    """While/for loops between ``node`` and its function, innermost first."""
    for parent in ancestors(node):
        if parent is func:
            return
        if isinstance(parent, (ast.While, ast.For, ast.AsyncFor)):
            yield parent


def mentions(expr: ast.AST, keys: set[str]) -> bool:
    """Whether any name or attribute chain inside ``expr`` is in ``keys``."""
    for inner in ast.walk(expr):
        if isinstance(inner, (ast.Name, ast.Attribute)) and \
                dotted_name(inner) in keys:
            return True
    return False
