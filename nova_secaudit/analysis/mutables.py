"""Module globals, module-level and class-level mutables, name resolution.

RULES.md, shared definitions: a module global is a name bound at module
level by a plain, annotated or augmented assignment, also inside top-level
``if``/``try``/``with`` blocks. A module-level mutable is one bound to a
dict/list/set display or comprehension, or to dict()/list()/set()/
collections.defaultdict/OrderedDict/deque/Counter or a weakref container; a
class-level mutable is the same bound in a class body. Tuples, frozensets,
strings and None are not mutable containers.

:func:`global_reference` tells whether a name used inside a function refers
to the module global (not a parameter, a local or a closure variable that
shadows it). Answers are kept per function, so several rules asking about
the same function cost one walk.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nova_secaudit.analysis import (
    FUNCTION_TYPES, ancestors, block_statements, enclosing_function,
    parent_of)
from nova_secaudit.analysis.functions import (
    assigned_names, parameter_names, target_elements, walk_local)

MUTABLE_FACTORIES = frozenset({
    "builtins.dict", "builtins.list", "builtins.set", "builtins.bytearray",
    "collections.defaultdict", "collections.OrderedDict", "collections.deque",
    "collections.Counter", "collections.ChainMap",
    "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary",
    "weakref.WeakSet",
})
MUTABLE_FACTORY_NAMES = frozenset(n.rpartition(".")[2]
                                  for n in MUTABLE_FACTORIES)
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp,
                    ast.SetComp)


def is_mutable_value(expr: ast.AST | None, facts) -> bool:
    """Whether ``expr`` builds a mutable container (display or factory)."""
    if isinstance(expr, MUTABLE_DISPLAYS):
        return True
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    name = func.attr if isinstance(func, ast.Attribute) else \
        getattr(func, "id", None)
    if name not in MUTABLE_FACTORY_NAMES:
        return False
    return facts.qualified_name(func) in MUTABLE_FACTORIES


def _bindings(body: list[ast.stmt]) -> list[tuple[str, ast.AST | None]]:
    """(name, value or None) for each assignment binding in ``body``."""
    found = []
    add = found.append
    for stmt in block_statements(body):
        kind = stmt.__class__
        if kind is ast.Assign:
            for target in stmt.targets:
                if target.__class__ is ast.Name:
                    add((target.id, stmt.value))
                else:
                    found.extend((name, None)
                                 for name in assigned_names(target))
        elif (kind is ast.AnnAssign or kind is ast.AugAssign) and \
                stmt.target.__class__ is ast.Name:
            add((stmt.target.id,
                 stmt.value if kind is ast.AnnAssign else None))
    return found


@dataclass
class ModuleState:
    """Module globals and which of them (or of class attributes) mutate."""

    globals: set[str] = field(default_factory=set)
    mutables: dict[str, ast.AST] = field(default_factory=dict)
    # class name -> {attribute -> value}, for classes at any depth.
    class_mutables: dict[str, dict[str, ast.AST]] = field(
        default_factory=dict)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)
    # every attribute name of every class-level mutable: a cheap pre-test
    class_attributes: set[str] = field(default_factory=set)


def module_state(facts) -> ModuleState:
    """The module's globals and mutables (``facts.memo`` this)."""
    state = ModuleState()
    tree = facts.tree
    for name, value in _bindings(getattr(tree, "body", [])):
        state.globals.add(name)
        if is_mutable_value(value, facts):
            state.mutables.setdefault(name, value)
    for cls in facts.nodes(ast.ClassDef):
        state.classes.setdefault(cls.name, []).append(cls)
        found = {name: value for name, value in _bindings(cls.body)
                 if is_mutable_value(value, facts)}
        if found:
            state.class_mutables.setdefault(cls.name, {}).update(found)
            state.class_attributes.update(found)
    return state


def shared_names(facts) -> frozenset[str]:
    """Names a change of shared state must mention: module mutables,
    class-level mutable attributes, ``global``-declared names (use as
    ``facts.memo(shared_names)``)."""
    state = facts.memo(module_state)
    return frozenset(state.mutables) | frozenset(state.class_attributes) | \
        facts.memo(declared_global_names)


# Simple statements that can store into, delete from or call a method of
# shared state at their top level.
CHANGING_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete,
                       ast.Expr, ast.Return)


def statements_naming_shared_state(facts) -> list[ast.stmt]:
    """The :data:`CHANGING_STATEMENTS` in def bodies whose lines name one
    of :func:`shared_names`, in source order: every change of shared state
    made in a function is among them (all of them, and those outside
    functions too, when the text is unknown). Use as
    ``facts.memo(statements_naming_shared_state)``."""
    names = facts.memo(shared_names)
    if not names:
        return []
    # A change that matters is made in a function (module and class
    # bodies run at import, before any thread).
    candidates = facts.statements_naming(names, in_functions=True)
    if candidates is None:
        return sorted((node for node_type in CHANGING_STATEMENTS
                       for node in facts.nodes(node_type)),
                      key=lambda node: (node.lineno, node.col_offset))
    return [node for node in candidates
            if isinstance(node, CHANGING_STATEMENTS)]


def global_declarations(facts) -> dict[int, frozenset[str]]:
    """id(function) -> names it declares ``global`` (``facts.memo``)."""
    declared: dict[int, set[str]] = {}
    for stmt in facts.nodes(ast.Global):
        func = enclosing_function(stmt)
        if func is not None:
            declared.setdefault(id(func), set()).update(stmt.names)
    return {key: frozenset(names) for key, names in declared.items()}


def declared_global_names(facts) -> frozenset[str]:
    """Every name some function of the module declares ``global``."""
    return frozenset(name for names in facts.memo(global_declarations)
                     .values() for name in names)


class FunctionNames:
    """Local and global-declared names of one function."""

    __slots__ = ("declared_global", "local")

    def __init__(self, func):
        self.declared_global: set[str] = set()
        self.local: set[str] = set()
        if isinstance(func, ast.Lambda):
            self.local = parameter_names(func)
            return
        bound = set(parameter_names(func))
        for node in walk_local(func):
            if isinstance(node, ast.Global):
                self.declared_global.update(node.names)
            elif isinstance(node, ast.Nonlocal):
                bound.update(node.names)
            elif isinstance(node, ast.Name) and \
                    isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                   ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
        self.local = bound - self.declared_global


def function_names(facts, func) -> FunctionNames:
    """:class:`FunctionNames` of ``func`` (use as
    ``facts.memo(function_names, func)``: nothing is kept on the tree)."""
    return FunctionNames(func)


def global_reference(name: str, node: ast.AST, facts) -> bool:
    """Whether ``name`` used at ``node`` refers to the module-level binding.

    Walks the enclosing functions outwards: a ``global`` declaration wins,
    a parameter or local binding (the function's own or a closure's)
    shadows the global. Class bodies do not enclose function scopes.
    """
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES):
            names = facts.memo(function_names, parent)
            if name in names.declared_global:
                return True
            if name in names.local:
                return False
    return True


def declares_global(func, name: str, facts) -> bool:
    """Whether ``func`` itself declares ``global name``."""
    return name in facts.memo(global_declarations).get(id(func), ())


def self_assigned_attributes(facts, cls: ast.ClassDef) -> set[str]:
    """Attributes any method of ``cls`` assigns as ``self.X = ...`` (use
    as ``facts.memo(self_assigned_attributes, cls)``)."""
    found = set()
    for stmt in cls.body:
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(stmt):
            targets = ()
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = (node.target,)
            for target in targets:
                for element in target_elements(target):
                    if isinstance(element, ast.Attribute) and \
                            isinstance(element.value, ast.Name) and \
                            element.value.id == "self":
                        found.add(element.attr)
    return found


def enclosing_class(node: ast.AST) -> ast.ClassDef | None:
    """The class whose method (directly) contains ``node``."""
    func = None
    for parent in ancestors(node):
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = parent
        elif isinstance(parent, ast.ClassDef):
            return parent if func is not None and \
                parent_of(func) is parent else None
        elif isinstance(parent, ast.Lambda):
            continue
    return None


@dataclass(frozen=True)
class SharedTarget:
    """A shared container reached by an expression: what and how."""

    name: str  # display name: ``CELLS`` or ``Driver._cache``
    kind: str  # "module" or "class"
    lock: str  # suggested lock name for the codemod


def lock_name_for(name: str) -> str:
    base = name.rpartition(".")[2].strip("_").upper() or "STATE"
    return f"_{base}_LOCK"


def shared_container(expr: ast.AST, facts,
                     at: ast.AST | None = None) -> SharedTarget | None:
    """The module- or class-level mutable ``expr`` names, if any.

    ``expr`` is a ``Name`` of a module-level mutable (not shadowed), or
    ``cls.X`` / ``ClassName.X`` / ``self.X`` (no method assigns self.X) of
    a class-level mutable. ``at`` is the statement or call holding
    ``expr``, whose scope decides what the name refers to (defaults to
    ``expr``, which then needs its parents indexed).
    """
    state = facts.memo(module_state)
    at = at or expr
    if isinstance(expr, ast.Name):
        if expr.id in state.mutables and \
                global_reference(expr.id, at, facts):
            return SharedTarget(expr.id, "module", lock_name_for(expr.id))
        return None
    if not isinstance(expr, ast.Attribute) or \
            expr.attr not in state.class_attributes or \
            not isinstance(expr.value, ast.Name):
        return None
    owner, attr = expr.value.id, expr.attr
    if owner in ("self", "cls"):
        cls = enclosing_class(at)
        if cls is None or attr not in state.class_mutables.get(cls.name, {}):
            return None
        if owner == "self" and \
                attr in facts.memo(self_assigned_attributes, cls):
            return None
        return SharedTarget(f"{cls.name}.{attr}", "class",
                            lock_name_for(attr))
    if attr in state.class_mutables.get(owner, {}) and \
            global_reference(owner, at, facts):
        return SharedTarget(f"{owner}.{attr}", "class", lock_name_for(attr))
    return None
