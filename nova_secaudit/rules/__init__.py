"""The rule families. Each module's RULES tuple is its one registration
point; adapters, docs, the CLI and the tests all read :data:`ALL_RULES`."""

from __future__ import annotations

from nova_secaudit.rules import (
    exceptions, executors, secrets, state, timeouts)

FAMILIES = (executors, state, exceptions, timeouts, secrets)
ALL_RULES = tuple(rule for family in FAMILIES for rule in family.RULES)
RULES_BY_CODE = {rule.code: rule for rule in ALL_RULES}


def _check_registry() -> None:
    seen = set()
    for family in FAMILIES:
        digit = family.FAMILY[0]
        for rule in family.RULES:
            if rule.code[3] != digit:
                raise TypeError(f"{rule.code} registered in family {digit}")
            if rule.code in seen or rule.symbol in seen:
                raise TypeError(f"{rule.code} registered twice")
            seen.update((rule.code, rule.symbol))


_check_registry()
