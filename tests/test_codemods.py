"""Codemods as before/after pairs, read like diffs; every pair also checks
after -> after (idempotent), that the output compiles, that the engine no
longer reports the fixed code, that only reported nodes were edited, and
that pycodestyle finds nothing new.

The helpers at the top are shared with test_codemods_guarantees.py.
"""

from __future__ import annotations

import ast
import difflib
import io
import textwrap

import pytest

cst = pytest.importorskip("libcst")

from libcst.codemod import CodemodContext, SkipFile  # noqa: E402

from nova_secaudit.codemods import CODEMOD_FOR, ORDER  # noqa: E402
from nova_secaudit.engine import check  # noqa: E402
from nova_secaudit.settings import Settings  # noqa: E402
from support import ALL_CODES  # noqa: E402

EVERY = Settings(select=ALL_CODES)
# What ``nova-secaudit fix`` runs without --select (NSA102 is opt-in).
DEFAULT_CODES = frozenset(CODEMOD_FOR) - {"NSA102"}


def run_commands(source: str, codes=None, settings: Settings = EVERY,
                 path: str = "snippet.py", **options) -> tuple[str, dict]:
    """(fixed source, {code: fixes}) after every command of ``codes``."""
    codes = set(codes or DEFAULT_CODES)
    module = cst.parse_module(source)
    fixed: dict[str, int] = {}
    for command in ORDER:
        mine = [c for c in command.CODES if c in codes]
        if not mine:
            continue
        codemod = command(CodemodContext(filename=path), settings=settings,
                          codes=mine, **{"unsafe_fixes": True, **options})
        try:
            module = codemod.transform_module(module)
        except SkipFile:
            pass
        for code, count in codemod.fixed.items():
            fixed[code] = fixed.get(code, 0) + count
    return module.code, fixed


def findings(source: str, codes=None, settings: Settings = EVERY,
             path: str = "snippet.py"):
    found = check(ast.parse(source), path, settings)
    return [f for f in found if codes is None or f.code in codes]


def pycodestyle_counts(source: str) -> dict[str, int]:
    """pycodestyle E/W codes and how often each occurs (79 columns)."""
    import pycodestyle

    report = {}

    class Collect(pycodestyle.BaseReport):
        def error(self, line, offset, text, check):
            code = text[:4]
            report[code] = report.get(code, 0) + 1

    style = pycodestyle.StyleGuide(quiet=True, max_line_length=79)
    checker = pycodestyle.Checker(
        lines=io.StringIO(source).readlines(), options=style.options,
        report=Collect(style.options))
    checker.check_all()
    return report


def new_style_errors(before: str, after: str) -> dict[str, int]:
    old, new = pycodestyle_counts(before), pycodestyle_counts(after)
    return {code: n - old.get(code, 0) for code, n in new.items()
            if n > old.get(code, 0)}


def _statement_lines(tree: ast.AST, line: int, col: int) -> tuple[int, int]:
    """Lines of the smallest statement holding (line, col)."""
    best = (line, line)
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and \
                (node.lineno, node.col_offset) <= (line, col) and \
                (line, col) < (node.end_lineno, node.end_col_offset) and \
                not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                      ast.ClassDef)):
            if node.end_lineno - node.lineno <= best[1] - best[0] or \
                    best == (line, line):
                best = (node.lineno, node.end_lineno)
    return best


def edited_lines_outside_findings(before: str, after: str,
                                  codes=None) -> list[str]:
    """Original lines the fix changed that no reported finding covers.

    A finding covers its node's lines, the lines of its smallest
    statement and, for NSA202, its check-then-act block. Pure insertions
    are allowed at module level (imports, lock definitions, helpers) and
    right next to a covered line (``with`` headers, the cancel loop).
    """
    tree = ast.parse(before)
    covered: set[int] = set()
    for found in findings(before, codes):
        first, last = _statement_lines(tree, found.line, found.col)
        covered.update(range(min(first, found.line),
                             max(last, found.end_line) + 1))
        args = found.fix_args
        if "block_start" in args:
            covered.update(range(int(args["block_start"]),
                                 int(args["block_end"]) + 1))
        if "branch_line" in args:  # NSA401: the not-done branch
            first, last = _statement_lines(tree, int(args["branch_line"]),
                                           int(args["branch_col"]))
            covered.update(range(first, last + 1))
    old, new = before.splitlines(), after.splitlines()
    problems = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            inserted = new[j1:j2]
            at_module_level = all(not line.startswith((" ", "\t"))
                                  or not line.strip()
                                  or _inside_helper(new, j1 + offset)
                                  for offset, line in enumerate(inserted))
            beside = i1 in covered or (i1 + 1) in covered
            if not (at_module_level or beside):
                problems.append(f"insert before line {i1 + 1}: {inserted}")
            continue
        for number in range(i1 + 1, i2 + 1):
            if number not in covered:
                problems.append(f"line {number} changed: {old[number - 1]}")
    return problems


def _inside_helper(lines: list[str], index: int) -> bool:
    """An indented line inserted as part of a new top-level def."""
    for back in range(index, -1, -1):
        text = lines[back]
        if text and not text.startswith((" ", "\t")):
            return text.startswith("def _mask_url_credentials")
    return False


# Lines that must stay exactly as the codemod reads or writes them but
# pass 79 columns once indented inside a snippet here: a snippet names one
# as @@NAME@@ and _src puts the line back.
LONG_LINES = {
    # The docstring of the helper NSA302/NSA502 fixes add.
    "MASK_DOC": ('"""Text of ``value`` with the password of every URL in '
                 'it masked."""'),
    # Exactly 79 columns in the fixed file: the masked call just fits.
    "TARGETING": ("LOG.info('Targeting %s', "
                  "_mask_url_credentials(cell_mapping.transport_url))"),
    # 76 columns: four more inside the added ``with`` block would be 80.
    "BUILD_SESSION": ("SESSIONS[name] = "
                      "loader.build_config_from_conf_options(name, config)"),
}


def _src(text: str) -> str:
    text = textwrap.dedent(text).lstrip("\n")
    for name, line in LONG_LINES.items():
        text = text.replace(f"@@{name}@@", line)
    assert "@@" not in text, "unknown long line"
    return text


class Case:
    def __init__(self, name, before, after, codes=None, **options):
        self.name, self.codes, self.options = name, codes, options
        self.before, self.after = _src(before), _src(after)


CASES = [
    # -- NSA101 ----------------------------------------------------------
    Case("NSA101-add-max-workers", """
        import futurist


        def make():
            return futurist.ThreadPoolExecutor()
        """, """
        import futurist


        def make():
            return futurist.ThreadPoolExecutor(max_workers=8)
        """),
    Case("NSA101-literal-none-keyword-becomes-bound", """
        from eventlet import greenpool as gp

        pool = gp.GreenPool(size=None)
        """, """
        from eventlet import greenpool as gp

        pool = gp.GreenPool(size=16)
        """, max_workers=16),
    Case("NSA101-none-default-parameter-keeps-caller-bound", """
        from concurrent import futures


        def make(workers=None):
            return futures.ThreadPoolExecutor(workers)
        """, """
        from concurrent import futures


        def make(workers=None):
            return futures.ThreadPoolExecutor(workers or 8)
        """),
    Case("NSA101-non-ascii-text-before-the-call", """
        import futurist

        NAME = {'é': 'café'}; POOL = futurist.ThreadPoolExecutor()
        """, """
        import futurist

        NAME = {'é': 'café'}; POOL = futurist.ThreadPoolExecutor(max_workers=8)
        """),
    Case("NSA101-other-arguments-and-trailing-comma", """
        import futurist

        pool = futurist.ThreadPoolExecutor(
            thread_name_prefix='cells',
        )
        """, """
        import futurist

        pool = futurist.ThreadPoolExecutor(
            thread_name_prefix='cells',
            max_workers=8,
        )
        """),
    Case("NSA101-wrapped-at-79-columns-visual", """
        import futurist


        def make_executor_for_the_cells_of_this_deployment(p):
            cells_executor = futurist.ThreadPoolExecutor(thread_name_prefix=p)
            return cells_executor
        """, """
        import futurist


        def make_executor_for_the_cells_of_this_deployment(p):
            cells_executor = futurist.ThreadPoolExecutor(thread_name_prefix=p,
                                                         max_workers=8)
            return cells_executor
        """),
    Case("NSA101-wrapped-at-79-columns-hanging", """
        import futurist


        def make(p):
            executor_of_the_cells_in_deployment = futurist.ThreadPoolExecutor()
            return executor_of_the_cells_in_deployment
        """, """
        import futurist


        def make(p):
            executor_of_the_cells_in_deployment = futurist.ThreadPoolExecutor(
                max_workers=8)
            return executor_of_the_cells_in_deployment
        """),
    Case("NSA101-bounded-call-untouched-beside-unbounded", """
        import multiprocessing

        small = multiprocessing.Pool(4)
        big = multiprocessing.Pool()
        """, """
        import multiprocessing

        small = multiprocessing.Pool(4)
        big = multiprocessing.Pool(processes=8)
        """),
    # -- NSA102 ----------------------------------------------------------
    Case("NSA102-adds-rejection-and-import", """
        import futurist

        executor = futurist.ThreadPoolExecutor(max_workers=4)
        """, """
        import futurist
        import futurist.rejection

        executor = futurist.ThreadPoolExecutor(
            max_workers=4,
            check_and_reject=futurist.rejection.reject_when_reached(64))
        """, codes={"NSA102"}),
    Case("NSA102-reuses-from-import", """
        import futurist
        from futurist import rejection

        pool = futurist.GreenThreadPoolExecutor(4)
        """, """
        import futurist
        from futurist import rejection

        pool = futurist.GreenThreadPoolExecutor(
            4,
            check_and_reject=rejection.reject_when_reached(10))
        """, codes={"NSA102"}, max_backlog=10),
    # -- NSA401 ----------------------------------------------------------
    Case("NSA401-cancel-not-done", """
        from concurrent import futures as cf


        def gather(pool, jobs):
            fs = {pool.submit(j): j for j in jobs}
            done, not_done = cf.wait(fs, timeout=5)
            return [f.result() for f in done]
        """, """
        from concurrent import futures as cf


        def gather(pool, jobs):
            fs = {pool.submit(j): j for j in jobs}
            done, not_done = cf.wait(fs, timeout=5)
            for f in not_done:
                f.cancel()
            return [f.result() for f in done]
        """),
    # -- NSA201 / NSA202 ---------------------------------------------------
    Case("NSA201-read-modify-write-gets-lock-and-import", """
        COUNTS = {}


        def count(name):
            COUNTS[name] = COUNTS.get(name, 0) + 1
        """, """
        import threading

        COUNTS = {}
        _COUNTS_LOCK = threading.Lock()


        def count(name):
            with _COUNTS_LOCK:
                COUNTS[name] = COUNTS.get(name, 0) + 1
        """),
    Case("NSA201-lone-atomic-append-is-declined", """
        CELLS = []


        def register_cell(cell):
            CELLS.append(cell)
        """, """
        CELLS = []


        def register_cell(cell):
            CELLS.append(cell)
        """),
    Case("NSA202-lazy-singleton-whole-block", """
        import futurist

        DEFAULT_EXECUTOR = None


        def get_default_executor():
            global DEFAULT_EXECUTOR
            if DEFAULT_EXECUTOR is None:
                DEFAULT_EXECUTOR = futurist.ThreadPoolExecutor(8)
            return DEFAULT_EXECUTOR
        """, """
        import threading

        import futurist

        DEFAULT_EXECUTOR = None
        _DEFAULT_EXECUTOR_LOCK = threading.Lock()


        def get_default_executor():
            global DEFAULT_EXECUTOR
            with _DEFAULT_EXECUTOR_LOCK:
                if DEFAULT_EXECUTOR is None:
                    DEFAULT_EXECUTOR = futurist.ThreadPoolExecutor(8)
            return DEFAULT_EXECUTOR
        """),
    Case("NSA202-early-return-block", """
        import threading

        CACHE = {}


        def lookup(k, build):
            # Cached by key.
            if k in CACHE:
                return CACHE[k]
            value = build(k)
            CACHE[k] = value
            return value
        """, """
        import threading

        CACHE = {}
        _CACHE_LOCK = threading.Lock()


        def lookup(k, build):
            # Cached by key.
            with _CACHE_LOCK:
                if k in CACHE:
                    return CACHE[k]
                value = build(k)
                CACHE[k] = value
            return value
        """),
    Case("NSA202-nested-change-of-same-global-one-lock", """
        CACHE = {}


        def refresh(k, build):
            if k not in CACHE:
                CACHE[k] = build(k)
                if not CACHE[k]:
                    CACHE.pop(k)
        """, """
        import threading

        CACHE = {}
        _CACHE_LOCK = threading.Lock()


        def refresh(k, build):
            with _CACHE_LOCK:
                if k not in CACHE:
                    CACHE[k] = build(k)
                    if not CACHE[k]:
                        CACHE.pop(k)
        """),
    Case("NSA201-reuse-lock-when-asked", """
        import threading

        _LOCK = threading.Lock()
        HOSTS = {}


        def forget(host):
            HOSTS[host] -= 1
        """, """
        import threading

        _LOCK = threading.Lock()
        HOSTS = {}


        def forget(host):
            with _LOCK:
                HOSTS[host] -= 1
        """, reuse_lock="_LOCK"),
    Case("NSA201-yield-inside-is-skipped", """
        ITEMS = []


        def drain():
            while ITEMS:
                yield ITEMS.pop()
        """, """
        ITEMS = []


        def drain():
            while ITEMS:
                yield ITEMS.pop()
        """),
    # -- NSA301 ----------------------------------------------------------
    Case("NSA301-own-text-becomes-bare-raise", """
        def call(fn):
            try:
                return fn()
            except Exception as e:
                raise type(e)(str(e))
        """, """
        def call(fn):
            try:
                return fn()
            except Exception as e:
                raise
        """),
    Case("NSA301-context-becomes-typed-raise-from", """
        from nova import exception


        def call(fn, cell):
            try:
                return fn()
            except exception.NovaException as err:
                raise err.__class__('%s: %s' % (cell, err))
        """, """
        from nova import exception


        def call(fn, cell):
            try:
                return fn()
            except exception.NovaException as err:
                raise exception.NovaException('%s: %s' % (cell, err)) from err
        """),
    # -- NSA302 / NSA502 ---------------------------------------------------
    Case("NSA302-masks-text-and-url-credentials", """
        import logging

        LOG = logging.getLogger(__name__)


        def call(fn, cell):
            try:
                return fn()
            except Exception as e:
                LOG.error('cell %s failed: %s', cell, e)
                raise
        """, """
        import logging
        import re

        from oslo_utils import strutils


        def _mask_url_credentials(value):
            @@MASK_DOC@@
            return re.sub(r'(://[^:/@\\s]*:)[^\\s/]*@', r'\\1***@', str(value))


        LOG = logging.getLogger(__name__)


        def call(fn, cell):
            try:
                return fn()
            except Exception as e:
                LOG.error('cell %s failed: %s', cell,
                          strutils.mask_password(_mask_url_credentials(e)))
                raise
        """),
    Case("NSA302-reuses-strutils-alias", """
        from oslo_log import log as logging
        from oslo_utils import strutils as su

        LOG = logging.getLogger(__name__)


        def call(fn):
            try:
                return fn()
            except Exception as e:
                LOG.warning('failed: %s', e)
                raise
        """, """
        from oslo_log import log as logging
        from oslo_utils import strutils as su

        from nova.cmd import manage

        LOG = logging.getLogger(__name__)


        def call(fn):
            try:
                return fn()
            except Exception as e:
                LOG.warning('failed: %s',
                            su.mask_password(manage.mask_passwd_in_url(str(e))))
                raise
        """, url_masker="nova.cmd.manage.mask_passwd_in_url"),
    Case("NSA502-url-secret-gets-url-masker", """
        from oslo_log import log as logging

        LOG = logging.getLogger(__name__)


        def target(cell_mapping):
            LOG.info('Targeting %s', cell_mapping.transport_url)
        """, """
        import re

        from oslo_log import log as logging


        def _mask_url_credentials(value):
            @@MASK_DOC@@
            return re.sub(r'(://[^:/@\\s]*:)[^\\s/]*@', r'\\1***@', str(value))


        LOG = logging.getLogger(__name__)


        def target(cell_mapping):
            @@TARGETING@@
        """),
]


def _ids(case):
    return case.name


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_codemod_pair(case):
    settings = EVERY
    changes = {k: case.options.pop(k) for k in list(case.options)
               if k in ("max_workers", "max_backlog", "url_masker")}
    if changes:
        settings = settings.replace(**changes)
    after, _ = run_commands(case.before, case.codes, settings,
                            **case.options)
    assert after == case.after
    again, fixed_again = run_commands(after, case.codes, settings,
                                      **case.options)
    assert again == after and not fixed_again, "second run changed it"
    compile(after, "after.py", "exec", dont_inherit=True)
    codes = set(case.codes or DEFAULT_CODES)
    before_codes = {f.code for f in findings(case.before, codes, settings)}
    left = [f for f in findings(after, codes, settings)
            if f.code in before_codes]
    skipped = case.before == case.after
    assert skipped or not left, left
    assert edited_lines_outside_findings(case.before, after, codes) == []
    assert new_style_errors(case.before, after) == {}


def test_NSA201_changes_in_if_and_else_branches_both_wrapped():
    before = _src("""
        import threading

        _DB = {}
        _LOCK_FREE = 1


        def cleanup(classes):
            for c in classes:
                if c == 'files':
                    _DB[c] += 1
                else:
                    _DB[c] -= 1
        """)
    after, fixed = run_commands(before)
    assert fixed == {"NSA201": 2}
    assert "            with _DB_LOCK:\n                _DB[c] += 1\n" in after
    assert "            with _DB_LOCK:\n                _DB[c] -= 1\n" in after
    assert not findings(after, {"NSA201"})


def test_NSA302_traceback_flag_is_not_half_fixed():
    from nova_secaudit.codemods.secrets import MaskSecrets
    from nova_secaudit.engine import Finding

    codemod = MaskSecrets(CodemodContext(), settings=EVERY)
    traceback = Finding("x.py", 3, 4, "NSA302", "m", fix_data=(
        ("arg_col", "1"), ("arg_end_col", "2"), ("arg_end_line", "3"),
        ("arg_line", "3"), ("exc_info", "1")))
    assert "log it once" in codemod.fixable(traceback)
    text_only = Finding("x.py", 3, 4, "NSA302", "m", fix_data=(
        ("raw_args", "3:1:3:2"),))
    assert codemod.fixable(text_only) is None


def test_with_block_refits_a_call_that_would_pass_79_columns():
    before = _src("""
        SESSIONS = {}


        def get_session(name, loader):
            if name not in SESSIONS:
                @@BUILD_SESSION@@
            return SESSIONS[name]
        """)
    after, fixed = run_commands(before)
    assert fixed == {"NSA202": 1}
    assert (
        "    with _SESSIONS_LOCK:\n"
        "        if name not in SESSIONS:\n"
        "            SESSIONS[name] = loader.build_config_from_conf_options("
        "name,\n" + " " * 67 + "config)\n"  # aligned under ``name``
        ) in after
    assert new_style_errors(before, after) == {}


def test_masker_inside_a_dict_value_breaks_inside_the_masker():
    before = _src("""
        from oslo_log import log as logging
        from oslo_utils import excutils

        LOG = logging.getLogger(__name__)


        def copy(vi, fn):
            try:
                fn()
            except Exception as e:
                with excutils.save_and_reraise_exception():
                    LOG.error('Failed to copy %(source)s: %(error)s',
                              {'source': vi.cache_image_path,
                               'error': e},
                              instance=vi.instance)
        """)
    after, fixed = run_commands(before)
    assert fixed == {"NSA302": 1}
    assert ("                       'error': strutils.mask_password(\n"
            "                           _mask_url_credentials(e))},\n"
            ) in after
    assert new_style_errors(before, after) == {}
    assert edited_lines_outside_findings(before, after) == []


def test_multi_line_string_argument_keeps_its_alignment():
    before = _src("""
        from oslo_log import log as logging

        LOG = logging.getLogger(__name__)


        def revert(driver, instance):
            try:
                driver.finish_revert_migration(instance)
            except Exception as err:
                LOG.error('An error occurred during finish_revert_migration. '
                          'The instance may need to be hard rebooted. Error: '
                          '%s', err, instance=instance)
                raise
        """)
    after, fixed = run_commands(before)
    assert fixed == {"NSA302": 1}
    assert ("        LOG.error('An error occurred during "
            "finish_revert_migration. '\n"
            "                  'The instance may need to be hard "
            "rebooted. Error: '\n"
            "                  '%s',\n"
            "                  strutils.mask_password("
            "_mask_url_credentials(err)),\n"
            "                  instance=instance)\n") in after
    assert new_style_errors(before, after) == {}


def test_masked_argument_that_cannot_fit_is_skipped():
    before = _src("""
        from oslo_log import log as logging

        LOG = logging.getLogger(__name__)


        def revert(driver, instance):
            try:
                driver.finish_revert_migration(instance)
            except Exception as driver_error_text:
                LOG.error('An error occurred during finish_revert_migration. '
                          'The instance may need to be hard rebooted. Error: '
                          '%s', driver_error_text, instance=instance)
                raise
        """)
    after, fixed = run_commands(before)
    assert after == before and not fixed


def test_masker_that_cannot_fit_is_skipped_not_made_too_long():
    before = _src("""
        from oslo_log import log as logging

        LOG = logging.getLogger(__name__)


        def extend(driver, instance, extended_volume_id):
            try:
                driver.extend_volume(extended_volume_id)
            except Exception as ex:
                LOG.warning('Extend volume failed, '
                            'volume_id=%(volume_id)s, reason: %(msg)s',
                            {'volume_id': extended_volume_id, 'msg': ex},
                            instance=instance)
                raise
        """)
    after, fixed = run_commands(before)
    assert after == before and not fixed


def test_cancel_loop_name_never_shadows_a_name_of_the_function():
    before = _src("""
        from concurrent import futures


        def gather(pool, jobs, f):
            fs = [pool.submit(f, j) for j in jobs]
            done, not_done = futures.wait(fs, timeout=5)
            return [x.result() for x in done]
        """)
    after, _ = run_commands(before)
    assert "    for fut in not_done:\n        fut.cancel()\n" in after


def test_NSA302_on_LOG_exception_is_not_half_fixed():
    before = _src("""
        from oslo_log import log as logging

        LOG = logging.getLogger(__name__)


        def call(fn):
            try:
                return fn()
            except Exception as exc:
                LOG.exception('call failed: %s', exc)
                raise
        """)
    assert findings(before, {"NSA302"})
    after, fixed = run_commands(before)
    assert after == before and not fixed


def test_NSA401_not_fixed_when_the_futures_are_looked_at_after_the_wait(
        tmp_path):
    # Cancelling right after the wait would turn the "did not respond"
    # futures into done ones whose result() raises CancelledError.
    from nova_secaudit.fixing import FixOptions, fix_file
    source = textwrap.dedent("""
        import futurist.waiters


        def gather(executor, cells, timeout):
            tasks = {cell: executor.submit(cell.ping) for cell in cells}
            futurist.waiters.wait_for_all(tasks.values(), timeout)
            return {cell: future.result() for cell, future in tasks.items()
                    if future.done()}
        """)
    path = tmp_path / "gather.py"
    path.write_text(source)
    result = fix_file(str(path), Settings(), FixOptions(codes={"NSA401"}))
    assert path.read_text() == source and not result.changed
    assert [(code, reason.split(";")[0]) for _, code, reason in
            result.skipped] == [
        ("NSA401", "the futures are read after the wait (line 8, "
                   "'future')")]


def test_no_command_relies_on_libcsts_matcher_decorators():
    # FindingCodemod dispatches as a plain CSTTransformer (libcst's matcher
    # bookkeeping walked every attribute of a command once per finding),
    # so a visit/leave decorated with m.visit, m.leave, m.call_if_inside
    # or m.call_if_not_inside would silently never run.
    from libcst.matchers import _decorators

    marks = [getattr(_decorators, name) for name in dir(_decorators)
             if name.endswith("_MATCHER_ATTR")]
    assert len(marks) == 4
    for command in set(CODEMOD_FOR.values()):
        for name in dir(command):
            member = getattr(command, name, None)
            assert not any(hasattr(member, mark) for mark in marks), \
                f"{command.__name__}.{name} uses a matcher decorator"


def test_a_twin_starts_clean_and_leaves_its_prototype_unused():
    source = textwrap.dedent("""\
        import futurist


        def start():
            return futurist.ThreadPoolExecutor()


        def other():
            return futurist.ThreadPoolExecutor()
    """)
    settings = Settings()
    module = cst.parse_module(source)
    findings = [f for f in check(ast.parse(source), "m.py", settings,
                                 source=source) if f.code == "NSA101"]
    assert len(findings) == 2
    command = CODEMOD_FOR["NSA101"]
    prototype = command(CodemodContext(), settings=settings,
                        unsafe_fixes=True)
    outputs = []
    for found in findings:
        twin = prototype.twin(CodemodContext(filename="m.py"), ["NSA101"],
                              (module, source, [found]), None)
        outputs.append(twin.transform_module(module).code)
        assert sum(twin.fixed.values()) == 1
    assert outputs[0] != outputs[1]
    assert all(out.count("max_workers=") == 1 for out in outputs)
    assert not prototype.fixed and not prototype.skipped
