"""Facts computed once per module; rules ask, they never re-derive them.

:class:`ModuleFacts` walks the tree once (iteratively, so deep nesting cannot
overflow the interpreter stack), records each node's parent and groups nodes
by type for the engine's dispatch. Everything else is computed lazily, the
first time a rule asks for it.
"""

from __future__ import annotations

import ast
import bisect
import functools
import os
import re
from typing import Iterator

from nova_secaudit.analysis.imports import ImportMap

# Parent links of the module being checked. They live in a dict, not on
# the nodes: a child -> parent attribute would make every tree a reference
# cycle that only the cyclic garbage collector can free, and collecting
# millions of nodes that way costs more than the analysis itself.
_parents: dict = {}
_LINE_END = re.compile(r"\r\n?|\n")
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` numbered as ``ast`` numbers them: split at
    CRLF, CR and LF only. ``str.splitlines`` also splits at form feeds and
    other separators, which would shift every later line."""
    return _LINE_END.split(text) if "\r" in text else text.split("\n")


def parent_of(node: ast.AST) -> ast.AST | None:
    return _parents.get(node)


def set_parent(child: ast.AST, parent: ast.AST) -> None:
    # _parents is the module being checked; a process checks one module
    # at a time (flake8 and --jobs use processes, pylint one thread).
    _parents[child] = parent  # noqa: NSA201


def subtree(root: ast.AST, stop_at: tuple = (),
            root_fields: tuple[str, ...] | None = None
            ) -> Iterator[ast.AST]:
    """Nodes under ``root`` (not ``root``), each one's parent recorded on
    the way; nodes of a ``stop_at`` type are yielded but not entered;
    ``root_fields`` limits which of root's own fields are followed."""
    parents = _parents
    stack = [root]
    pop, push = stack.pop, stack.append
    cache, node_class = _CHILD_FIELDS, ast.AST
    while stack:
        node = pop()
        if node is root:
            names = root_fields if root_fields is not None else \
                child_fields(type(node))
        else:
            yield node
            if stop_at and isinstance(node, stop_at):
                continue
            names = cache.get(type(node)) or child_fields(type(node))
        for name in names:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, node_class):
                        parents[item] = node
                        push(item)
            elif isinstance(value, node_class):
                parents[value] = node
                push(value)


def statement_expressions(statement: ast.AST, stop_at: tuple = ()
                          ) -> Iterator[ast.AST]:
    """The expressions of ``statement`` itself, not of its blocks (a
    compound statement's header), their parents recorded; see
    :func:`subtree` for ``stop_at``."""
    names = _EXPRESSION_FIELDS.get(type(statement)) or \
        _expression_fields(type(statement))
    return subtree(statement, stop_at, root_fields=names)


def ancestors(node: ast.AST) -> Iterator[ast.AST]:
    node = parent_of(node)
    while node is not None:
        yield node
        node = parent_of(node)


def is_within(node: ast.AST, outer: ast.AST) -> bool:
    """Whether ``node`` is ``outer`` or lies inside it."""
    while node is not None:
        if node is outer:
            return True
        node = parent_of(node)
    return False


def block_of(stmt: ast.stmt) -> list:
    """The statement list (body, orelse, finalbody, handlers) that holds
    ``stmt``; ``[stmt]`` when it stands in none."""
    parent = parent_of(stmt)
    for name in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block
    return [stmt]


def enclosing_function(node: ast.AST):
    """The innermost def/lambda holding ``node``; None at module level."""
    for parent in ancestors(node):
        if isinstance(parent, FUNCTION_TYPES):
            return parent
        if isinstance(parent, ast.ClassDef):
            return None
    return None


def enclosing_statement(node: ast.AST) -> ast.stmt | None:
    """The innermost statement containing (or being) ``node``; None when
    its parents were not recorded."""
    while node is not None and not isinstance(node, ast.stmt):
        node = parent_of(node)
    return node


def block_statements(body: list) -> list[ast.AST]:
    """The statements of ``body`` and of every block nested in them (if,
    loops, with, try and its handlers, match cases), in source order.
    Nested defs and classes are listed, their bodies are not: those are
    other scopes. Except handlers and match cases are listed too."""
    found = []
    stack = body[::-1]
    pop, push, add = stack.pop, stack.extend, found.append
    while stack:
        node = pop()
        add(node)
        kind = node.__class__
        if kind in _DECORATED:  # a def or class: another scope
            continue
        blocks = _BLOCKS_OF.get(kind)
        if blocks is None:
            blocks = _blocks_of(kind)
        if blocks:  # most statements have none
            for name in reversed(blocks):
                push(getattr(node, name)[::-1])
    return found


def module_location(path: str) -> tuple[str, str]:
    """(module name, package) of a file, found by walking up __init__.py."""
    if not path or path.startswith("<") or path == "-":
        return "", ""
    directory, filename = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(filename)[0]
    package = _package_of(directory)
    if stem == "__init__":
        return package, package
    return (f"{package}.{stem}" if package else stem), package


@functools.lru_cache(maxsize=1024)
def _package_of(directory: str) -> str:
    """The dotted package a directory is, by its __init__.py files (asked
    once per directory of a run, not once per file)."""
    package_parts = []
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, name = os.path.split(directory)
        package_parts.insert(0, name)
    return ".".join(package_parts)


class ModuleFacts:
    """Everything the rules may ask about one module.

    The index has two tiers. Statements (and except handlers, match cases)
    are indexed up front: that walk touches a tenth of the nodes. The
    expressions inside them are indexed only when a rule asks for an
    expression node type, or when a rule that is not ``statement_only``
    runs on the module; rules skipped by their text trigger cost nothing.
    """

    def __init__(self, tree: ast.AST, path: str, settings,
                 source: str | None = None):
        self.tree = tree
        self.path = path
        self.settings = settings
        self.source = source
        self._by_type: dict[type, list[ast.AST]] = {}
        self._sorted: set[type] = set()
        self._memo: dict = {}
        self._words: dict[str, bool] = {}
        self._expanded = False
        self._partly_expanded: set[ast.AST] = set()
        # id(statement list) -> (first lines, last lines)
        self._block_spans: dict[int, tuple[list[int], list[int]]] = {}
        self._line_nodes: dict[type, list[ast.AST]] = {}
        self.parents: dict = {tree: None}
        self.activate()
        self._index_statements(tree)

    def activate(self) -> None:
        """Make :func:`parent_of` answer for this module's nodes."""
        global _parents
        # One module at a time per process (see set_parent).
        _parents = self.parents  # noqa: NSA201

    def release(self) -> None:
        """Forget everything about the module once it is checked: stop
        answering :func:`parent_of` for it and drop the memos. A memo can
        hold these facts (a value flow keeps them), and that reference
        cycle would leave the whole tree to the cyclic garbage collector
        instead of freeing it with its last reference."""
        global _parents
        if _parents is self.parents:  # one module at a time (set_parent)
            _parents = {}  # noqa: NSA202
        self._memo.clear()

    def _index_statements(self, tree: ast.AST) -> None:
        # Depth first, children pushed in reverse: every bucket fills in
        # source order, so asking for statements never sorts them.
        by_type, parents = self._by_type, self.parents
        stack = [tree]
        pop, push_all = stack.pop, stack.extend
        while stack:
            node = pop()
            kind = node.__class__
            bucket = by_type.get(kind)
            if bucket is None:
                by_type[kind] = [node]
            else:
                bucket.append(node)
            blocks = _BLOCKS_OF.get(kind)
            if blocks is None:
                blocks = _blocks_of(kind)
            for name in reversed(blocks):
                block = getattr(node, name)
                for child in block:
                    parents[child] = node
                push_all(block[::-1])

    def expand(self) -> None:
        """Index every expression (and set its parent), once."""
        if self._expanded:
            return
        self._expanded = True
        # Only statement-tier nodes are in the index before this.
        statements = [node for bucket in list(self._by_type.values())
                      for node in bucket]
        for statement in statements:
            if statement not in self._partly_expanded:
                self._expand_statement(statement, self._by_type)
        # Statements expanded for a line search were indexed elsewhere.
        for node_type, bucket in self._line_nodes.items():
            self._by_type.setdefault(node_type, []).extend(bucket)
            self._sorted.discard(node_type)
        self._line_nodes = self._by_type

    def expand_lines(self, words) -> None:
        """Index the expressions of the statements whose own lines contain
        one of ``words`` (for rules whose every finding lies on such a
        line); :meth:`line_nodes` then answers from them. Each word is a
        search of the whole text, so past ``MAX_LINE_WORDS`` words every
        expression is indexed instead (once, in one walk)."""
        if self._expanded or self.source is None or \
                len(words) > MAX_LINE_WORDS:
            return self.expand()
        for statement in self._statements_on_lines(self._lines_with(words)):
            if statement not in self._partly_expanded:
                self._partly_expanded.add(statement)
                self._expand_statement(statement, self._line_nodes)

    def statements_naming(self, words, in_functions: bool = False
                          ) -> list[ast.AST] | None:
        """The statements (compound ones by their header) whose own lines
        contain one of ``words``, in source order: a superset of those
        that name one of them; with ``in_functions``, only lines inside a
        def's body. None when the source text is unknown, or when there
        are too many words to search for (see expand_lines)."""
        if self.source is None or len(words) > MAX_LINE_WORDS:
            return None
        lines = self._lines_with(words)
        if in_functions:
            starts, ends = self.memo(_function_bodies)
            lines = [line for line in lines
                     if ends[bisect.bisect_right(starts, line) - 1] >= line]
        return sorted(self._statements_on_lines(lines), key=_position)

    def _statements_on_lines(self, lines) -> list[ast.AST]:
        """The statements :meth:`_statements_on` finds on any of
        ``lines``, each once."""
        found = {}
        for line in lines:
            for statement in self._statements_on(line):
                found[id(statement)] = statement
        return list(found.values())

    def statements_matching(self, pattern: re.Pattern, first: int,
                            last: int) -> list[ast.AST]:
        """The statements (compound ones by their header) with a match of
        ``pattern`` on their own lines, among lines ``first`` to ``last``:
        a superset of those holding what ``pattern`` finds. The text is
        searched once per pattern; the source must be known."""
        lines = self.memo(_matching_lines, pattern)
        return self._statements_on_lines(
            lines[bisect.bisect_left(lines, first):
                  bisect.bisect_right(lines, last)])

    def contains(self, word: str) -> bool:
        """Whether the source text holds ``word`` (asked once per module:
        several rules share trigger words; the text must be known)."""
        found = self._words.get(word)
        if found is None:
            found = self._words[word] = word in self.source
        return found

    def line_nodes(self, node_type: type) -> list:
        """Nodes of ``node_type`` indexed so far by :meth:`expand_lines`
        (all of them once the module is fully expanded)."""
        if issubclass(node_type, _BLOCK_NODE_TYPES) or self._expanded:
            return self.nodes(node_type)
        bucket = self._line_nodes.get(node_type, [])
        bucket.sort(key=_position)
        return bucket

    def _lines_with(self, words) -> set[int]:
        source = self.source
        offsets = []
        for word in words:
            if self._words.get(word) is False:
                continue  # known absent: no need to look again
            at = source.find(word)
            while at != -1:
                offsets.append(at)
                at = source.find(word, at + len(word))
        return set(self._lines_of(sorted(offsets)))

    def _lines_of(self, offsets: list[int]) -> list[int]:
        """The line of each of the ascending text ``offsets``."""
        source = self.source
        if "\r" in source:
            starts = self._line_starts()
            return [bisect.bisect_right(starts, at) for at in offsets]
        # Count line ends between consecutive hits: one pass, in C.
        lines, line, previous = [], 1, 0
        for at in offsets:
            line += source.count("\n", previous, at)
            previous = at
            lines.append(line)
        return lines

    def _line_starts(self) -> list[int]:
        starts = self._memo.get("line starts")
        if starts is None and "\r" in self.source:
            # A lone CR ends a line for the tokenizer too (old Mac files,
            # mixed endings): count lines as ast does.
            starts = [0] + [m.end() for m in
                            _LINE_END.finditer(self.source)]
            self._memo["line starts"] = starts
        return starts

    def _statements_on(self, line: int) -> list[ast.AST]:
        """The statements whose own expressions are on ``line``: a simple
        statement spanning it, or a compound one whose header (decorators
        included) does. Found by descending the blocks with bisection, so
        the cost is the nesting depth, not the module size."""
        node, found = self.tree, []
        blocks_of = _BLOCKS_OF
        while True:
            inner = None
            for name in blocks_of.get(node.__class__, ()):
                block = getattr(node, name)
                starts, ends = self._span(block)
                index = bisect.bisect_right(starts, line) - 1
                # ``a = 1; b = 2``: every statement of the block on the line.
                while index >= 0 and ends[index] >= line:
                    statement = block[index]
                    if inner is None and blocks_of.get(statement.__class__):
                        inner, inner_start = statement, starts[index]
                    else:
                        found.append(statement)
                    index -= 1
                if inner is not None or found:
                    break
            if inner is None:
                if node is not self.tree and not found:
                    found.append(node)  # the header of ``node``
                return found
            # The header ends where its first block starts (``if x: y = 1``
            # has both on one line).
            first_block = getattr(inner, blocks_of[inner.__class__][0])
            first_start = self._span(first_block)[0][0]
            if line == inner_start or line < first_start or \
                    line == first_start and _header_end(inner) == line:
                found.append(inner)
            node = inner

    def _span(self, block: list) -> tuple[list[int], list[int]]:
        span = self._block_spans.get(id(block))
        if span is None:
            span = self._block_spans[id(block)] = _block_span(block)
        return span

    def statement_lines(self, line: int) -> tuple[int, int]:
        """First and last line of the statements whose own lines include
        ``line`` (a compound one by its header, decorators included): the
        lines a comment about something on ``line`` can sit on."""
        first = last = line
        for statement in self._statements_on(line):
            first = min(first, _start_line(statement))
            last = max(last, _header_end(statement)
                       if _BLOCKS_OF.get(type(statement))
                       else _end_line(statement))
        return first, last

    def _expand_statement(self, statement: ast.AST, by_type: dict) -> None:
        for node in statement_expressions(statement):
            bucket = by_type.get(type(node))
            if bucket is None:
                by_type[type(node)] = [node]
            else:
                bucket.append(node)

    def nodes(self, node_type: type) -> list:
        """All nodes of exactly ``node_type``, in source order."""
        if issubclass(node_type, _BLOCK_NODE_TYPES):
            return self._by_type.get(node_type, [])
        self.expand()
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

    @functools.cached_property
    def lines(self) -> list[str]:
        """The source lines, ``lines[n - 1]`` being line ``n`` (the source
        text must be known)."""
        return source_lines(self.source)

    def qualified_name(self, expr: ast.AST) -> str | None:
        return self.imports.resolve(expr)

    def memo(self, compute, *args):
        """``compute(self, *args)``, computed once per module and kept
        (``args`` must be hashable: AST nodes are, by identity)."""
        key = (compute, *args) if args else compute
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(self, *args)
            return value

    def call_line_words(self, names: frozenset[str]) -> set[str]:
        """``name(`` for each of :meth:`call_words`: a line with a call of
        one of ``names`` holds it (PEP 8 puts no space before the
        parenthesis; nothing else can split the name from it)."""
        return {word + "(" for word in self.call_words(names)}

    def call_words(self, names: frozenset[str]) -> frozenset[str]:
        """``names`` plus the local aliases imported for them: the names a
        call of one of ``names`` may use, and so words its line contains."""
        return self.memo(_call_words, frozenset(names))


# Fields that never hold a node we dispatch on: plain values, and the
# shared singleton context/operator nodes (Load, Store, Add, ...), whose
# "parent" would be meaningless. Skipping them halves the walk's cost.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "kind",
                          "type_comment", "level", "module", "is_async",
                          "conversion"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


# Fields holding statement lists, and the node types that live in them.
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_BLOCK_NODE_TYPES = (ast.stmt, ast.excepthandler, ast.mod,
                     getattr(ast, "match_case", ast.stmt))
# Words one line search looks for before indexing the whole module is
# cheaper (a module of thousands of functions asks for each one's name).
MAX_LINE_WORDS = 64
_EXPRESSION_FIELDS: dict[type, tuple[str, ...]] = {}
_BLOCKS_OF: dict[type, tuple[str, ...]] = {}
_SCOPE_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_DECORATED = frozenset(_SCOPE_TYPES)


def _blocks_of(node_type: type) -> tuple[str, ...]:
    """The statement-list fields of ``node_type`` (kept in _BLOCKS_OF)."""
    # Memos keyed by node type hold a pure function of the key: a race
    # stores an equal value twice, never a wrong one.
    blocks = _BLOCKS_OF[node_type] = tuple(  # noqa: NSA201
        f for f in node_type._fields if f in _BLOCK_FIELDS)  # source order
    return blocks


_MATCH_CASE = getattr(ast, "match_case", ())


def _expression_fields(node_type: type) -> tuple[str, ...]:
    """Fields of a statement-tier node that hold expressions, not blocks."""
    names = tuple(f for f in child_fields(node_type)
                  if f not in _BLOCK_FIELDS)
    _EXPRESSION_FIELDS[node_type] = names  # noqa: NSA201 (pure memo)
    return names


def child_fields(node_type: type) -> tuple[str, ...]:
    """Fields of ``node_type`` that may hold nodes rules dispatch on."""
    names = _CHILD_FIELDS.get(node_type)
    if names is not None:
        return names
    names = tuple(f for f in node_type._fields if f not in _LEAF_FIELDS
                  and not (node_type is ast.Constant and f == "value"))
    _CHILD_FIELDS[node_type] = names  # noqa: NSA202 (pure memo)
    return names


def _function_bodies(facts: ModuleFacts) -> tuple[list[int], list[int]]:
    """First and last lines of the bodies of the module's defs, nested
    ones merged into those holding them, for bisection; a (0, 0) span
    first, so every line has a span at or before it."""
    spans = sorted((_start_line(func.body[0]), func.end_lineno)
                   for kind in (ast.FunctionDef, ast.AsyncFunctionDef)
                   for func in facts.nodes(kind))
    starts, ends = [0], [0]
    for start, end in spans:
        if start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _matching_lines(facts: ModuleFacts, pattern: re.Pattern) -> list[int]:
    """Ascending lines where a match of ``pattern`` starts (repeats kept:
    callers take ranges of it)."""
    return facts._lines_of([match.start() for match in
                            pattern.finditer(facts.source)])


def _call_words(facts: ModuleFacts, names: frozenset[str]
                ) -> frozenset[str]:
    aliases = {alias for alias, target in facts.imports.aliases.items()
               if target.rpartition(".")[2] in names}
    return names | aliases


def _start_line(statement: ast.AST) -> int:
    """First line of a statement, its decorators included."""
    decorators = getattr(statement, "decorator_list", None)
    if decorators:
        return min(decorators[0].lineno, statement.lineno)
    if isinstance(statement, _MATCH_CASE):
        return statement.pattern.lineno
    return statement.lineno


def _block_span(block: list) -> tuple[list[int], list[int]]:
    """First lines (decorators included) and last lines of the statements
    of ``block``, for bisection."""
    if block and block[0].__class__ is _MATCH_CASE:
        return ([_start_line(case) for case in block],
                [_end_line(case) for case in block])
    # _start_line inlined: a module or class body can hold thousands.
    return ([statement.decorator_list[0].lineno
             if statement.__class__ in _DECORATED and
             statement.decorator_list else statement.lineno
             for statement in block],
            [statement.end_lineno for statement in block])


def _header_end(statement: ast.AST) -> int:
    """Last line of a compound statement's header: the line before its
    first block, or that block's first line when the header's expressions
    reach it (``except (A,\\n B): pass``)."""
    first = _start_line(getattr(statement, _BLOCKS_OF[type(statement)][0])[0])
    if _header_expressions_end(statement) >= first:
        return first
    return max(_start_line(statement), first - 1)


def _header_expressions_end(statement: ast.AST) -> int:
    """The last line the expressions of a compound header reach."""
    last = 0
    for name in _EXPRESSION_FIELDS.get(type(statement)) or \
            _expression_fields(type(statement)):
        value = getattr(statement, name, None)
        for child in value if isinstance(value, list) else (value,):
            end = getattr(child, "end_lineno", None)
            if end is None and isinstance(child, ast.AST):
                # arguments, withitem: no position of their own
                end = max((getattr(inner, "end_lineno", 0) or 0
                           for inner in ast.iter_child_nodes(child)),
                          default=0)
            last = max(last, end or 0)
    return last


def _end_line(statement: ast.AST) -> int:
    if isinstance(statement, _MATCH_CASE):
        return statement.body[-1].end_lineno
    return statement.end_lineno


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
