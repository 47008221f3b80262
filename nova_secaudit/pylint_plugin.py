"""pylint front end: one checker per rule family, built from rules/.

Load with ``pylint --load-plugins=nova_secaudit.pylint_plugin``. Messages
are ``W6<digits>`` with the rules' kebab-case symbols; pylint applies
``# pylint: disable=`` and ``--enable``/``--disable`` itself.
"""

from __future__ import annotations

import functools
import os

from pylint.checkers import BaseRawFileChecker

from nova_secaudit.engine import check
from nova_secaudit.options import SHARED_OPTIONS, apply_options, option_name
from nova_secaudit.rules import ALL_RULES, FAMILIES
from nova_secaudit.settings import ConfigError, load_settings
from nova_secaudit.source import SourceError, parse_text

_last_module: tuple = (None, [])


def _module_findings(node, settings):
    """Engine findings for the module, computed once for all checkers."""
    global _last_module
    with node.stream() as stream:
        data = stream.read()
    key = (node.file, data)
    if _last_module[0] != key:
        try:
            text = data.decode(node.file_encoding or "utf-8")
            tree = parse_text(text, node.file or "<module>")
        except (SourceError, UnicodeDecodeError, LookupError):
            findings = []  # pylint reports unparsable files itself
        else:
            rules = [rule(settings) for rule in ALL_RULES]
            findings = check(tree, node.file or "<module>", settings, rules,
                             source=text)
        # pylint checks one module at a time per process (-j forks).
        _last_module = (key, findings)  # noqa: NSA202
    return _last_module[1]


def _messages(family) -> dict:
    msgs = {}
    for rule in family.RULES:
        options = {} if rule.default_enabled else {"default_enabled": False}
        msgs[rule.pylint_msgid()] = (
            "%s", rule.symbol, rule.summary(), options)
    return msgs


def _options() -> tuple:
    return tuple(
        (option_name(field),
         {"default": () if is_list else "", "type": "csv" if is_list
          else "string", "metavar": "<names>" if is_list else "<name>",
          "help": help_text})
        for field, is_list, help_text in SHARED_OPTIONS)


def _settings(linter, path: str):
    values = tuple((field, _hashable(getattr(
        linter.config, option_name(field).replace("-", "_"), None)))
        for field, _, _ in SHARED_OPTIONS)
    return _settings_for(os.path.dirname(os.path.abspath(path or ".")),
                         values)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=64)
def _settings_for(directory: str, values: tuple):
    """Config file + options, read once per directory (not per module)."""
    try:
        return apply_options(load_settings(directory), dict(values))
    except ConfigError as exc:
        raise SystemExit(f"nova-secaudit: error: {exc}") from None


def _make_checker(family, with_options: bool):
    digit, name, title = family.FAMILY
    codes = {rule.code: rule for rule in family.RULES}

    def process_module(self, node) -> None:
        settings = _settings(self.linter, node.file or ".")
        for found in _module_findings(node, settings):
            rule = codes.get(found.code)
            # pylint's --enable/--disable decide opt-in rules; our own
            # section's select/ignore/per-file-ignores apply on top.
            if rule is not None and settings.is_enabled(
                    rule.code, True, node.file or ""):
                self.add_message(rule.symbol, line=found.line,
                                 col_offset=found.col, args=(found.message,))

    attributes = {
        "name": f"nova-secaudit-{name}",
        "msgs": _messages(family),
        "options": _options() if with_options else (),
        "process_module": process_module,
        "__doc__": title,
    }
    return type(f"{name.capitalize()}Checker", (BaseRawFileChecker,),
                attributes)


CHECKERS = tuple(_make_checker(family, index == 0)
                 for index, family in enumerate(FAMILIES))


def register(linter) -> None:
    for checker in CHECKERS:
        linter.register_checker(checker(linter))
