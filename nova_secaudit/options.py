"""The settings every front end exposes as options, described once.

flake8 (``--nsa-<name>``, also read from its config) and pylint
(``nsa-<name>``) both build their options from this table and map the values
onto :class:`~nova_secaudit.settings.Settings` with :func:`apply_options`.
"""

from __future__ import annotations

from nova_secaudit.settings import Settings, settings_from_mapping

# (Settings field, is a list, help text)
SHARED_OPTIONS = (
    ("executor_factories", True,
     "extra executor factories, as pkg.mod.func or pkg.mod.func:<bound "
     "keyword or position>"),
    ("lock_names", True, "extra names that count as locks"),
    ("synchronized_decorators", True,
     "extra decorators that serialise a function"),
    ("sensitive_names", True, "extra names that hold secrets"),
    ("init_functions", True,
     "functions that only run at start-up (never flagged by NSA2xx)"),
    ("masker", False, "qualified name of the masking function for fixes"),
    ("max_workers", False, "worker bound the NSA101 fix writes"),
    ("max_backlog", False, "backlog bound the NSA102 fix writes"),
    ("url_masker", False, "qualified name of the URL-credential masker"),
)


def option_name(field: str) -> str:
    return "nsa-" + field.replace("_", "-")


def apply_options(base: Settings, values: dict) -> Settings:
    """Overlay option values (by Settings field) that were actually given."""
    given = {field: value for field, value in values.items()
             if value not in (None, "", [], ())}
    if not given:
        return base
    return settings_from_mapping(given, "options", base)
