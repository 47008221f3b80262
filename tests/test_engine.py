"""Engine behaviour: selection, ordering, rule validation."""

from __future__ import annotations

import ast
import textwrap

import pytest

from nova_secaudit.engine import (
    Example, FixSafety, Rule, check, check_source)
from nova_secaudit.settings import Settings

TWO_DEFECTS = ("import futurist\n"
               "b = futurist.ThreadPoolExecutor()\n"
               "a = futurist.GreenThreadPoolExecutor(None)\n")


@pytest.mark.parametrize("settings,code,enabled", [
    (Settings(), "NSA101", True),
    (Settings(), "NSA102", False),  # opt-in
    (Settings(select=("NSA102",)), "NSA102", True),
    (Settings(select=("NSA1",)), "NSA102", False),  # needs its full code
    (Settings(select=("NSA4",)), "NSA101", False),
    (Settings(ignore=("NSA1",)), "NSA101", False),
    (Settings(select=("NSA101",), ignore=("NSA1",)), "NSA101", True),
    (Settings(select=("NSA1",), ignore=("NSA101",)), "NSA101", False),
    (Settings(per_file_ignores=(("tests/*", ("NSA101",)),)), "NSA101", True),
], ids=["default-on", "opt-in-off", "opt-in-selected",
        "opt-in-not-by-family-prefix", "not-selected", "ignored",
        "longer-select-wins", "longer-ignore-wins", "per-file-other-path"])
def test_selection(settings, code, enabled):
    assert settings.is_enabled(code, code != "NSA102", "nova/a.py") is enabled


def test_per_file_ignores_match_paths():
    settings = Settings(per_file_ignores=(("nova/tests/*", ("NSA1",)),))
    assert not settings.is_enabled("NSA101", True, "nova/tests/unit/t.py")
    assert settings.is_enabled("NSA101", True, "nova/compute/manager.py")


def test_findings_are_sorted_and_carry_positions():
    found = check_source(TWO_DEFECTS)
    assert [(f.line, f.col, f.code) for f in found] == [
        (2, 4, "NSA101"), (3, 4, "NSA101")]
    assert found[0].end_line == 2 and found[0].end_col == 33
    assert found[0].fix_args == {"keyword": "max_workers"}


def test_check_reuses_a_tree_it_is_given():
    tree = ast.parse(TWO_DEFECTS)
    assert check(tree, "x.py") == check(tree, "x.py")


def test_column_is_a_utf8_byte_offset_like_ast():
    source = ("import futurist\n"
              "d = {'clé': futurist.ThreadPoolExecutor()}\n")
    (found,) = check_source(source)
    assert found.col == source.splitlines()[1].encode().index(b"futurist")


def test_rule_without_docs_sections_fails_at_definition():
    with pytest.raises(TypeError, match="Why this is bad"):
        class MissingWhy(Rule):  # noqa: F841 - defined to fail
            """Flags nothing.

            Fix:
                None (CWE-0).
            """
            code, symbol, cwe = "NSA199", "missing-why", (0,)
            message = "CWE-0"
            fix = FixSafety.NONE
            bad = (Example("x = 1\n", name="x"),)
            good = (Example("y = 1\n", name="y"),)


def test_rule_class_name_must_match_symbol():
    with pytest.raises(TypeError, match="class name"):
        class WrongName(Rule):  # noqa: F841 - defined to fail
            """Flags nothing.

            Why this is bad:
                Nothing (CWE-0).
            Fix:
                None.
            """
            code, symbol, cwe = "NSA198", "right-name", (0,)
            message = "CWE-0"
            fix = FixSafety.NONE
            bad = (Example("x = 1\n", name="x"),)
            good = (Example("y = 1\n", name="y"),)


def test_line_index_finds_the_statements_whose_own_code_is_on_a_line():
    from nova_secaudit.analysis import ModuleFacts
    source = ("@deco(\n"
              "    a)\n"
              "def f(a):\n"
              "    if a: y = call(1)\n"
              "    else:\n"
              "        z = 2; w = call(3)\n"
              "    for i in call(\n"
              "            4):\n"
              "        pass\n"
              "class C: k = call(7)\n"
              "try:\n"
              "    pass\n"
              "except (A,\n"
              "        B): pass\n"
              "match v:\n"
              "    case [1,\n"
              "          2]:\n"
              "        m = 1\n")
    facts = ModuleFacts(ast.parse(source), "x.py", Settings(), source)

    def on(line):
        return sorted(f"{type(s).__name__}"
                      f"{getattr(s, 'lineno', None) or s.pattern.lineno}"
                      for s in facts._statements_on(line))

    assert on(2) == ["FunctionDef3"]  # a decorator line
    assert on(4) == ["Assign4", "If4"]  # header and body on one line
    assert on(6) == ["Assign6", "Assign6"]
    assert on(8) == ["For7"]  # a header's continuation line
    assert on(9) == ["Pass9"]
    assert on(10) == ["Assign10", "ClassDef10"]
    assert on(11) == ["Try11"]
    assert on(14) == ["ExceptHandler13", "Pass14"]  # header ends on it
    assert on(15) == ["Match15"]
    assert on(17) == ["match_case16"]  # a pattern's continuation line
    assert on(18) == ["Assign18"]


def test_statements_naming_in_functions_keeps_only_def_body_lines():
    from nova_secaudit.analysis import ModuleFacts
    source = ("CACHE = {}\n"
              "CACHE['a'] = 1\n"
              "def one(): CACHE.clear()\n"
              "class C:\n"
              "    CACHE2 = CACHE\n"
              "    def m(self):\n"
              "        @deco(CACHE)\n"
              "        def inner():\n"
              "            CACHE.pop('a')\n"
              "        return CACHE\n"
              "CACHE.update(b=2)\n")
    facts = ModuleFacts(ast.parse(source), "x.py", Settings(), source)

    def lines(**options):
        return [statement.lineno for statement in
                facts.statements_naming({"CACHE"}, **options)]

    assert lines() == [1, 2, 3, 3, 5, 8, 9, 10, 11]
    assert lines(in_functions=True) == [3, 3, 8, 9, 10]


def test_statements_come_in_source_order_without_sorting():
    # The statement index is filled depth first in source order (try:
    # body, handlers, else, finally), which nodes() relies on.
    from nova_secaudit.analysis import ModuleFacts, block_statements
    source = ("try:\n    a = 1\nexcept E:\n    b = 2\nelse:\n    c = 3\n"
              "finally:\n    d = 4\n"
              "for x in y:\n    e = 5\nelse:\n    f = 6\n"
              "match v:\n    case 1:\n        g = 7\n    case _:\n"
              "        h = 8\n"
              "def k():\n    i = 9\nj = 10\n")
    facts = ModuleFacts(ast.parse(source), "x.py", Settings(), source)
    assigned = [node.targets[0].id for node in facts.nodes(ast.Assign)]
    assert assigned == list("abcdefghij")
    top = [type(s).__name__ for s in block_statements(facts.tree.body)]
    assert top == ["Try", "Assign", "ExceptHandler", "Assign", "Assign",
                   "Assign", "For", "Assign", "Assign", "Match",
                   "match_case", "Assign", "match_case", "Assign",
                   "FunctionDef", "Assign"]


def test_line_words_dispatch_only_nodes_on_those_lines():
    source = ("import futurist\n"
              "from futurist import ThreadPoolExecutor as TPE\n"
              "a = len([1])\n"
              "b = TPE()\n")
    found = check(ast.parse(source), "x.py", Settings(), source=source)
    assert [(f.line, f.code) for f in found] == [(4, "NSA101")]


def test_a_checked_tree_is_freed_by_reference_counting():
    # Reference cycles through the facts (a memoised flow holding them, a
    # flow holding its own bound method) would leave every tree to the
    # cyclic garbage collector, whose passes over millions of nodes cost
    # more than the analysis.
    import gc

    from nova_secaudit.rules import ALL_RULES
    every_rule = Settings(select=tuple(rule.code for rule in ALL_RULES))
    sources = [example.source for rule in ALL_RULES
               for example in (*rule.bad, *rule.good)]
    gc.collect()
    gc.disable()
    try:
        for source in sources:
            check(ast.parse(source), "x.py", every_rule, source=source)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_check_leaves_the_callers_tree_as_it_was():
    # flake8 and pylint hand every plugin the same tree: nothing may be
    # stored on its nodes (memos live in the module's facts).
    from nova_secaudit.rules import ALL_RULES
    every_rule = Settings(select=tuple(rule.code for rule in ALL_RULES))
    for rule in ALL_RULES:
        for example in (*rule.bad, *rule.good):
            tree = ast.parse(example.source)
            before = [(type(node), sorted(vars(node)))
                      for node in ast.walk(tree)]
            check(tree, "x.py", every_rule, source=example.source)
            assert [(type(node), sorted(vars(node)))
                    for node in ast.walk(tree)] == before, example.name


def test_a_tree_checked_twice_gives_the_same_findings_and_ends():
    # A long-lived process (an editor's server, a benchmark) may check the
    # same tree again. Nothing may be memoised on the tree's nodes: a memo
    # that survived the first check handed the second nodes whose parents
    # that check never recorded, and the climb to their statement looped
    # for ever (the shape of nova 34.0.0's service_auth.py).
    import threading

    source = textwrap.dedent("""\
        _AUTHS = {}


        def reset():
            global _AUTHS
            _AUTHS = {}


        def get_plugin(group):
            auth = _AUTHS.get(group)
            if not auth:
                auth = load(group)
                _AUTHS[group] = auth
            return auth
    """)
    tree = ast.parse(source)
    settings = Settings(select=("NSA2",))
    results = []

    def check_twice():
        for _ in range(2):
            results.append(check(tree, "m.py", settings, source=source))

    worker = threading.Thread(target=check_twice, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the second check did not end"
    assert len(results) == 2 and results[0] == results[1]
    assert any(f.code == "NSA202" for f in results[0])
