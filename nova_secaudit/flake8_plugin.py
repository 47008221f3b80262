"""flake8 front end: ``NSA`` codes from the shared engine.

flake8 hands us the parsed tree (no second parse) and applies ``# noqa``,
``--select`` and ``--ignore`` itself; NSA102 is opt-in through
``extend_default_ignore``. flake8 drops that default ignore as soon as
``--select NSA`` or any ``--ignore`` is given, so the plugin itself runs an
opt-in rule only when its full code is selected, as the CLI does.
"""

from __future__ import annotations

import sys

from nova_secaudit import __version__
from nova_secaudit.engine import check
from nova_secaudit.options import SHARED_OPTIONS, apply_options, option_name
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.settings import (
    ConfigError, Settings, check_codes, load_settings)


class NovaSecAuditPlugin:
    name = "nova-secaudit"
    version = __version__
    settings = Settings()
    # Opt-in codes named in full by flake8's select / extend-select.
    opted_in: frozenset[str] = frozenset()

    def __init__(self, tree, filename="<unknown>", lines=None):
        self.tree = tree
        self.filename = filename
        # The text lets rules with a trigger skip the module cheaply.
        self.source = "".join(lines) if lines is not None else None

    @classmethod
    def add_options(cls, parser) -> None:
        for field, is_list, help_text in SHARED_OPTIONS:
            parser.add_option(f"--{option_name(field)}", default=None,
                              parse_from_config=True,
                              comma_separated_list=is_list, help=help_text)
        parser.extend_default_ignore(
            [rule.code for rule in ALL_RULES if not rule.default_enabled])

    @classmethod
    def parse_options(cls, options) -> None:
        values = {field: getattr(options, option_name(field).replace(
            "-", "_"), None) for field, _, _ in SHARED_OPTIONS}
        named = {*(getattr(options, "select", None) or ()),
                 *(getattr(options, "extend_select", None) or ())}
        try:
            cls.settings = apply_options(load_settings("."), values)
            check_codes(sorted(c for c in named if c.startswith("NSA")),
                        "flake8 select")
        except ConfigError as exc:
            # One line and exit 2, as the CLI (SystemExit(text) exits 1).
            print(f"nova-secaudit: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        cls.opted_in = frozenset(rule.code for rule in ALL_RULES
                                 if rule.code in named)

    def run(self):
        # flake8 selects codes itself; our own section's select, ignore and
        # per-file-ignores apply on top, and opt-in rules need their code.
        rules = [rule(self.settings) for rule in ALL_RULES
                 if self.settings.is_enabled(rule.code, True, self.filename)
                 and (rule.default_enabled or rule.code in self.opted_in
                      or self.settings.is_enabled(rule.code, False))]
        for found in check(self.tree, self.filename, self.settings, rules,
                           source=self.source):
            yield (found.line, found.col, f"{found.code} {found.message}",
                   type(self))
