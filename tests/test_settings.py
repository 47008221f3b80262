"""Configuration files: where they are found, what they mean, and one clear
error naming the key for anything unknown or malformed."""

from __future__ import annotations

import pytest

from nova_secaudit.settings import (
    ConfigError, Settings, find_config, load_settings, settings_from_mapping)


def test_pyproject_section_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nova-secaudit]\nselect = ["NSA1"]\nmax-workers = 16\n'
        'per-file-ignores = { "nova/tests/*" = ["NSA101"] }\n')
    settings = load_settings(tmp_path)
    assert settings.select == ("NSA1",)
    assert settings.max_workers == 16
    assert not settings.is_enabled("NSA101", path="nova/tests/unit/x.py")
    assert settings.is_enabled("NSA101", path="nova/compute/x.py")
    assert not settings.is_enabled("NSA401", path="nova/compute/x.py")


def test_tox_ini_section_found_from_a_subdirectory(tmp_path):
    (tmp_path / "tox.ini").write_text(
        "[flake8]\nmax-line-length = 79\n\n[nova-secaudit]\n"
        "ignore = NSA4\nper-file-ignores =\n    nova/tests/*:NSA101\n"
        "    nova/cmd/*:NSA1,NSA401\ninit-functions = main, setup\n")
    (tmp_path / "nova" / "compute").mkdir(parents=True)
    settings = load_settings(tmp_path / "nova" / "compute")
    assert settings.ignore == ("NSA4",)
    assert settings.init_functions == ("main", "setup")
    assert settings.per_file_ignores == (
        ("nova/tests/*", ("NSA101",)), ("nova/cmd/*", ("NSA1", "NSA401")))


def test_pyproject_without_section_falls_through_to_setup_cfg(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.black]\nline-length = 79\n")
    (tmp_path / "setup.cfg").write_text("[nova-secaudit]\nmax_workers = 4\n")
    path, _ = find_config(tmp_path)
    assert path.name == "setup.cfg"
    assert load_settings(tmp_path).max_workers == 4


def test_no_config_gives_defaults(tmp_path):
    assert load_settings(tmp_path) == Settings()


def test_explicit_config_file(tmp_path):
    config = tmp_path / "audit.ini"
    config.write_text("[nova-secaudit]\nlock-names = GATE, cells_guard\n")
    assert load_settings(tmp_path, config).lock_names == (
        "GATE", "cells_guard")
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path, tmp_path / "missing.ini")


@pytest.mark.parametrize("mapping,message", [
    ({"max-wrokers": 8}, "cfg: max-wrokers: unknown key"),
    ({"max-workers": "many"}, "cfg: max-workers: bad value 'many'"),
    ({"max_workers": 0}, "cfg: max_workers: bad value 0"),
    ({"select": ["E501"]}, "cfg: select: 'E501' is not an NSA code prefix"),
    ({"executor-factories": ["create_executor"]},
     "executor-factories: 'create_executor': expected a qualified name"),
    ({"executor-factories": "nova.utils.create_executor:max workers"},
     "the bound after ':' must be a keyword name or a position"),
    ({"lock-names": ["cells lock"]},
     "lock-names: 'cells lock' is not a (dotted) Python name"),
    ({"masker": ["a", "b"]}, "cfg: masker: bad value"),
    ({"per-file-ignores": "nova/tests/*"}, "cfg: per-file-ignores: bad value"),
], ids=["unknown-key", "int-not-a-number", "int-not-positive",
        "select-non-nsa", "factory-not-qualified", "factory-bad-bound",
        "lock-name-with-space", "masker-not-text", "per-file-no-codes"])
def test_bad_config_names_the_key(mapping, message):
    with pytest.raises(ConfigError) as error:
        settings_from_mapping(mapping, "cfg")
    assert message in str(error.value)


def test_unknown_key_in_a_file_names_file_and_key(tmp_path):
    (tmp_path / "setup.cfg").write_text("[nova-secaudit]\nselct = NSA1\n")
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'setup.cfg'}: selct: "
                                       "unknown key (known: select,")


def test_broken_toml_is_a_config_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.nova-secaudit\n")
    with pytest.raises(ConfigError, match="pyproject.toml"):
        load_settings(tmp_path)


def test_factory_spec_forms_are_accepted():
    settings = settings_from_mapping({"executor-factories": [
        "nova.utils.create_executor", "nova.utils.spawn_pool:size",
        "nova.utils.pool:1"]}, "cfg")
    assert len(settings.executor_factories) == 3


def test_cache_key_changes_with_any_field():
    base = Settings()
    assert base.cache_key() == Settings().cache_key()
    for change in ({"max_workers": 9}, {"lock_names": ("GATE",)},
                   {"exclude": ("nova/tests",)}, {"ignore": ("NSA4",)}):
        assert base.replace(**change).cache_key() != base.cache_key()


def test_exclude_is_honoured_by_the_cli(tmp_path):
    import subprocess
    import sys

    (tmp_path / "pkg" / "tests").mkdir(parents=True)
    bad = "import futurist\nfuturist.ThreadPoolExecutor()\n"
    (tmp_path / "pkg" / "a.py").write_text(bad)
    (tmp_path / "pkg" / "tests" / "b.py").write_text(bad)
    (tmp_path / "setup.cfg").write_text("[nova-secaudit]\nexclude = tests\n")
    done = subprocess.run([sys.executable, "-m", "nova_secaudit.cli",
                           "check", "--no-cache", "pkg"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "a.py" in done.stdout and "b.py" not in done.stdout


@pytest.mark.parametrize("name,text,section", [
    ("setup.cfg", "[nova_secaudit]\nselect = NSA1\n", "[nova_secaudit]"),
    ("tox.ini", "[NovaSecAudit]\nselect = NSA1\n", "[NovaSecAudit]"),
    ("tox.ini", "[nova-secuadit]\nselect = NSA1\n", "[nova-secuadit]"),
    ("pyproject.toml", '[tool.nova_secaudit]\nselect = ["NSA1"]\n',
     "[tool.nova_secaudit]"),
], ids=["underscore-cfg", "camel-ini", "transposed-ini", "underscore-toml"])
def test_misspelt_section_is_an_error_not_ignored(tmp_path, name, text,
                                                  section):
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path)
    assert str(error.value) == (
        f"{tmp_path / name}: section {section} is not read; did you mean "
        f"[{'tool.' if name.endswith('toml') else ''}nova-secaudit]?")


def test_other_tools_sections_are_not_mistaken_for_ours(tmp_path):
    (tmp_path / "tox.ini").write_text(
        "[flake8]\nmax-line-length = 79\n[testenv:nova-secaudit]\n"
        "commands = nova-secaudit check\n[secaudit]\nx = 1\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.black]\nline-length = 79\n[tool.nova]\nx = 1\n')
    assert load_settings(tmp_path) == Settings()


@pytest.mark.parametrize("value", ["true", "2.5", '"8"'])
def test_max_workers_must_be_a_whole_number_in_toml(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.nova-secaudit]\nmax-workers = {value}\n")
    if value == '"8"':  # text that is a number is fine
        assert load_settings(tmp_path).max_workers == 8
        return
    with pytest.raises(ConfigError, match="max-workers: bad value .*"
                       "expected a whole number"):
        load_settings(tmp_path)


@pytest.mark.parametrize("key", ["select", "ignore"])
def test_config_code_that_matches_no_rule(tmp_path, key):
    (tmp_path / "setup.cfg").write_text(f"[nova-secaudit]\n{key} = NSA999\n")
    with pytest.raises(ConfigError, match=f"setup.cfg: {key}: 'NSA999' "
                       "matches no rule"):
        load_settings(tmp_path)


def test_opt_in_rule_is_enabled_only_by_its_full_code():
    assert not Settings().is_enabled("NSA102", default_enabled=False)
    for prefix in ("NSA", "NSA1", "NSA10"):
        assert not Settings(select=(prefix,)).is_enabled("NSA102", False)
        assert Settings(select=(prefix,)).is_enabled("NSA101", True)
    assert Settings(select=("NSA102",)).is_enabled("NSA102", False)
    assert not Settings(select=("NSA102",), ignore=("NSA102",)).is_enabled(
        "NSA102", False)
