"""NSA302 / NSA502: mask exception text and secrets before they are logged.

``strutils.mask_password`` (the default masker) masks ``password=...``
pairs but returns ``rabbit://nova:s3cr3t@mq1/`` unchanged, so:

- NSA502 on a URL-valued secret (``transport_url``, ``*_connection``,
  ``*_url``; the rule's fix data ``url``): the value goes through the
  URL-credential masker;
- NSA502 on any other secret: the configured masker;
- NSA302 (raw exception text logged in a handler that re-raises): the text
  of a driver error may carry a DB or MQ URL, so it goes through both,
  ``strutils.mask_password(_mask_url_credentials(e))``. Log calls that only
  pass ``exc_info``/``.exception()`` get no edit (a hint: log the traceback
  once, where the exception is handled).

The URL-credential masker is ``url_masker`` from the configuration
(``pkg.module.function``; Nova has ``nova.cmd.manage.mask_passwd_in_url``
for bare URLs) or, by default, a private helper added once per module. It
uses ``re`` rather than ``urllib.parse`` because exception text holds a URL
inside prose, which ``urlsplit`` cannot take apart.

Run under libcst's runner::

    python -m libcst.tool codemod -x \\
        nova_secaudit.codemods.secrets.MaskSecrets PATH
"""

from __future__ import annotations

import argparse
import ast
import os

import libcst as cst

from nova_secaudit.analysis.masking import SHARED_URL_HELPER, \
    text_source, url_helper_home
from nova_secaudit.codemods.base import FindingCodemod, add_common_args
from nova_secaudit.codemods.imports import ImportIndex, add_import, \
    imports_end, insert_after
from nova_secaudit.codemods.layout import MAX_LINE, fits_in_statement, \
    relayout_call
from nova_secaudit.fixing import function_name

URL_HELPER = "_mask_url_credentials"
URL_HELPER_CODE = '''\
def {name}(value):
    """Text of ``value`` with the password of every URL in it masked."""
    return re.sub(r'(://[^:/@\\s]*:)[^\\s/]*@', r'\\1***@', str(value))
'''
# OpenStack projects are Apache-2.0 and hacking's H102 wants the header.
NEW_HELPER_MODULE = '''\
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Helpers that mask credentials in text.

Nothing of the project is imported here, so any module can use them
without an import cycle.
"""

import re
'''


def _raw_parts(text: str) -> list[tuple[int, int, int, int]]:
    parts = []
    for part in filter(None, text.split(";")):
        line, col, end_line, end_col = map(int, part.split(":"))
        parts.append((line, col, end_line, end_col))
    return parts


# Logged values a string masker cannot stand in for.
_CONTAINERS = (cst.Dict, cst.DictComp, cst.List, cst.ListComp, cst.Set,
               cst.SetComp, cst.Tuple)


class MaskSecrets(FindingCodemod):
    """NSA302/NSA502: wrap raw exception text and secrets in maskers."""

    DESCRIPTION = "NSA302/NSA502: mask exception text and secrets in logs"
    CODES = ("NSA302", "NSA502")

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        add_common_args(arg_parser)
        arg_parser.add_argument(
            "--masker", default=None, type=function_name,
            help="masker function, pkg.module.function (default "
                 "oslo_utils.strutils.mask_password)")
        arg_parser.add_argument(
            "--url-masker", default=None, type=function_name,
            help="URL-credential masker, pkg.module.function (default: a "
                 "private helper added once per module)")

    @classmethod
    def fixable(cls, found):
        args = found.fix_args
        if found.code == "NSA302" and args.get("exc_info"):
            return ("the traceback is logged (.exception()/exc_info=True): "
                    "log it once, where the exception is finally handled")
        if found.code == "NSA302" and "raw_args" not in args and \
                "arg_line" not in args:
            return "the rule gave no position of the raw text"
        return super().fixable(found)

    def prepare(self, tree: cst.Module) -> None:
        self.imports = ImportIndex(tree, self.project())
        self.module_names = {stmt.name.value for stmt in tree.body
                             if isinstance(stmt, (cst.FunctionDef,
                                                  cst.ClassDef))}
        self.needed_imports: list[str] = []
        self.needs_helper = ""  # name of the helper to define here
        self.helper_home: str | None = None  # file to hold the helper
        # Expression positions (character based) -> ([targets], kind):
        # two log calls of one ``msg`` share the masking of its binding.
        self.wanted: dict[tuple, tuple] = {}
        module = None
        for target in self.targets.all:
            if target.code == "NSA502":
                kind = "url" if target.args.get("url") else "secret"
                self.wanted[(target.start, target.end)] = ([target], kind)
                continue
            if module is None:
                module = self.text_tree or ast.parse(self.text)
            parts = self._exception_parts(target, module)
            for key in parts or ():
                self.wanted.setdefault(key, ([], "exception"))[0].append(
                    target)
        self._parts_left = {}
        for targets, _ in self.wanted.values():
            for target in targets:
                self._parts_left[target] = \
                    self._parts_left.get(target, 0) + 1
        self._grown: list[tuple[int, int]] = []
        self._grown_targets: dict[tuple[int, int], object] = {}
        self._arg_values: set[int] = set()
        self._undone = False

    def _exception_parts(self, target, module: ast.Module):
        """Character positions to mask for an NSA302 target: each raw
        text, or the value a handler's local name got it from, so the log
        and every other sink of that name (a raised message) are masked
        together. None (and the target skipped) when the name reaches
        another sink and has no one binding to mask instead."""
        raw = target.args.get("raw_args") or ":".join(
            target.args[k] for k in ("arg_line", "arg_col",
                                     "arg_end_line", "arg_end_col"))
        keys = []
        for part in _raw_parts(raw):
            found = text_source(module, part)
            if found and found[0] == "sinks":
                lines = ", ".join(map(str, found[1]))
                self.skip(target, f"the same text is also used unmasked "
                                  f"on line {lines}; mask it where it is "
                                  f"built")
                return None
            if found:
                value = found[1]
                part = (value.lineno, value.col_offset, value.end_lineno,
                        value.end_col_offset)
            keys.append((self.targets._char_pos(part[0], part[1]),
                         self.targets._char_pos(part[2], part[3])))
        return keys

    # -- the maskers' names, importing them when needed -------------------
    def _callable(self, qualified: str) -> str:
        if "." not in qualified:
            return qualified
        module, _, func = qualified.rpartition(".")
        from nova_secaudit.analysis import module_location

        if module == module_location(self.context.filename or "")[0]:
            return func
        local = self.imports.local_name(qualified)
        if local:
            return local
        parent, _, leaf = module.rpartition(".")
        line = f"from {parent} import {leaf}" if parent else \
            f"import {module}"
        if line not in self.needed_imports:
            self.needed_imports.append(line)
        return f"{leaf}.{func}" if parent else qualified

    def masker(self) -> str:
        return self._callable(self.settings.masker)

    def url_masker(self) -> str:
        if self.settings.url_masker:
            return self._callable(self.settings.url_masker)
        filename = self.context.filename or ""
        home = url_helper_home(filename) \
            if self.options.get("shared_helper") else None
        if home is not None and \
                os.path.abspath(filename) != os.path.abspath(home[0]):
            # ``fix`` adds the helper to its home once, after the run.
            self.helper_home = home[0]
            return self._callable(f"{home[1]}.{SHARED_URL_HELPER}")
        # The home itself, or one module alone (libcst's runner, a file
        # outside a package): the helper is defined right here.
        name = URL_HELPER if home is None else SHARED_URL_HELPER
        if name not in self.module_names:
            self.needs_helper = name
        return name

    def edit_starts(self):
        return (start for start, _ in self.wanted)

    # -- wrapping ----------------------------------------------------------
    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if not isinstance(original, cst.BaseExpression) or not self.wanted:
            return result
        key = (self.start_of(original), self.end_of(original))
        found = self.wanted.pop(key, None)
        if found is None:
            return result
        targets, kind = found
        if kind != "exception" and (
                isinstance(original, _CONTAINERS) or
                (id(original) in self._arg_values and
                 self._formats_by_name(key))):
            # A string masker returns text: a mapping that the log format
            # reads by name (``%(credentials)s``) would become a string
            # and the log call would fail; Nova's tests make that an error.
            for target in targets:
                self._parts_left[target] = -1  # never applied
                self.skip(target, "a container or a mapping formatted by "
                                  "name is logged: mask its secret "
                                  "values by hand (strutils."
                                  "mask_dict_password for a dict)")
            return result
        if kind == "url":
            text = f"{self.url_masker()}(__value__)"
        elif kind == "secret":
            text = f"{self.masker()}(__value__)"
        elif self.settings.url_masker and not _is_str_call(original):
            # A configured URL masker may take text only (Nova's
            # mask_passwd_in_url parses its argument as one URL).
            text = f"{self.masker()}({self.url_masker()}(str(__value__)))"
        else:
            text = f"{self.masker()}({self.url_masker()}(__value__))"
        wrapped = cst.parse_expression(text)
        wrapped = _replace_placeholder(wrapped, _bare(result))
        if id(original) not in self._arg_values:
            # Not a call argument the enclosing call can re-fill (a dict
            # value, a % operand): break inside the masker instead.
            start, end = key
            prefix = self.original_line(start[0])[:start[1]]
            suffix = self.original_line(end[0])[end[1]:]
            wrapped = relayout_call(
                wrapped, prefix, suffix, self.indent_of_line(start[0]),
                stmt_indent=self.statement_indent())
            if not fits_in_statement(prefix, wrapped, suffix,
                                     self.statement_indent()) and \
                    len(max(self.targets.lines[start[0] - 1:end[0]],
                            key=len)) <= MAX_LINE:
                for target in targets:
                    self._parts_left[target] = -1  # never applied
                    self.skip(target, "the masked value would pass 79 "
                                      "columns here; mask it by hand")
                return result
        self._grown.append(self.start_of(original))
        self._grown_targets[self.start_of(original)] = targets
        for target in targets:
            self._parts_left[target] -= 1
            if not self._parts_left[target]:
                self.applied(target)
        return wrapped

    def _formats_by_name(self, key) -> bool:
        """Whether the statement around the value, up to its end, formats
        with ``%(name)s``: its argument is then a mapping, and a string
        masker in its place breaks the call."""
        first = self._statements[-1] if self._statements else key[0][0]
        return any("%(" in self.original_line(n)
                   for n in range(first, key[1][0] + 1))

    def visit_Arg(self, node: cst.Arg) -> None:
        self._arg_values.add(id(node.value))

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        if not self._grown:
            return updated
        start, end = self.start_of(original), self.end_of(original)
        inside = [p for p in self._grown if start < p < end]
        if not inside:
            return updated
        self._grown = [p for p in self._grown if p not in inside]
        new = self.relayout(original, updated)
        start_line, end_line = start[0], end[0]
        first = self.original_line(start_line)
        last = self.original_line(end_line)
        was_long = max(len(self.original_line(n))
                       for n in range(start_line, end_line + 1)) > MAX_LINE
        if was_long or self.fits_unchanged(first[:start[1]], new,
                                           last[end[1]:], start_line,
                                           end_line):
            return new
        return self._undo(original, inside, "the masked call would pass 79 "
                                            "columns; mask it by hand")

    def _undo(self, original, inside, reason: str):
        """Leave the call as it was and report its targets skipped."""
        self._undone = True
        for position in inside:
            for target in self._grown_targets[position]:
                if target in self._handled and self.fixed[target.code]:
                    self.fixed[target.code] -= 1
                    self._handled.discard(target)
                self._parts_left[target] = -1
                self.skip(target, reason)
        return original

    def fits_unchanged(self, prefix, call, suffix, first_line, last_line):
        from nova_secaudit.codemods.layout import _fits_relative

        unchanged = frozenset(self.original_line(n).strip()
                              for n in range(first_line, last_line + 1))
        return _fits_relative(prefix, call, suffix,
                              self.statement_indent(), MAX_LINE, unchanged)

    def finish(self, tree: cst.Module) -> cst.Module:
        for targets, _ in self.wanted.values():
            for target in targets:
                self.skip(target, "no expression at the reported position")
        if self._undone:  # a masking was undone: is each addition used?
            code = tree.code
            if self.needs_helper and f"{self.needs_helper}(" not in code:
                self.needs_helper = ""
            if f".{SHARED_URL_HELPER}(" not in code:
                self.helper_home = None
            self.needed_imports = [
                line for line in self.needed_imports
                if line == "import re" or
                f"{line.rpartition(' ')[2]}." in code]
        if self.needs_helper:
            tree = with_url_helper(tree, self.needs_helper, self.project())
        for line in self.needed_imports:
            tree = add_import(tree, line, self.project())
        return tree


def with_url_helper(tree: cst.Module, name: str,
                    project: str) -> cst.Module:
    """``tree`` with the URL-credential helper ``name`` defined after its
    imports (and ``import re`` when missing)."""
    helper = cst.parse_statement(URL_HELPER_CODE.format(name=name))
    tree = insert_after(tree, imports_end(tree), [helper], 2)
    if ImportIndex(tree).local_name("re", module=True) is None:
        tree = add_import(tree, "import re", project)
    return tree


def shared_helper_text(text: str | None, project: str) -> str | None:
    """The text of a package's helper home with the shared helper added;
    ``text`` None for a module to create. None when it is there already
    (or the module cannot be parsed: the run reports it)."""
    tree = cst.parse_module(NEW_HELPER_MODULE if text is None else text)
    if any(isinstance(stmt, cst.FunctionDef) and
           stmt.name.value == SHARED_URL_HELPER for stmt in tree.body):
        return None
    return with_url_helper(tree, SHARED_URL_HELPER, project).code


def _is_str_call(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Call) and \
        isinstance(expr.func, cst.Name) and expr.func.value == "str"


def _bare(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` without its own outer parentheses when it is an argument
    of the masker anyway (``mask((a))`` reads worse than ``mask(a)``)."""
    if getattr(expr, "lpar", None) and len(expr.lpar) == 1 and \
            not isinstance(expr, (cst.Tuple, cst.GeneratorExp)):
        return expr.with_changes(lpar=(), rpar=())
    return expr


class _Placeholder(cst.CSTTransformer):
    def __init__(self, value):
        self.value = value

    def leave_Name(self, original, updated):
        return self.value if updated.value == "__value__" else updated


def _replace_placeholder(expr, value):
    return expr.visit(_Placeholder(value))
