"""The guarantees of ``nova-secaudit fix``, one test each.

- only nodes at reported positions change (a twin the engine does not
  report, here suppressed with ``# noqa``, stays as it was; columns are
  converted from UTF-8 bytes to characters);
- output re-parses, compiles, and has none of the fixed findings;
- a second run changes nothing;
- imports land in their Nova group;
- files are written atomically, keeping encoding, BOM, line endings,
  trailing-newline state and permissions; a transform that would not
  parse leaves the file unchanged and is reported;
- only files with fixable findings are parsed by libcst;
- the URL-credential masker really removes the password (executed).
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import types

import pytest

cst = pytest.importorskip("libcst")

from nova_secaudit import fixing  # noqa: E402
from nova_secaudit.codemods.imports import add_import  # noqa: E402
from nova_secaudit.fixing import FixOptions, fix_file, fixable_codes  # noqa: E402,E501
from nova_secaudit.settings import Settings  # noqa: E402
from test_codemods import findings, run_commands  # noqa: E402

SETTINGS = Settings()
OPTIONS = FixOptions(codes=fixable_codes(SETTINGS))
UNBOUNDED = ("import futurist\n\n\n"
             "def make():\n"
             "    return futurist.ThreadPoolExecutor()\n")


def test_only_the_reported_call_changes_not_its_suppressed_twin():
    source = ("import futurist\n\n"
              "A = futurist.ThreadPoolExecutor()  # noqa: NSA101\n"
              "B = futurist.ThreadPoolExecutor()\n")
    after, fixed = run_commands(source, {"NSA101"})
    assert fixed == {"NSA101": 1}
    assert after == ("import futurist\n\n"
                     "A = futurist.ThreadPoolExecutor()  # noqa: NSA101\n"
                     "B = futurist.ThreadPoolExecutor(max_workers=8)\n")


@pytest.mark.parametrize("prefix", ["x = 'é'; ", "x = '日本語'; ",
                                    "x = '😀'; "],
                         ids=["latin", "cjk", "astral"])
def test_byte_columns_are_converted_to_characters(prefix):
    source = ("from futurist import ThreadPoolExecutor\n\n" + prefix +
              "y = ThreadPoolExecutor(); z = ThreadPoolExecutor(2)\n")
    found = findings(source, {"NSA101"})
    assert len(found) == 1 and found[0].col > len(prefix) + 4  # bytes
    after, fixed = run_commands(source, {"NSA101"})
    assert fixed == {"NSA101": 1}
    assert prefix + "y = ThreadPoolExecutor(max_workers=8); " \
        "z = ThreadPoolExecutor(2)\n" in after


def test_output_compiles_and_engine_finds_no_fixed_code():
    source = textwrap.dedent("""\
        import logging

        import futurist

        LOG = logging.getLogger(__name__)
        CACHE = {}


        def lookup(k, build):
            if k not in CACHE:
                CACHE[k] = build(k)
            return CACHE[k]


        def call(fn):
            try:
                return fn(futurist.ThreadPoolExecutor())
            except Exception as e:
                LOG.error('failed: %s', e)
                raise type(e)(str(e))
        """)
    after, fixed = run_commands(source)
    assert fixed == {"NSA101": 1, "NSA202": 1, "NSA301": 1, "NSA302": 1}
    compile(after, "after.py", "exec", dont_inherit=True)
    assert not findings(after, set(fixed))
    again, fixed_again = run_commands(after)
    assert again == after and not fixed_again


@pytest.mark.parametrize("module, line, expected", [
    ("import os\n\nimport futurist\n\nimport nova.conf\n", "import re",
     "import os\nimport re\n\nimport futurist\n\nimport nova.conf\n"),
    ("import os\n\nimport futurist\n\nimport nova.conf\n",
     "from oslo_utils import strutils",
     "import os\n\nimport futurist\nfrom oslo_utils import strutils\n\n"
     "import nova.conf\n"),
    ("import futurist\n\nfrom nova import utils\n", "import threading",
     "import threading\n\nimport futurist\n\nfrom nova import utils\n"),
    ("import os\n\nfrom nova import utils\n",
     "from oslo_utils import strutils",
     "import os\n\nfrom oslo_utils import strutils\n\n"
     "from nova import utils\n"),
    ('"""Doc."""\n\nX = 1\n', "import threading",
     '"""Doc."""\n\nimport threading\n\nX = 1\n'),
    ("import zlib\n", "import abc", "import abc\nimport zlib\n"),
], ids=["stdlib-group", "third-party-group", "new-stdlib-group-first",
        "new-third-party-group-between", "after-docstring",
        "sorted-first-in-group"])
def test_imports_land_in_their_nova_group(module, line, expected):
    tree = add_import(cst.parse_module(module), line, project="nova")
    assert tree.code == expected


def _fix(path):
    return fix_file(str(path), SETTINGS, OPTIONS)


def test_crlf_file_stays_crlf(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(UNBOUNDED.replace("\n", "\r\n").encode())
    assert _fix(path).changed
    data = path.read_bytes()
    assert b"max_workers=8" in data
    assert data.count(b"\r\n") == data.count(b"\n")


def test_latin1_coded_file_keeps_its_coding(tmp_path):
    path = tmp_path / "m.py"
    text = "# -*- coding: latin-1 -*-\n# café\n" + UNBOUNDED
    path.write_bytes(text.encode("latin-1"))
    assert _fix(path).changed
    data = path.read_bytes()
    assert "# café".encode("latin-1") in data
    assert data.decode("latin-1").startswith("# -*- coding: latin-1 -*-")
    assert b"max_workers=8" in data


def test_bom_and_missing_trailing_newline_are_kept(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(b"\xef\xbb\xbf" + UNBOUNDED.rstrip("\n").encode())
    assert _fix(path).changed
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"ThreadPoolExecutor(max_workers=8)")


def test_permissions_are_kept_and_no_temp_file_is_left(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(UNBOUNDED)
    os.chmod(path, 0o751)
    assert _fix(path).changed
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_write_goes_through_a_rename(tmp_path, monkeypatch):
    path = tmp_path / "m.py"
    path.write_text(UNBOUNDED)
    inode = os.stat(path).st_ino
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((os.path.basename(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(fixing.os, "replace", spy)
    assert _fix(path).changed
    assert len(renames) == 1 and renames[0][1] == "m.py"
    assert renames[0][0].endswith(".nsa-tmp")
    assert os.stat(path).st_ino != inode


def test_transform_that_would_not_parse_leaves_file_unchanged(tmp_path,
                                                              monkeypatch):
    path = tmp_path / "m.py"
    path.write_text(UNBOUNDED)

    def broken(text, *args, **kwargs):
        return text.replace("def make():", "def make(:")

    monkeypatch.setattr(fixing, "transform_text", broken)
    result = _fix(path)
    assert not result.changed and not result.fixes
    # Each fix is then tried alone, and dropped alone (issue 12).
    assert [(code, why.split(" (")[0]) for _, code, why in result.failed
            ] == [("NSA101", "fixed text would not compile")]
    assert path.read_text() == UNBOUNDED


def test_only_files_with_fixable_findings_are_parsed_by_libcst(tmp_path,
                                                               monkeypatch):
    parsed = []
    real_parse = cst.parse_module

    def spy(source, *args, **kwargs):
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(cst, "parse_module", spy)
    (tmp_path / "clean.py").write_text("X = 1\n")
    (tmp_path / "hint_only.py").write_text(textwrap.dedent("""\
        import threading


        def stop(fn):
            worker = threading.Thread(target=fn)
            worker.start()
            worker.join(timeout=5)
        """))
    (tmp_path / "fixable.py").write_text(UNBOUNDED)
    # fix_file in this process: fix_paths runs it in a worker, which the
    # spy's list would not see.
    results = {os.path.basename(r.path): r for r in (
        fixing.fix_file(path, SETTINGS, OPTIONS)
        for path in sorted(map(str, tmp_path.iterdir())))}
    assert len(parsed) == 1 and "ThreadPoolExecutor()" in parsed[0]
    assert results["fixable.py"].parsed_by_libcst
    assert not results["clean.py"].parsed_by_libcst
    assert not results["hint_only.py"].parsed_by_libcst
    assert results["hint_only.py"].not_fixable == {"NSA403": 1}


@pytest.fixture()
def strutils_module(monkeypatch):
    """oslo.utils' strutils when installed; otherwise a stand-in with the
    same contract for this test: ``password=...`` pairs masked, URL
    credentials left alone (what the real mask_password does)."""
    try:
        from oslo_utils import strutils  # noqa: F401
        return "oslo_utils.strutils"
    except ImportError:
        pass
    import re

    fake = types.ModuleType("oslo_utils.strutils")
    fake.mask_password = lambda message, secret="***": re.sub(
        r"(password\s*=\s*)\S+", r"\g<1>" + secret, str(message))
    package = types.ModuleType("oslo_utils")
    package.strutils = fake
    monkeypatch.setitem(sys.modules, "oslo_utils", package)
    monkeypatch.setitem(sys.modules, "oslo_utils.strutils", fake)
    return "stub"


URLS = ["rabbit://nova:s3cr3t@mq1/",
        "mysql+pymysql://nova:s3cr3t@db/nova",
        "rabbit://nova:s3cr3t@mq1:5672,nova:s3cr3t@mq2:5672/"]


@pytest.mark.parametrize("url", URLS, ids=["rabbit", "mysql", "two-hosts"])
def test_patched_code_masks_url_credentials(url, strutils_module):
    source = textwrap.dedent("""\
        import logging

        LOG = logging.getLogger(__name__)


        def target(cell_mapping):
            LOG.info('Targeting %s', cell_mapping.transport_url)


        def call(fn):
            try:
                return fn()
            except Exception as e:
                LOG.error('call failed: %s', e)
                raise
        """)
    after, fixed = run_commands(source)
    assert fixed == {"NSA302": 1, "NSA502": 1}
    logged = []

    class Capture(logging_handler_base()):
        def emit(self, record):
            logged.append(record.getMessage())

    namespace = {"__name__": "patched_module"}
    exec(compile(after, "patched.py", "exec"), namespace)
    logger = namespace["LOG"]
    logger.addHandler(Capture())
    logger.setLevel("DEBUG")
    try:
        namespace["target"](types.SimpleNamespace(transport_url=url))

        def fail():
            raise RuntimeError(f"cannot connect to {url}: password=s3cr3t")

        with pytest.raises(RuntimeError):
            namespace["call"](fail)
    finally:
        logger.handlers.clear()
    assert len(logged) == 2
    for message in logged:
        assert "s3cr3t" not in message, message
        assert "nova:***@" in message


def logging_handler_base():
    import logging

    return logging.Handler
