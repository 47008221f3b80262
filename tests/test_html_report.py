"""``--format html``: one self-contained page, rendered by headless Chromium.

Chromium comes from the system: ``.ci/run`` installs Debian's ``chromium``
package (the test itself never installs anything). The page is loaded from
a file with networking disabled and the DOM Chromium built is checked
against the seed fixture's ``# expect`` markers.
"""

from __future__ import annotations

import collections
import html.parser
import os
import re
import shutil
import subprocess
import sys

import pytest

from nova_secaudit.rules import ALL_RULES, RULES_BY_CODE
from support import FIXTURES, parse_markers

pytestmark = pytest.mark.slow
SEED = FIXTURES / "nova_context_seed.py"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND")


def find_browser() -> str | None:
    return next(filter(None, map(shutil.which, BROWSERS)), None)


@pytest.fixture(scope="session")
def chromium():
    browser = find_browser()
    if browser is None:
        # Tests install nothing; .ci/run installs Debian's chromium and
        # sets NOVA_SECAUDIT_REQUIRE_BROWSER so that CI cannot skip this.
        if os.environ.get("NOVA_SECAUDIT_REQUIRE_BROWSER"):
            pytest.fail("no chromium on PATH (.ci/run installs it)")
        pytest.skip("no chromium on PATH (.ci/run installs it)")
    return browser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    (root / "nova_context_seed.py").write_bytes(SEED.read_bytes())
    codes = ",".join(rule.code for rule in ALL_RULES if rule.default_enabled)
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         f"--select={codes}", "--format", "html", "--output", "report.html",
         "nova_context_seed.py"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    return root / "report.html"


def expected_findings() -> set[tuple[int, str]]:
    return {(line, code) for line, _, code in
            parse_markers(SEED.read_text()) if code in RULES_BY_CODE
            and RULES_BY_CODE[code].default_enabled}


class _Page(html.parser.HTMLParser):
    """Text of each finding section, and every resource reference."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict[str, str]] = {}
        self.references: list[tuple[str, str, str]] = []
        self.tags = collections.Counter()
        self._stack: list[tuple[str, str]] = []
        self._section = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        for name in ("src", "href", "srcset", "data", "poster", "action"):
            if attrs.get(name):
                self.references.append((tag, name, attrs[name]))
        if tag == "section" and "finding" in (attrs.get("class") or ""):
            self._section = attrs["id"]
            self.sections[self._section] = collections.defaultdict(str)
        self._stack.append((tag, attrs.get("class") or ""))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section is None:
            return
        parts = self.sections[self._section]
        parts["all"] += data
        for tag, css in self._stack:
            parts[tag] += data
            for name in css.split():
                parts["." + name] += data


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_page_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    page = parse(text)
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert not page.tags[tag], f"<{tag}> in a self-contained page"
    for tag, name, value in page.references:
        assert tag == "a" and name == "href", (tag, name, value)
        assert value.startswith(("#", "https://cwe.mitre.org/")), value
    assert "url(" not in text and "@import" not in text


def test_chromium_renders_the_seed_findings(report, chromium, tmp_path):
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'ud'}",
         "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # Chromium's parser inserts <tbody>: this is the browser's DOM.
    assert "<tbody>" in dom and "<tbody>" not in report.read_text()
    page = parse(dom)
    shown = set()
    for section in page.sections.values():
        head = " ".join(section["h3"].split())
        path, line, _col_code = head.split(":", 2)
        code = section[".code"]
        shown.add((int(line), code))
        rule = RULES_BY_CODE[code]
        assert path == "nova_context_seed.py"
        source_line = SEED.read_text().splitlines()[int(line) - 1]
        assert source_line.strip() in section[".hit"], head
        for number in rule.cwe:
            assert f"CWE-{number}" in section[".cwe"], head
        # Rule text as the docs show it: ``x`` is code, not backticks.
        why = rule.doc_sections()["Why this is bad"].replace("``", "")
        assert why[:60] in " ".join(section["details"].split()), head
    assert shown == expected_findings()
    per_rule = collections.Counter(code for _, code in expected_findings())
    for code, count in per_rule.items():
        assert f"<td>{code}</td><td>{RULES_BY_CODE[code].symbol}</td>" in dom
    total = sum(per_rule.values())
    assert f"{total} findings in 1 file." in dom


def test_proposed_diffs_for_fixable_findings(report):
    pytest.importorskip("libcst")
    from nova_secaudit.codemods import FIXABLE_CODES

    page = parse(report.read_text(encoding="utf-8"))
    with_diff = 0
    for section in page.sections.values():
        code = section[".code"]
        if not section[".diff"]:
            continue
        with_diff += 1
        assert code in FIXABLE_CODES, f"{code} has no codemod but a diff"
        assert "Proposed fix" in section["h4"]
        assert section[".add"] or section[".del"]
        assert "--- a/nova_context_seed.py" in section[".diff"]
    fixable = [s for s in page.sections.values()
               if s[".code"] in FIXABLE_CODES]
    # NSA101 and NSA401 fixes in the seed are plain insertions.
    assert with_diff >= min(2, len(fixable))


def test_rule_text_reads_like_the_docs(report):
    # Source and diffs (<pre>) are code as written; the prose is ours.
    text = re.sub(r"<pre.*?</pre>", "", report.read_text(encoding="utf-8"),
                  flags=re.S)
    assert "``" not in text
    for jargon in ("fix data", "block_start", "<b>Fix ("):
        assert jargon not in text, jargon
    # NSA202's explanation names code as code, and the fix says how safe.
    assert "<code>if not CELLS: CELLS = load()</code>" in text
    assert "<b>Fix:</b> Safe codemod." in text


def test_file_names_link_to_their_findings(tmp_path):
    (tmp_path / "a.py").write_text(
        "import futurist\n\nfuturist.ThreadPoolExecutor()\n")
    (tmp_path / "b.py").write_text(
        "import futurist\n\n\ndef f():\n    futurist.ThreadPoolExecutor()"
        "\n    futurist.ThreadPoolExecutor()\n")
    done = subprocess.run(
        [sys.executable, "-m", "nova_secaudit.cli", "check", "--no-cache",
         "--no-fixes", "--format", "html", "a.py", "b.py"],
        cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    page = parse(done.stdout)
    links = [value for tag, name, value in page.references
             if value.startswith("#finding-")]
    assert links == ["#finding-1", "#finding-2"]
    heads = {anchor: " ".join(section["h3"].split())
             for anchor, section in page.sections.items()}
    assert heads["finding-1"].startswith("a.py:3:")
    assert heads["finding-2"].startswith("b.py:5:")
    assert heads["finding-3"].startswith("b.py:6:")
    assert '<a href="#finding-2">b.py</a>' in done.stdout
