"""One Settings object for every front end, and the config-file loader.

Configuration lives in ``[tool.nova-secaudit]`` of pyproject.toml or in a
``[nova-secaudit]`` section of setup.cfg / tox.ini. flake8 and pylint options
map onto the same fields (see the plugins), so the three front ends agree.
"""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import fnmatch
import keyword
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names the key."""


DEFAULT_MASKER = "oslo_utils.strutils.mask_password"


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one run.

    ``select`` / ``ignore`` take code prefixes as flake8 does: the longer
    matching prefix wins. An opt-in rule (``default_enabled = False``) runs
    only when a ``select`` entry matches it, as with flake8's
    ``extend-default-ignore``.
    """

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_workers: int = 8
    max_backlog: int = 64
    # "pkg.mod.factory" or "pkg.mod.factory:<keyword or position>".
    executor_factories: tuple[str, ...] = ()
    lock_names: tuple[str, ...] = ()
    synchronized_decorators: tuple[str, ...] = ()
    sensitive_names: tuple[str, ...] = ()
    init_functions: tuple[str, ...] = ()
    masker: str = DEFAULT_MASKER
    url_masker: str = ""
    # Extra file/directory name patterns the CLI skips (beyond the defaults).
    exclude: tuple[str, ...] = ()

    def is_enabled(self, code: str, default_enabled: bool = True,
                   path: str = "") -> bool:
        selected = _longest_prefix(code, self.select)
        if selected == 0 and self.select:
            return False
        if not default_enabled and selected != len(code):
            return False  # opt-in: only its full code turns it on
        if _longest_prefix(code, self.ignore) >= max(selected, 1):
            return False
        return not (path and _longest_prefix(code, self.ignored_in(path)))

    def ignored_in(self, path: str) -> tuple[str, ...]:
        """The code prefixes ``per_file_ignores`` turns off for ``path``."""
        if not self.per_file_ignores:
            return ()
        posix = Path(path).as_posix()
        return tuple(code for pattern, codes in self.per_file_ignores
                     if _path_matches(posix, pattern) for code in codes)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def cache_key(self) -> str:
        """A stable text form of every field, for result caches."""
        return repr(dataclasses.astuple(self))


def _longest_prefix(code: str, prefixes: tuple[str, ...]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=0)


def _path_matches(posix_path: str, pattern: str) -> bool:
    return fnmatch.fnmatch(posix_path, pattern) or \
        fnmatch.fnmatch(posix_path, "*/" + pattern.lstrip("./"))


# Config keys (dash or underscore spelling) and how to read their values.
_LIST_KEYS = ("select", "ignore", "executor_factories", "lock_names",
              "synchronized_decorators", "sensitive_names", "init_functions",
              "exclude")
_INT_KEYS = ("max_workers", "max_backlog")
_STR_KEYS = ("masker", "url_masker")
KNOWN_KEYS = _LIST_KEYS + _INT_KEYS + _STR_KEYS + ("per_file_ignores",)


def split_list(value) -> tuple[str, ...]:
    """Comma/newline separated text or a list -> tuple of stripped items."""
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, (list, tuple)):
        raise TypeError("expected a list or comma-separated text")
    return tuple(str(item).strip() for item in value if str(item).strip())


def parse_per_file_ignores(value
                           ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """flake8 syntax ``pattern:CODE,CODE`` (text) or a {pattern: codes}
    table."""
    if isinstance(value, dict):
        return tuple((pattern, split_list(codes))
                     for pattern, codes in value.items())
    pairs = []
    for entry in str(value).replace("\n", " ").split():
        if ":" not in entry:
            if pairs:  # continuation of the previous pattern's codes
                pattern, codes = pairs[-1]
                pairs[-1] = (pattern, codes + split_list(entry))
                continue
            raise ValueError(f"{entry!r} is not pattern:CODES")
        pattern, _, codes = entry.partition(":")
        pairs.append((pattern, split_list(codes)))
    return tuple(pairs)


def settings_from_mapping(mapping: dict, source: str,
                          base: Settings | None = None) -> Settings:
    """Validate ``mapping`` (from a config file or options) into Settings."""
    changes = {}
    for raw_key, value in mapping.items():
        key = raw_key.replace("-", "_")
        where = f"{source}: {raw_key}"
        try:
            if key in _LIST_KEYS:
                changes[key] = split_list(value)
            elif key in _INT_KEYS:
                number = _whole_number(value)
                if number < 1:
                    raise ValueError("must be a positive whole number")
                changes[key] = number
            elif key in _STR_KEYS:
                if not isinstance(value, str):
                    raise TypeError("expected text")
                changes[key] = value.strip()
            elif key == "per_file_ignores":
                changes[key] = parse_per_file_ignores(value)
            else:
                known = ", ".join(k.replace("_", "-") for k in KNOWN_KEYS)
                raise ConfigError(f"{where}: unknown key (known: {known})")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{where}: bad value {value!r}: {exc}") from None
    for spec in changes.get("executor_factories", ()):
        _check_factory_spec(spec, f"{source}: executor-factories")
    for key in ("lock_names", "synchronized_decorators", "sensitive_names",
                "init_functions"):
        for name in changes.get(key, ()):
            if not _DOTTED.fullmatch(name):
                raise ConfigError(f"{source}: {key.replace('_', '-')}: "
                                  f"{name!r} is not a (dotted) Python name")
    for key in _STR_KEYS:
        problem = changes.get(key) and function_name_problem(changes[key])
        if problem:
            raise ConfigError(f"{source}: {key.replace('_', '-')}: "
                              f"{changes[key]!r} {problem}")
    for key in ("select", "ignore"):
        check_codes(changes.get(key, ()), f"{source}: {key}")
    return (base or Settings()).replace(**changes)


def _whole_number(value) -> int:
    # int() would take True as 1 and 2.5 as 2: a typo must not pass.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError("expected a whole number")


def check_codes(codes, where: str) -> None:
    """Every code prefix must name at least one rule, so a typo such as
    ``NSA999`` is an error rather than a run that checks nothing."""
    from nova_secaudit.rules import ALL_RULES

    for code in codes:
        if not code.startswith("NSA"):
            raise ConfigError(f"{where}: {code!r} is not an NSA code prefix")
        if not any(rule.code.startswith(code) for rule in ALL_RULES):
            raise ConfigError(f"{where}: {code!r} matches no rule (see "
                              "'nova-secaudit rules')")


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def function_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be written into fixed code as a function to
    import (None when it is ``pkg.module.function``: two or more parts,
    each an identifier and not a keyword). The masker options become code,
    so anything else is refused rather than quoted."""
    parts = name.split(".")
    if len(parts) < 2:
        return "is not a qualified name like pkg.module.function"
    for part in parts:
        if not part.isidentifier() or keyword.iskeyword(part):
            return ("is not a dotted name (each part an identifier, not a "
                    "keyword), like pkg.module.function")
    return None


def _check_factory_spec(spec: str, where: str) -> None:
    """``pkg.mod.func`` or ``pkg.mod.func:<keyword or position>``."""
    name, colon, bound = spec.partition(":")
    if "." not in name or not _DOTTED.fullmatch(name):
        raise ConfigError(f"{where}: {spec!r}: expected a qualified name "
                          "like pkg.mod.func")
    if colon and not (bound.isdigit() or bound.isidentifier()):
        raise ConfigError(f"{where}: {spec!r}: the bound after ':' must be "
                          "a keyword name or a position")


# Our section: [tool.nova-secaudit] in pyproject.toml, else [nova-secaudit].
SECTION = "nova-secaudit"


def _read_pyproject(path: Path) -> dict | None:
    with path.open("rb") as stream:
        try:
            data = tomllib.load(stream)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    tools = data.get("tool", {})
    if not isinstance(tools, dict):
        return None
    _refuse_misspelt(path, tools, "tool.")
    return tools.get(SECTION)


def _read_ini(path: Path) -> dict | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc.message.splitlines()[0]}") from None
    _refuse_misspelt(path, parser.sections(), "")
    if not parser.has_section(SECTION):
        return None
    return dict(parser.items(SECTION))


def _refuse_misspelt(path: Path, names, prefix: str) -> None:
    """A section meant for us but spelt otherwise (``nova_secaudit``,
    ``NovaSecAudit``, ``nova-secuadit``) would be ignored without a word."""
    wanted = _letters(SECTION)
    for name in names:
        if name == SECTION or not isinstance(name, str):
            continue
        letters = _letters(name)
        if letters == wanted or difflib.SequenceMatcher(
                None, letters, wanted).ratio() >= 0.85:
            raise ConfigError(f"{path}: section [{prefix}{name}] is not "
                              f"read; did you mean [{prefix}{SECTION}]?")


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


CONFIG_FILES = (("pyproject.toml", _read_pyproject),
                ("setup.cfg", _read_ini),
                ("tox.ini", _read_ini))


def find_config(start: str | os.PathLike) -> tuple[Path, dict] | None:
    """The nearest config section at or above ``start``, if any."""
    directory = Path(start).resolve()
    if directory.is_file():
        directory = directory.parent
    for folder in (directory, *directory.parents):
        for name, reader in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file():
                section = reader(candidate)
                if section is not None:
                    return candidate, section
    return None


def load_settings(start: str | os.PathLike = ".",
                  config_file: str | os.PathLike | None = None) -> Settings:
    """Settings from ``config_file`` or the nearest config at/above start."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        reader = _read_pyproject if path.suffix == ".toml" else _read_ini
        section = reader(path) or {}
        return settings_from_mapping(section, str(path))
    found = find_config(start)
    if found is None:
        return Settings()
    path, section = found
    return settings_from_mapping(section, str(path))
