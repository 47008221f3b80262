"""NSA3xx (exception handling that leaks detail): marked snippets, positive
and hard-negative, the codemod fix data, and the shared handler analysis."""

from __future__ import annotations

import ast

import pytest

from nova_secaudit.analysis import ModuleFacts, parent_of
from nova_secaudit.analysis.handlers import (
    binding_handler, catch_kind, is_narrowed, reraises_after)
from nova_secaudit.engine import check_source
from nova_secaudit.settings import Settings
from support import assert_markers

NSA3 = ("NSA3",)
HEADER = (
    "import sys\n"
    "import traceback\n\n"
    "import requests\n"
    "import six\n"
    "import webob.exc\n"
    "from keystoneauth1 import exceptions as ks_exc\n"
    "from oslo_db import exception as db_exc\n"
    "from oslo_log import log as logging\n"
    "from oslo_utils import excutils\n"
    "from oslo_utils import strutils\n\n"
    "from nova import exception\n\n"
    "LOG = logging.getLogger(__name__)\n\n\n"
)

CASES = {
    # NSA301 ---------------------------------------------------------------
    "NSA301-type-of-caught": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        raise type(e)('call failed: %s' % e)  # expect: NSA301:9,NSA303:9
""",
    "NSA301-dunder-class": """
def call(fn):
    try:
        return fn()
    except exception.NovaException as err:
        raise err.__class__(err.format_message())  # expect: NSA301
""",
    "NSA301-exc-info-type": """
def call(fn):
    try:
        return fn()
    except Exception:
        exc_type = sys.exc_info()[0]
        raise exc_type('wrapped')  # expect: NSA301
""",
    "NSA303-exc-info-type-with-text": """
def call(fn):
    try:
        return fn()
    except Exception:
        exc_type, exc_value, tb = sys.exc_info()
        raise exc_type('wrapped: %s' % exc_value)  # expect: NSA301,NSA303
""",
    "NSA301-six-reraise-new-value": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        # expect+1: NSA301
        six.reraise(type(e), type(e)(str(e)), sys.exc_info()[2])
""",
    "NSA301-not-six-reraise-same-object": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        six.reraise(type(e), e, sys.exc_info()[2])
""",
    "NSA301-not-type-of-other-name": """
def call(fn, record):
    try:
        return fn()
    except Exception:
        raise type(record)('bad record')
""",
    "NSA301-not-bare-raise-or-new-type": """
def call(fn):
    try:
        return fn()
    except exception.NovaException:
        raise
    except Exception as e:
        raise exception.NovaException('call failed') from e
""",
    # NSA302 ---------------------------------------------------------------
    "NSA302-error-then-bare-raise": """
def call(fn, cell):
    try:
        return fn()
    except Exception as e:
        LOG.error('cell %s: %s', cell, e)  # expect: NSA302:9
        raise
""",
    "NSA302-save-and-reraise-idiom": """
def call(fn):
    try:
        return fn()
    except Exception as ex:
        with excutils.save_and_reraise_exception():
            LOG.warning('failed: %(err)s', {'err': str(ex)})  # expect: NSA302
""",
    "NSA302-before-save-and-reraise-block": """
def call(fn, cleanup):
    try:
        return fn()
    except Exception as e:
        LOG.warning('failed: %s', e)  # expect: NSA302
        with excutils.save_and_reraise_exception():
            cleanup()
""",
    "NSA302-module-level-import-guard": """
try:
    import guestfs
except Exception as exc:
    LOG.error('guestfs unusable: %s', exc)  # expect: NSA302
    raise
""",
    "NSA303-module-level-exc-info-value": """
try:
    import guestfs
except Exception:
    value = sys.exc_info()[1]
    raise exception.NovaException('unusable: %s' % value)  # expect: NSA303
""",
    "NSA302-through-assignment": """
def call(fn):
    try:
        return fn()
    except Exception as ex:
        msg = 'failed: %s' % ex
        LOG.error(msg)  # expect: NSA302
        raise
""",
    "NSA302-format-exc-bare-except": """
def call(fn):
    try:
        return fn()
    except:
        LOG.error('failed: %s', traceback.format_exc())  # expect: NSA302
        raise
""",
    "NSA302-e-args-and-info-level": """
def call(fn):
    try:
        return fn()
    except BaseException as e:
        LOG.info('failed: %s', e.args)  # expect: NSA302
        raise e
""",
    "NSA302-driver-exception-exc-info": """
def call(session):
    try:
        return session.get('/')
    except ks_exc.ConnectFailure:
        LOG.warning('identity unreachable', exc_info=True)  # expect: NSA302
        raise
""",
    "NSA302-chained-new-exception": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('failed: %s', e)  # expect: NSA302
        raise exception.NovaException('failed') from e
""",
    "NSA302-self-logger": """
class Worker:
    def run(self, fn):
        try:
            return fn()
        except Exception as e:
            self.logger.critical('run: %s', e)  # expect: NSA302
            raise
""",
    "NSA302-not-masked": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('failed: %s', strutils.mask_password(str(e)))
        raise
""",
    "NSA302-not-debug": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.debug('failed: %s', e)
        raise
""",
    "NSA302-not-without-reraise": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('failed: %s', e)
        return None
""",
    "NSA302-not-reraise-in-other-branch": """
def call(fn, strict):
    try:
        return fn()
    except Exception as e:
        if strict:
            raise
        else:
            LOG.warning('ignored: %s', e)
""",
    "NSA302-not-generic-message": """
def call(fn, cell):
    try:
        return fn()
    except Exception:
        LOG.error('cell %s failed', cell)
        raise
""",
    "NSA302-not-format-message-of-project-exception": """
def call(fn):
    try:
        return fn()
    except exception.NovaException as e:
        LOG.error('failed: %s', e.format_message())
        raise
""",
    "NSA302-exception-method-inside-save-and-reraise": """
def spawn(driver, instance):
    try:
        driver.spawn(instance)
    except Exception:
        with excutils.save_and_reraise_exception():
            # expect+1: NSA302
            LOG.exception('Instance failed to spawn', instance=instance)
""",
    "NSA302-raw-text-then-new-exception": """
def show(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('unexpected: %s', e)  # expect: NSA302
        raise webob.exc.HTTPInternalServerError()
""",
    "NSA302-project-exception-text": """
def show(fn):
    try:
        return fn()
    except exception.InstanceNotFound as e:
        LOG.warning('gone: %s', e)  # expect: NSA302
        raise webob.exc.HTTPNotFound()
""",
    "NSA302-log-return-on-one-path-raise-on-other-path": """
def call(fn, retries):
    try:
        return fn()
    except KeyError as e:
        if retries:
            LOG.warning('retrying: %s', e)  # expect: NSA302
            if retries > 3:
                LOG.error('giving up: %s', e)  # expect: NSA302
                raise
            return None
        raise
""",
    "NSA302-not-log-then-return-in-loop-branch": """
def call(fns):
    for fn in fns:
        try:
            return fn()
        except Exception:
            if fn is fns[-1]:
                LOG.exception('last one failed')
                return None
            raise
""",
    "NSA302-not-continue-to-outer-loop-after-log": """
def bind(ports, client):
    for port in ports:
        try:
            client.activate(port)
        except KeyError:
            if port.active:
                LOG.warning('already active: %s', port, exc_info=True)
                continue
            raise
""",
    "NSA302-continue-of-loop-inside-handler": """
def bind(ports, client):
    try:
        client.activate(ports)
    except KeyError:
        for port in ports:
            if port.active:
                LOG.warning('already active', exc_info=True)  # expect: NSA302
                continue
        raise
""",
    "NSA302-not-raise-of-an-inner-failure": """
def snapshot(direct, standard):
    try:
        return direct()
    except exception.Forbidden as e:
        LOG.warning('direct snapshot failed, falling back: %s', e)
        try:
            return standard()
        except OSError:
            raise
""",
    "NSA302-switched-off-only-when-cleanup-fails": """
def build(fn, cleanup):
    try:
        return fn()
    except Exception:
        with excutils.save_and_reraise_exception() as ctxt:
            LOG.exception('build failed')  # expect: NSA302
            try:
                cleanup()
            except Exception:
                ctxt.reraise = False
                LOG.warning('cleanup failed')
""",
    "NSA302-six-reraise": """
def call(fn):
    try:
        return fn()
    except KeyError as e:
        LOG.error('lookup failed: %s', e)  # expect: NSA302
        six.reraise(*sys.exc_info())
""",
    "NSA302-not-system-exit": """
def main(parse):
    try:
        parse()
    except ValueError:
        LOG.exception('bad configuration, exiting')
        raise SystemExit(1)
""",
    "NSA302-not-nested-return-after-log": """
def call(fn, quiet):
    try:
        return fn()
    except Exception as e:
        if not quiet:
            try:
                LOG.error('failed: %s', e)
            finally:
                pass
            return False
        raise
""",
    "NSA302-not-reraise-switched-off": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        with excutils.save_and_reraise_exception() as ctxt:
            LOG.error('ignored: %s', e)
            ctxt.reraise = False
""",
    "NSA302-call-split-over-lines": """
def call(fn, cell):
    try:
        return fn()
    except Exception as e:
        (LOG  # expect: NSA302:10
         .error('cell %s: %s', cell, e))
        raise
""",
    "NSA302-not-log-call-in-function-defined-in-handler": """
def call(fn, cell, defer):
    try:
        return fn()
    except Exception as e:
        def report():
            LOG.error('cell %s: %s', cell, e)
        defer(report)
        raise
""",
    "NSA302-not-inner-handler-inside-outer-save-and-reraise": """
def revert(fn, undo, instance):
    try:
        return fn()
    except Exception:
        with excutils.save_and_reraise_exception():
            try:
                undo()
            except Exception as e:
                LOG.warning('Failed to revert: %s', e, instance=instance)
""",
    "NSA302-not-reraise-false-keyword": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        with excutils.save_and_reraise_exception(reraise=False):
            LOG.error('ignored: %s', e)
""",
    "NSA302-not-inner-name-shadows-outer": """
def call(fn, cleanup):
    try:
        return fn()
    except Exception as e:
        try:
            cleanup()
        except ValueError as e:
            LOG.error('cleanup: %s', e)
        raise
""",
    # NSA303 ---------------------------------------------------------------
    "NSA303-explanation-through-assignment": """
def show(fn):
    try:
        return fn()
    except Exception as e:
        msg = 'Lookup failed: %s' % e
        raise webob.exc.HTTPBadRequest(explanation=msg)  # expect: NSA303:9
""",
    "NSA303-reason-keyword": """
def attach(volume):
    try:
        volume.attach()
    except (IOError, Exception) as ex:
        raise exception.VolumeAttachFailed(reason=str(ex))  # expect: NSA303
""",
    "NSA303-driver-exception-returned": """
def status(session):
    try:
        session.execute('SELECT 1')
    except db_exc.DBConnectionError as err:
        # expect+1: NSA303
        return {'status': 'down', 'error': six.text_type(err)}
""",
    "NSA303-http-error-built-not-raised": """
def show(fn):
    try:
        return fn()
    except Exception as e:
        fault = webob.exc.HTTPConflict(explanation=e.args)  # expect: NSA303
    return fault
""",
    "NSA303-response-body": """
def show(req, fn):
    try:
        return fn()
    except BaseException as e:
        req.response.body = repr(e)  # expect: NSA303
""",
    "NSA303-returned-after-handler": """
def call(fn):
    error = None
    try:
        fn()
    except:
        error = 'failed: %s' % sys.exc_info()[1]
    return error  # expect: NSA303
""",
    "NSA303-not-format-message": """
def show(fn):
    try:
        return fn()
    except exception.InstanceNotFound as e:
        raise webob.exc.HTTPNotFound(explanation=e.format_message())
""",
    "NSA303-not-builtin-value-error": """
def parse(value):
    try:
        return int(value)
    except (ValueError, KeyError, TypeError) as e:
        raise webob.exc.HTTPBadRequest(explanation=str(e))
""",
    "NSA303-not-isinstance-narrowed": """
def show(fn):
    try:
        return fn()
    except Exception as e:
        if isinstance(e, exception.Invalid):
            raise webob.exc.HTTPBadRequest(explanation=str(e))
        raise
""",
    "NSA303-not-after-isinstance-guard": """
def show(fn):
    try:
        return fn()
    except Exception as e:
        if not isinstance(e, exception.Invalid):
            raise
        raise webob.exc.HTTPBadRequest(explanation=str(e))
""",
    "NSA303-not-generic-message": """
def show(fn):
    try:
        return fn()
    except Exception:
        LOG.exception('Unexpected API error')  # expect: NSA302
        raise webob.exc.HTTPInternalServerError(
            explanation='Unexpected API Error')
""",
    "NSA303-not-inner-name-shadows-outer": """
def call(fn, parse):
    try:
        return fn()
    except Exception as e:
        try:
            return parse()
        except KeyError as e:
            raise exception.NotFound('missing %s' % e)
""",
    "NSA303-not-exception-object-returned": """
def gather(fn):
    try:
        result = fn()
    except Exception as e:
        result = e
    return result
""",
    "NSA303-not-traceback-or-type-from-exc-info": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        raise e.with_traceback(sys.exc_info()[2])
""",
    "NSA303-builtin-raised-with-broad-text": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        raise RuntimeError('call failed: %s' % e)  # expect: NSA303
""",
    "NSA303-driver-exception-in-message": """
def call(fn):
    try:
        return fn()
    except db_exc.DBError as e:
        msg = 'db: {}'.format(e)
        raise exception.NovaException(msg)  # expect: NSA303
""",
    "NSA303-not-helper-result-raised": """
def call(fn, convert):
    try:
        return fn()
    except Exception as e:
        mapped = convert.to_http_exc(e)
        raise mapped
""",
    "NSA303-not-exception-kept-as-cause-attribute": """
def render(fn, context):
    try:
        return fn()
    except Exception as err:
        raise exception.NovaException('render failed', cause=err) from err
""",
    "NSA303-exception-object-as-reason-keyword": """
def render(fn):
    try:
        return fn()
    except Exception as err:
        raise exception.NovaException(reason=err)  # expect: NSA303
""",
    "NSA303-not-test-skip": """
import unittest


def skip_if_unsupported(fn):
    try:
        return fn()
    except Exception as e:
        raise unittest.SkipTest(str(e))
""",
    "NSA303-not-raised-exception-object-again": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        err = e
        raise err
""",
    "NSA303-not-exception-built-before-handler": """
def call(fn, name):
    ex = exception.NotFound(name=name)
    try:
        return fn()
    except Exception:
        raise ex
""",
    "NSA303-not-attribute-other-than-text": """
def call(fn):
    try:
        return fn()
    except Exception as e:
        return getattr(e, 'code', 500), e.kwargs
""",
}


@pytest.mark.parametrize("source", CASES.values(), ids=CASES.keys())
def test_marked_snippet(source):
    assert_markers(HEADER + source.lstrip("\n"), codes=NSA3)


def test_every_case_id_names_its_rule():
    assert all(name[:6] in {"NSA301", "NSA302", "NSA303"} for name in CASES)


def _findings(source: str, code: str):
    return [f for f in check_source(HEADER + source.lstrip("\n"),
                                    "snippet.py", Settings(select=(code,)))
            if f.code == code]


def test_nsa301_fix_data_bare_when_only_own_text():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except Exception as e:
        raise type(e)(six.text_type(e))
""", "NSA301")
    assert found.fix_args == {"bare": "1"}


def test_nsa301_fix_data_names_caught_type_and_name():
    [found] = _findings("""
def call(fn, cell):
    try:
        return fn()
    except exception.CellTimeout as err:
        raise err.__class__('cell %s: %s' % (cell, err))
""", "NSA301")
    assert found.fix_args == {"type": "exception.CellTimeout", "name": "err"}


def test_nsa301_fix_data_has_no_type_for_a_tuple():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except (ValueError, KeyError) as e:
        raise type(e)()
""", "NSA301")
    assert found.fix_args == {"name": "e"}


def test_seed_shaped_raise_is_every_nsa3_shape():
    source = """
def gather(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('gather: %s', e)
        raise type(e)(str(e))
"""
    codes = sorted(f.code for f in check_source(
        HEADER + source.lstrip("\n"), "snippet.py",
        Settings(select=("NSA3",))))
    # Rebuilt from its text (301), logged then re-raised (302), and the
    # text goes on to the caller in the new exception (303).
    assert codes == ["NSA301", "NSA302", "NSA303"]


def test_nsa302_sees_a_call_split_by_a_line_continuation():
    source = HEADER + (
        "def call(fn, cell):\n"
        "    try:\n"
        "        return fn()\n"
        "    except Exception as e:\n"
        "        LOG. \\\n"
        "            error('cell %s: %s', cell, e)\n"
        "        raise\n")
    found = check_source(source, "m.py", Settings(select=NSA3))
    assert [(f.code, f.line) for f in found] == [
        ("NSA302", HEADER.count("\n") + 5)]


def test_nsa302_fix_data_points_at_each_raw_argument():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('%s / %s', str(e), e.args)
        raise
""", "NSA302")
    line = HEADER.count("\n") + 5
    assert found.fix_args == {
        "arg_line": str(line), "arg_col": "29",
        "arg_end_line": str(line), "arg_end_col": "35",
        "raw_args": f"{line}:29:{line}:35;{line}:37:{line}:43",
    }


def test_nsa302_fix_data_marks_exc_info_as_not_wrappable():
    [found] = _findings("""
def call(session):
    try:
        return session.get('/')
    except ks_exc.ConnectFailure as e:
        LOG.exception('identity unreachable: %s', e)
        raise
""", "NSA302")
    assert found.fix_args["exc_info"] == "1"
    assert found.fix_args["arg_col"] == "50"


def test_nsa302_interpolated_raw_text_points_inside_the_message():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except Exception as e:
        LOG.error('failed: %s' % e)
        raise
""", "NSA302")
    assert (found.fix_args["arg_col"], found.fix_args["arg_end_col"]) == \
        ("33", "34")


# --- the shared analysis --------------------------------------------------

def _facts(source: str) -> ModuleFacts:
    tree = ast.parse(HEADER + source.lstrip("\n"))
    return ModuleFacts(tree, "snippet.py", Settings())


def _calls(facts, name):
    return [c for c in facts.nodes(ast.Call)
            if getattr(c.func, "attr", None) == name]


@pytest.mark.parametrize("caught,kind", [
    ("Exception", "broad"), ("BaseException", "broad"), (None, "broad"),
    ("(KeyError, Exception)", "broad"), ("db_exc.DBError", "driver"),
    ("ks_exc.http.Unauthorized", "driver"),
    ("requests.ConnectionError", "driver"), ("ValueError", None),
    ("exception.NovaException", None), ("UnknownLocalName", None),
], ids=lambda v: str(v))
def test_catch_kind(caught, kind):
    clause = f"except {caught}:" if caught else "except:"
    facts = _facts(f"try:\n    pass\n{clause}\n    pass\n")
    [handler] = facts.nodes(ast.ExceptHandler)
    assert catch_kind(handler, facts) == kind


def test_reraises_after_follows_statement_order_and_branches():
    facts = _facts("""
def call(fn, strict):
    try:
        fn()
    except Exception as e:
        LOG.info('before')
        if strict:
            LOG.warning('in branch')
            raise
        else:
            LOG.error('other branch')
        LOG.critical('after')
""")
    [handler] = facts.nodes(ast.ExceptHandler)
    verdicts = {c.func.attr: reraises_after(c, handler, facts)
                for c in _calls(facts, "info") + _calls(facts, "warning") +
                _calls(facts, "error") + _calls(facts, "critical")}
    assert verdicts == {"info": True, "warning": True, "error": False,
                        "critical": False}


def test_binding_handler_prefers_the_inner_shadowing_clause():
    facts = _facts("""
try:
    pass
except Exception as e:
    try:
        pass
    except KeyError as e:
        print(e)
    print(e)
""")
    outer, inner = facts.nodes(ast.ExceptHandler)
    uses = [n for n in facts.nodes(ast.Name) if n.id == "e"]
    assert [binding_handler(u) for u in uses] == [inner, outer]


def test_isinstance_narrowing_needs_a_specific_type():
    facts = _facts("""
try:
    pass
except Exception as e:
    if isinstance(e, exception.Invalid):
        print(e)
    if isinstance(e, Exception):
        print(e)
""")
    [handler] = facts.nodes(ast.ExceptHandler)
    uses = [n for n in facts.nodes(ast.Name)
            if n.id == "e" and isinstance(parent_of(n), ast.Call)
            and parent_of(n).func.id == "print"]
    assert [is_narrowed(u, handler, facts) for u in uses] == [True, False]


def test_nsa301_exc_info_type_names_the_handler_binding():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except ks_exc.ConnectFailure as e:
        exc_class, _, _ = sys.exc_info()
        raise exc_class('unreachable: %s' % e)
""", "NSA301")
    assert found.fix_args == {"type": "ks_exc.ConnectFailure", "name": "e"}


def test_leaky_spans_cover_only_code_after_a_broad_handler():
    from nova_secaudit.analysis.handlers import statements_in_leaky_spans
    facts = _facts("""
def before_and_after(fn):
    early = 1
    try:
        fn()
    except Exception as e:
        late = 2
    return late


def only_specific(fn):
    try:
        fn()
    except KeyError as e:
        late = 3
""")
    late = [a for a in facts.nodes(ast.Assign)
            if getattr(a.targets[0], "id", "") == "late"]
    # not ``early``, and not the ``late`` after the KeyError handler
    assert statements_in_leaky_spans(facts, ast.Assign) == late[:1]
    [ret] = facts.nodes(ast.Return)
    assert statements_in_leaky_spans(facts, ast.Return) == [ret]


def test_text_bound_before_the_handler_does_not_carry():
    assert _findings("""
def call(fn, e):
    msg = 'bad input: %s' % e
    try:
        return fn()
    except Exception as e:
        pass
    return msg
""", "NSA303") == []


def test_nsa302_fix_data_marks_traceback_on_a_broad_catch_too():
    [found] = _findings("""
def call(fn):
    try:
        return fn()
    except Exception as exc:
        LOG.exception('failed: %s', exc)
        raise
""", "NSA302")
    assert found.fix_args["exc_info"] == "1"
    assert "arg_line" in found.fix_args


def test_nsa303_message_names_a_driver_catch():
    [found] = _findings("""
def status(session):
    try:
        session.execute('SELECT 1')
    except db_exc.DBConnectionError as err:
        return {'error': str(err)}
""", "NSA303")
    assert "text of a driver exception reaches" in found.message
    [found] = _findings("""
def status(session):
    try:
        session.execute('SELECT 1')
    except (db_exc.DBConnectionError, Exception) as err:
        return {'error': str(err)}
""", "NSA303")
    assert "broadly caught exception" in found.message


def test_nsa302_message_names_the_shape():
    raw, traceback = _findings("""
def call(fn):
    try:
        return fn()
    except KeyError as e:
        LOG.warning('missing %s', e)
        LOG.error('lookup failed', exc_info=True)
        raise
""", "NSA302")
    assert raw.message.startswith("raw e logged at warning")
    assert "mask it" in raw.message
    assert traceback.message.startswith("traceback logged at error")
    assert "logged twice" in traceback.message
    assert traceback.fix_args == {"exc_info": "1"}
