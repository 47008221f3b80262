"""Qualified-name resolution through every import form."""

from __future__ import annotations

import ast

import pytest

from nova_secaudit.analysis import ModuleFacts
from nova_secaudit.settings import Settings


def resolve(source: str, expression: str, path: str = "mod.py") -> str | None:
    facts = ModuleFacts(ast.parse(source), path, Settings())
    return facts.qualified_name(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize("source,expression,expected", [
    ("import futurist", "futurist.ThreadPoolExecutor",
     "futurist.ThreadPoolExecutor"),
    ("import futurist as fu", "fu.ThreadPoolExecutor",
     "futurist.ThreadPoolExecutor"),
    ("from futurist import ThreadPoolExecutor as TPE", "TPE",
     "futurist.ThreadPoolExecutor"),
    ("from concurrent import futures", "futures.wait",
     "concurrent.futures.wait"),
    ("import concurrent.futures", "concurrent.futures.ThreadPoolExecutor",
     "concurrent.futures.ThreadPoolExecutor"),
    ("import concurrent.futures as cf", "cf.as_completed",
     "concurrent.futures.as_completed"),
    ("from eventlet import greenpool", "greenpool.GreenPool",
     "eventlet.greenpool.GreenPool"),
    ("import futurist.waiters", "futurist.waiters.wait_for_all",
     "futurist.waiters.wait_for_all"),
    ("", "TimeoutError", "builtins.TimeoutError"),
    ("", "unknown_name.attr", None),
    ("def helper():\n    pass\n", "helper", "mod.helper"),
], ids=["import", "import-as", "from-import-as", "from-package-import",
        "dotted-import", "dotted-import-as", "from-eventlet",
        "submodule-import", "builtin", "unknown", "module-level-def"])
def test_import_forms(source, expression, expected):
    assert resolve(source, expression) == expected


def test_function_local_import_counts():
    source = "def f():\n    from oslo_utils import strutils\n"
    assert resolve(source, "strutils.mask_password") == \
        "oslo_utils.strutils.mask_password"


def test_module_level_import_wins_over_local_one():
    source = ("import futurist as pool\n"
              "def f():\n    import multiprocessing as pool\n")
    assert resolve(source, "pool.ThreadPoolExecutor") == \
        "futurist.ThreadPoolExecutor"


def test_relative_imports_resolve_against_the_package(tmp_path):
    package = tmp_path / "nova" / "compute"
    package.mkdir(parents=True)
    (tmp_path / "nova" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    module = package / "manager.py"
    source = "from . import utils\nfrom .. import context as ctx\n"
    assert resolve(source, "utils.spawn", str(module)) == \
        "nova.compute.utils.spawn"
    assert resolve(source, "ctx.CELLS", str(module)) == "nova.context.CELLS"
