"""NSA3xx: exception handling that leaks detail.

Fix data for the codemods (``Finding.fix_args``):

- NSA301: ``{"bare": "1"}`` when the new exception's arguments are only the
  caught exception's own text (``e``, ``str(e)``, ``six.text_type(e)``,
  ``*e.args``, ``e.message``): a bare ``raise`` keeps type, text and
  traceback. Otherwise ``{"name": <caught exception's name>}`` plus
  ``"type"``: the source of the class the handler names when it names
  exactly one (``raise <type>(...) from <name>``); no ``"type"`` for a tuple
  or a bare except, where only a hint can be given.
- NSA302: ``"arg_line"``, ``"arg_col"``, ``"arg_end_line"``,
  ``"arg_end_col"``: position (1-based lines, 0-based UTF-8 byte columns,
  as ``ast``) of the first raw-text expression to wrap in the masker;
  ``"raw_args"``: every such expression as ``line:col:end_line:end_col``
  joined by ``;``; ``"exc_info": "1"`` when the call is ``.exception()`` or
  passes a true ``exc_info`` (the traceback cannot be wrapped: the fix is a
  hint to log it once, at the caller). A call with only exc_info has no
  ``arg_*`` keys.
- NSA303: none (no codemod; the message is the hint).
"""

from __future__ import annotations

import ast
import re

from nova_secaudit.analysis import enclosing_function, statement_expressions
from nova_secaudit.analysis.handlers import (
    catch_kind, enclosing_handlers, exception_flow,
    first_handlers, first_leaky_handlers, leaky_spans,
    statements_in_leaky_spans,
    handlers_by_function, has_exc_info_names, holds_exception_object,
    latest_assignment,
    is_own_text, may_carry, original_type_wrap, raw_text_source,
    reraises_after, set_parents)
from nova_secaudit.analysis.functions import NESTED_SCOPES, walk, walk_local
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.logs import LOG_LEVELS, logging_level, \
    logging_method
from nova_secaudit.analysis.names import name_tokens
from nova_secaudit.engine import Example, FixSafety, Rule

FAMILY = ("3", "exceptions", "Exception handling that leaks detail")

INFO = 20
_LEVEL_NAMES = {20: "info", 30: "warning", 40: "error", 50: "critical"}
# Keywords of a logging call that are not part of the logged text.
NON_TEXT_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel",
                               "extra"})
SIX_RERAISE = "six.reraise"
WEBOB_HTTP = "webob.exc.HTTP"
HTTP_TEXT_KEYWORDS = frozenset({"explanation", "detail", "comment"})
# Keywords of an exception's constructor that go into its message even
# when given the caught exception object itself (``reason=e``); another
# keyword given the bare object (``cause=err``, ``db_exception=exc``)
# keeps it as an attribute, like ``from e``.
MESSAGE_TOKENS = frozenset({"message", "msg", "reason", "explanation",
                            "detail", "details", "error", "err",
                            "description", "comment", "text"})
# Raising these skips a test: the text goes to the test runner.
TEST_SKIPS = frozenset({"unittest.SkipTest", "unittest.case.SkipTest",
                        "testtools.testcase.TestSkipped"})
RESPONSE_TOKENS = frozenset({"resp", "response", "res"})
RESPONSE_BODY_ATTRIBUTES = frozenset({"body", "text", "json_body",
                                      "unicode_body"})


# Text of a logging method call: read before walking a handler's code.
# ``.warning(`` with blanks or line continuations around the name.
_LOG_CALL = re.compile(r"\.[\s\\]*(?:%s)[\s\\]*\(" % "|".join(
    sorted(LOG_LEVELS)))


def _owner(node: ast.AST, facts) -> ast.AST:
    return enclosing_function(node) or facts.tree


def _after_leaky_handler(node: ast.AST, owner: ast.AST, facts) -> bool:
    """Whether a broad or driver handler of ``owner`` starts at or before
    ``node``: raw text flows forward only, so nothing earlier can carry."""
    first = facts.memo(first_leaky_handlers).get(id(owner))
    return first is not None and first <= (node.lineno, node.col_offset)


def _owner_after_leaky_handler(node: ast.stmt, facts) -> ast.AST | None:
    """``node``'s function when a leaky handler precedes it there."""
    if not facts.memo(first_leaky_handlers):
        return None
    owner = _owner(node, facts)
    return owner if _after_leaky_handler(node, owner, facts) else None


def _flow_for(node: ast.stmt, exprs, facts):
    """The leaky-exception flow of ``node``'s function when a broad or
    driver handler precedes ``node`` and one of ``exprs`` may carry its
    text (cheap test first), else None."""
    owner = _owner_after_leaky_handler(node, facts)
    if owner is None:
        return None
    set_parents(node)
    start = facts.memo(first_leaky_handlers)[id(owner)]
    if not any(may_carry(e, owner, start, facts) for e in exprs):
        return None
    return exception_flow(owner, facts)


def _may_rebuild(func: ast.AST, facts) -> bool:
    """Cheap shape test before :func:`original_type_wrap`."""
    if isinstance(func, ast.Call):
        return getattr(func.func, "id", None) == "type"
    if isinstance(func, ast.Attribute):
        return func.attr == "__class__"
    return isinstance(func, ast.Name) and has_exc_info_names(facts)


def _result_carries(value: ast.AST, at: ast.stmt, flow) -> bool:
    """A returned value carries the text: itself, or a container or an
    object built from it (``Result(code, details=msg)``: a call of a
    CapWords class)."""
    if flow.carries(value, at):
        return True
    if isinstance(value, (ast.Tuple, ast.List)):
        return any(_result_carries(v, at, flow) for v in value.elts)
    if isinstance(value, ast.Dict):
        return any(_result_carries(v, at, flow) for v in value.values)
    if isinstance(value, ast.Call):
        callee = dotted_name(value.func) or ""
        if callee.rpartition(".")[2][:1].isupper():
            return any(_result_carries(v, at, flow)
                       for v in value.args +
                       [kw.value for kw in value.keywords])
    return False


def _text_keyword(name: str | None) -> bool:
    return name is None or bool(set(name_tokens(name)) & MESSAGE_TOKENS)


def _helper_call(call: ast.Call) -> bool:
    """A call of a function or method (its last name lowercase), not of
    an exception class: what it returns is not followed
    (``raise self.skipTest(msg)``, ``raise convert_to_http(e)``); the
    caller still takes ``exc_type(...)`` of ``sys.exc_info()``."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else \
        getattr(func, "id", None)
    return name is not None and name != "__class__" and \
        not name.lstrip("_")[:1].isupper()


def _caught_what(node: ast.AST, facts) -> str:
    """How the message names the exception whose text leaks: by the
    innermost broad or driver handler around ``node``, else (the text
    reached it through an assignment) by every such handler of its
    function."""
    kinds = [kind for kind in (catch_kind(h, facts)
                               for h in enclosing_handlers(node)) if kind]
    if kinds:
        kinds = kinds[:1]
    else:
        kinds = [kind for kind in (
            catch_kind(h, facts) for h in handlers_by_function(facts).get(
                id(_owner(node, facts)), ())) if kind]
    if kinds and set(kinds) == {"driver"}:
        return "driver exception"
    return "broadly caught exception"


def _position(expr: ast.AST) -> str:
    return (f"{expr.lineno}:{expr.col_offset}:{expr.end_lineno}:"
            f"{expr.end_col_offset}")


class ReraiseWrappedInOriginalType(Rule):
    """Flags a handler that re-raises a new exception of the caught type.

    Why this is bad:
        ``raise type(e)(str(e))`` rebuilds the exception from its text: the
        new object loses the original's attributes, kwargs and ``__cause__``
        chain, exceptions whose constructor takes other arguments blow up
        with a TypeError that hides the real error, and the copied text
        (with any connection URL or password a driver put there) travels on
        as if it were the project's own message (CWE-209, CWE-532).
    Fix:
        A bare ``raise`` when the arguments are only the exception's own
        text (safe: same type, text and traceback). Otherwise unsafe, with
        ``--unsafe-fixes`` only: in a module with a logger, the context
        message logged at debug level and a bare ``raise`` (keeps the
        type; callers see the original text), else ``raise
        <CaughtType>(...) from e`` when the handler names one class (the
        raised type may become a base class of the original).
    Known limits:
        ``six.reraise(type(e), e, tb)`` re-raises the caught object itself
        and is not flagged; only a new value built for the original type
        is.
    """

    code = "NSA301"
    statement_only = True
    trigger = ("except", "exc_info")
    symbol = "reraise-wrapped-in-original-type"
    cwe = (209, 532)
    message = ("{how} rebuilds the caught exception from its text (CWE-209);"
               " use bare raise or raise ... from e")
    fix = FixSafety.UNSAFE
    bad = (
        Example(
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        raise type(e)(str(e))\n",
            name="type-of-caught-with-own-text",
            fixed="def call(fn):\n"
                  "    try:\n"
                  "        return fn()\n"
                  "    except Exception as e:\n"
                  "        raise\n"),
        Example(
            "from nova import exception\n\n\n"
            "def call(fn, cell):\n"
            "    try:\n"
            "        return fn()\n"
            "    except exception.NovaException as err:\n"
            "        raise err.__class__('cell %s: %s' % (cell, err))\n",
            name="dunder-class-with-context",
            fixed="from nova import exception\n\n\n"
                  "def call(fn, cell):\n"
                  "    try:\n"
                  "        return fn()\n"
                  "    except exception.NovaException as err:\n"
                  "        raise exception.NovaException("
                  "'cell %s: %s' % (cell, err)) from err\n"),
        Example(
            "import sys\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        exc_type, exc_value, tb = sys.exc_info()\n"
            "        raise exc_type('call failed: %s' % exc_value)\n",
            name="exc-info-type"),
        Example(
            "import six\n\n\n"
            "def call(fn, tb):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        six.reraise(type(e), type(e)('wrapped: %s' % e), tb)\n",
            name="six-reraise-new-value"),
    )
    good = (
        Example(
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        raise\n",
            name="bare-raise"),
        Example(
            "import sys\n\nimport six\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        six.reraise(type(e), e, sys.exc_info()[2])\n",
            name="six-reraise-same-object"),
        Example(
            "class Record:\n"
            "    def copy(self):\n"
            "        try:\n"
            "            return self.clone()\n"
            "        except AttributeError:\n"
            "            return type(self)(self.data)\n",
            name="type-of-self-not-an-exception"),
        Example(
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        raise RuntimeError('call failed') from e\n",
            name="new-type-chained"),
    )

    def visit_Module(self, node: ast.Module, facts):
        # Loops over the statement index instead of a dispatch per
        # statement; six.reraise only where the text mentions it.
        for raise_ in facts.nodes(ast.Raise):
            exc = raise_.exc
            if exc.__class__ is ast.Call and _may_rebuild(exc.func, facts):
                yield from self._check_raise(raise_, facts)
        if facts.source is None or "reraise(" in facts.source:
            for expr in facts.nodes(ast.Expr):
                if expr.value.__class__ is ast.Call:
                    yield from self._check_six_reraise(expr, facts)

    def _check_raise(self, node: ast.Raise, facts):
        exc = node.exc
        wrap = original_type_wrap(set_parents(node).exc, facts)
        if wrap is None:
            return
        handler, name = wrap
        yield self.finding(node, facts, how=self._how(exc),
                           fix_data=self._fix_data(exc, handler, name,
                                                   facts))

    def _check_six_reraise(self, node: ast.Expr, facts):
        call = node.value
        if len(call.args) < 2:
            return
        func = call.func
        if getattr(func, "attr", None) != "reraise" and \
                getattr(func, "id", None) != "reraise":
            return
        kind, value = call.args[0], call.args[1]
        if facts.qualified_name(func) != SIX_RERAISE or \
                not _may_rebuild(kind, facts):
            return
        set_parents(node)
        wrap = original_type_wrap(ast.Call(func=kind, args=[], keywords=[]),
                                  facts)
        if wrap is None:
            return
        handler, name = wrap
        if isinstance(value, ast.Name) and raw_text_source(value, facts):
            return  # the caught object itself: nothing is rebuilt
        if isinstance(value, ast.Subscript) and raw_text_source(
                value.value, facts) is not False:
            return  # sys.exc_info()[1]
        fix_data = {"name": name} if name else {}
        yield self.finding(call, facts, how="six.reraise(type(e), ...)",
                           fix_data=fix_data)

    @staticmethod
    def _how(call: ast.Call) -> str:
        func = call.func
        if isinstance(func, ast.Call):
            return "raise type(e)(...)"
        if isinstance(func, ast.Attribute):
            return "raise e.__class__(...)"
        return f"raise {func.id}(...)"

    @staticmethod
    def _fix_data(call: ast.Call, handler, name: str, facts) -> dict:
        if name and call.args and not call.keywords and all(
                is_own_text(a, name, facts) for a in call.args):
            return {"bare": "1"}
        data = {"name": name} if name else {}
        if handler is not None and handler.type is not None and \
                not isinstance(handler.type, ast.Tuple):
            data["type"] = ast.unparse(handler.type)
        return data


class RawExceptionLoggedThenReraised(Rule):
    """Flags raw exception text logged in a handler that re-raises.

    Why this is bad:
        The exception goes on to a caller that logs it again: operators get
        every failure twice, and the raw text of a driver error carries DB
        and MQ URLs with passwords, SQL statements and their parameters
        into the logs unmasked (CWE-532, CWE-209). ``LOG.exception()`` /
        ``exc_info=True`` adds the whole traceback the caller logs anyway.
    Fix:
        Wraps the raw text in the configured masker (default
        ``strutils.mask_password``; URL credentials need the URL masker of
        NSA502). Safe. When the text is a local name (``msg``) that the
        handler also raises or logs elsewhere, its one binding is masked
        instead, so every sink gets masked text; without a single binding
        the fix is declined. For ``.exception()``/``exc_info`` only a
        hint: log the traceback once, where the exception is finally
        handled.
    Known limits:
        Whatever the handler caught (RULES.md): a project exception's text
        may quote a driver's. Two shapes, named by the message: raw text
        (``e``, ``str(e)``, ``e.args``, ``traceback.format_exc()``, through
        simple assignments) at info or above, and the traceback
        (``.exception()``, ``exc_info=True``) logged here and again by the
        caller; Nova's ``LOG.exception`` inside
        ``save_and_reraise_exception`` is the second shape and is flagged:
        let a baseline absorb the existing ones. Re-raising is any
        ``raise`` (a new exception chains the caught one as its context),
        ``six.reraise``, or the logging call sitting in ``with
        excutils.save_and_reraise_exception():`` whose body never sets
        ``reraise = False``. Decided per path: the raise must be able to
        run after the logging call, not in the other branch of an ``if``
        and not after a ``return`` that follows the call. Debug level is
        not flagged; a level given as a variable is not judged. ``raise
        SystemExit(...)`` is not a re-raise: the process ends and nothing
        logs the exception again.
    """

    code = "NSA302"
    statement_only = True
    trigger = ("except",)
    symbol = "raw-exception-logged-then-reraised"
    cwe = (532, 209)
    message = "{what} logged at {level} and re-raised (CWE-532); {advice}"
    fix = FixSafety.SAFE
    bad = (
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, cell):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        LOG.error('cell %s failed: %s', cell, e)\n"
            "        raise\n",
            name="error-with-bound-exception",
            # The codemod's output: mask_password leaves URL credentials
            # alone, so the text also goes through the URL masker.
            fixed="import logging\nimport re\n\n"
                  "from oslo_utils import strutils\n\n\n"
                  "def _mask_url_credentials(value):\n"
                  "    \"\"\"Text of ``value`` with the password of every "
                  "URL in it masked.\"\"\"\n"
                  "    return re.sub(r'(://[^:/@\\s]*:)[^\\s/]*@', "
                  "r'\\1***@', str(value))\n\n\n"
                  "LOG = logging.getLogger(__name__)\n\n\n"
                  "def call(fn, cell):\n"
                  "    try:\n"
                  "        return fn()\n"
                  "    except Exception as e:\n"
                  "        LOG.error('cell %s failed: %s', cell,\n"
                  "                  strutils.mask_password("
                  "_mask_url_credentials(e)))\n"
                  "        raise\n"),
        Example(
            "from oslo_log import log as logging\n"
            "from oslo_utils import excutils\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as exc:\n"
            "        with excutils.save_and_reraise_exception():\n"
            "            msg = 'call failed: %s' % exc\n"
            "            LOG.warning(msg)\n",
            name="save-and-reraise-through-assignment"),
        Example(
            "import traceback\n\nfrom oslo_log import log as logging\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        LOG.error(traceback.format_exc())\n"
            "        raise\n",
            name="format-exc"),
        Example(
            "from oslo_log import log as logging\n"
            "from oslo_utils import excutils\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def spawn(driver, instance):\n"
            "    try:\n"
            "        driver.spawn(instance)\n"
            "    except Exception:\n"
            "        with excutils.save_and_reraise_exception():\n"
            "            LOG.exception('Instance failed to spawn',\n"
            "                          instance=instance)\n",
            name="exception-method-inside-save-and-reraise"),
        Example(
            "import logging\n\nfrom nova import exception\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except exception.InstanceNotFound as e:\n"
            "        LOG.warning('gone: %s', e)\n"
            "        raise\n",
            name="project-exception-text"),
        Example(
            "import logging\n\nimport webob.exc\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def show(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except ValueError:\n"
            "        LOG.error('bad value', exc_info=True)\n"
            "        raise webob.exc.HTTPBadRequest()\n",
            name="exc-info-then-new-exception"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, retry):\n"
            "    try:\n"
            "        return fn()\n"
            "    except OSError as e:\n"
            "        if retry:\n"
            "            LOG.warning('giving up: %s', e)\n"
            "        raise\n",
            name="raise-after-conditional-log"),
        Example(
            "import requests\n\n\n"
            "class Worker:\n"
            "    def run(self, fn):\n"
            "        try:\n"
            "            return fn()\n"
            "        except requests.exceptions.ConnectionError as e:\n"
            "            self._log.exception('run failed')\n"
            "            raise RuntimeError('run failed') from e\n",
            name="exception-method-then-chained-raise"),
    )
    good = (
        Example(
            "import logging\n\nfrom oslo_utils import strutils\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        LOG.error('failed: %s', strutils.mask_password(str(e)))\n"
            "        raise\n",
            name="masked"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        LOG.debug('failed: %s', e)\n"
            "        raise\n",
            name="debug-level"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        LOG.error('call failed: %s', e)\n"
            "        return None\n",
            name="handler-does-not-reraise"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, retry):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        if not retry:\n"
            "            raise\n"
            "        LOG.warning('retrying after: %s', e)\n",
            name="raise-only-before-the-log"),
        Example(
            "from oslo_log import log as logging\n"
            "from oslo_utils import excutils\n\n"
            "LOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        with excutils.save_and_reraise_exception() as ctxt:\n"
            "            LOG.warning('ignored: %s', e)\n"
            "            ctxt.reraise = False\n",
            name="save-and-reraise-switched-off"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, cell):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        LOG.error('cell %s failed', cell)\n"
            "        raise\n",
            name="generic-message"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, retry):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        if retry:\n"
            "            LOG.warning('retry later: %s', e)\n"
            "            return None\n"
            "        raise\n",
            name="logged-then-returned-on-that-path"),
        Example(
            "import logging\n\nLOG = logging.getLogger(__name__)\n\n\n"
            "def call(fn, strict):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        if strict:\n"
            "            raise\n"
            "        else:\n"
            "            LOG.exception('ignored')\n",
            name="raise-in-the-other-branch"),
        Example(
            "from nova import exception\nfrom oslo_log import log\n\n"
            "LOG = log.getLogger(__name__)\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except exception.Invalid as e:\n"
            "        LOG.info('invalid: %s', e.format_message())\n"
            "        raise\n",
            name="format-message-is-not-raw"),
    )

    def visit_ExceptHandler(self, node: ast.ExceptHandler, facts):
        if facts.source is None:
            candidates = walk_local(node)
        else:
            # Only the statements on lines with a log call are walked.
            candidates = [
                inner for statement in facts.statements_matching(
                    _LOG_CALL, node.lineno, node.end_lineno)
                for inner in statement_expressions(statement, NESTED_SCOPES)]
        # Collect first: the walk sets a node's children's parents only
        # after yielding it, and the checks below ask for ancestors.
        calls = [call for call in candidates
                 if isinstance(call, ast.Call) and
                 isinstance(call.func, ast.Attribute) and
                 call.func.attr in LOG_LEVELS]
        if not calls:
            return
        owner = _owner(node, facts)
        # A call in a nested handler or function belongs to that one.
        for call in calls:
            if next(enclosing_handlers(call), None) is node:
                yield from self._check(call, node, owner, facts)

    def _check(self, node: ast.Call, handler, owner, facts):
        method = logging_method(node, facts)
        if method is None:
            return
        level = logging_level(node, method)
        if level is None or level < INFO or \
                not reraises_after(node, handler, facts):
            return
        logs_traceback = method == "exception" or any(
            kw.arg == "exc_info" and not (
                isinstance(kw.value, ast.Constant) and not kw.value.value)
            for kw in node.keywords)
        arguments = node.args[1:] if method == "log" else node.args
        texts = list(arguments) + [kw.value for kw in node.keywords
                                   if kw.arg not in NON_TEXT_KEYWORDS and
                                   kw.arg is not None]
        start = facts.memo(first_handlers)[id(owner)]
        raw = []
        if any(may_carry(t, owner, start, facts) for t in texts):
            raw = self._raw_parts(texts, node, owner, facts)
        if not raw and not logs_traceback:
            return
        fix_data = {}
        if raw:
            first = raw[0]
            fix_data.update(arg_line=str(first.lineno),
                            arg_col=str(first.col_offset),
                            arg_end_line=str(first.end_lineno),
                            arg_end_col=str(first.end_col_offset),
                            raw_args=";".join(map(_position, raw)))
        if logs_traceback:
            fix_data["exc_info"] = "1"
        level_name = _LEVEL_NAMES.get(level, str(level))
        if raw:
            what = ast.unparse(raw[0])
            if len(what) > 20:
                what = "exception text"
            what = f"raw {what}"
            advice = "mask it or log once"
        else:
            what = "traceback"
            advice = "logged twice, log it once at the caller"
        yield self.finding(node, facts, what=what, level=level_name,
                           advice=advice, fix_data=fix_data)

    @staticmethod
    def _raw_parts(texts, call, owner, facts) -> list[ast.AST]:
        flow = exception_flow(owner, facts, any_catch=True)
        return [part for text in texts
                for part in flow.raw_parts(text, call)]


class ExceptionDetailToCaller(Rule):
    """Flags the text of a broadly caught exception sent back to the caller.

    Why this is bad:
        ``except Exception as e`` catches driver errors whose text holds
        connection URLs with passwords, hostnames, SQL and file paths; put
        into an HTTP explanation, a raised exception's message (which Nova
        returns to API users and stores in instance faults), a returned
        value or a response body, it reaches users who must never see it
        (CWE-209).
    Fix:
        None automatic: catch the specific exception and use
        ``e.format_message()``, or return a generic message and log the
        detail (masked) for operators.
    Known limits:
        Sinks per RULES.md: a raised exception's message, reason and
        positional arguments, of any type (builtins, library and
        ``type(e)(...)`` included: the caller may show or store its text);
        a keyword not named like a message (``cause=err``,
        ``db_exception=exc``) given the bare exception object keeps it as
        an attribute and is not a sink, nor is a test skip
        (``unittest.SkipTest``). The exception may be built first (``ex =
        Failure(reason=str(exc)); raise ex``); a webob HTTP error's
        explanation wherever it is built; a returned value, also a
        container or an object built from it (``return Result(code,
        details=msg)``, a call of a CapWords class); a response body.
        Values flow through simple assignments and string building in the
        same function (``%``, f-strings, ``.format``, ``join``,
        ``re.sub``); a helper's return value is not followed (``raise
        self.skipTest(msg)``, ``raise convert_to_http_exc(e)``: a
        lowercase callee is a function, not an exception class). Whether the
        raised exception finally reaches a tenant (rather than the
        operator of nova-manage or a periodic task) is not traced, nor is a
        project exception that ignores the argument or a wrapper unwrapped
        before anyone sees it (neutron's ``UnknownProvisioningError(e)``):
        both are still flagged.
        Builtins other than Exception/BaseException, project exceptions,
        ``e.format_message()`` and uses narrowed by ``isinstance(e,
        <specific>)`` are not flagged; the exception object itself
        (returned or raised again) is not text and is not flagged.
    """

    code = "NSA303"
    statement_only = True
    trigger = ("except",)
    symbol = "exception-detail-to-caller"
    cwe = (209,)
    message = ("text of a {caught} reaches the caller via {sink} "
               "(CWE-209); use a generic message")
    fix = FixSafety.NONE
    bad = (
        Example(
            "import webob.exc\n\n\n"
            "def show(req, fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        msg = 'Lookup failed: %s' % e\n"
            "        raise webob.exc.HTTPBadRequest(explanation=msg)\n",
            name="http-explanation-through-assignment"),
        Example(
            "from sqlalchemy import exc as sa_exc\n\n\n"
            "def status(session):\n"
            "    try:\n"
            "        session.execute('SELECT 1')\n"
            "    except sa_exc.OperationalError as err:\n"
            "        return {'status': 'down', 'error': str(err)}\n",
            name="driver-error-returned"),
        Example(
            "from nova import exception\n\n\n"
            "def attach(volume):\n"
            "    try:\n"
            "        volume.attach()\n"
            "    except (IOError, Exception) as ex:\n"
            "        raise exception.VolumeAttachFailed(reason=str(ex))\n",
            name="tuple-with-exception-into-reason"),
        Example(
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        raise ValueError('call failed: %s' % str(e))\n",
            name="builtin-raised-with-broad-text"),
        Example(
            "class ClientError(Exception):\n"
            "    pass\n\n\n"
            "def call(fn, target):\n"
            "    try:\n"
            "        return fn()\n"
            "    except BaseException as ex:\n"
            "        raise ClientError(target, ex)\n",
            name="exception-as-positional-argument"),
        Example(
            "from nova import exception\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as exc:\n"
            "        ex = exception.Failure(reason=str(exc))\n"
            "        raise ex\n",
            name="exception-built-then-raised"),
        Example(
            "import collections\n\n"
            "Result = collections.namedtuple('Result', 'code details')\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return Result(0, fn())\n"
            "    except Exception as e:\n"
            "        msg = ', '.join(['failed', str(e)])\n"
            "        return Result(500, details=msg)\n",
            name="result-object-returned"),
        Example(
            "import re\n\nfrom oslo_db import exception as db_exc\n\n\n"
            "def call(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except db_exc.DBError as e:\n"
            "        return re.sub('\\s+', ' ', str(e))\n",
            name="driver-text-through-re-sub"),
    )
    good = (
        Example(
            "import webob.exc\n\nfrom nova import exception\n\n\n"
            "def show(req, fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except exception.InstanceNotFound as e:\n"
            "        raise webob.exc.HTTPNotFound("
            "explanation=e.format_message())\n",
            name="format-message-of-project-exception"),
        Example(
            "def parse(value):\n"
            "    try:\n"
            "        return int(value)\n"
            "    except ValueError as e:\n"
            "        raise TypeError('bad value: %s' % e)\n",
            name="builtin-value-error"),
        Example(
            "import webob.exc\n\nfrom nova import exception\n\n\n"
            "def show(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        if isinstance(e, exception.Invalid):\n"
            "            raise webob.exc.HTTPBadRequest(explanation=str(e))\n"
            "        raise\n",
            name="isinstance-narrowed"),
        Example(
            "import webob.exc\n\n\n"
            "def show(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception:\n"
            "        raise webob.exc.HTTPInternalServerError(\n"
            "            explanation='Unexpected error')\n",
            name="generic-message"),
        Example(
            "def call(fn, parse):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        try:\n"
            "            return parse()\n"
            "        except KeyError as e:\n"
            "            raise LookupError('missing %s' % e)\n",
            name="inner-handler-shadows-outer-name"),
        Example(
            "def gather(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        return e\n",
            name="exception-object-returned"),
        Example(
            "import webob.exc\n\n\n"
            "def show(fn):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        raise webob.exc.HTTPServerError('failed') from e\n",
            name="chained-with-generic-message"),
        Example(
            "def call(fn, log):\n"
            "    try:\n"
            "        return fn()\n"
            "    except Exception as e:\n"
            "        log(e)\n"
            "        return Result(500, details=len(str(e)))\n",
            name="derived-length-in-result"),
    )

    def _check_raise(self, node: ast.Raise, facts):
        built, at = set_parents(node).exc, node
        if isinstance(built, ast.Name):
            # ``ex = Failure(reason=str(exc)); raise ex``
            assign = latest_assignment(built, facts)
            if assign is None:
                return
            built, at = set_parents(assign).value, assign
        if not isinstance(built, ast.Call) or _helper_call(built) and \
                original_type_wrap(built, facts) is None:
            return
        flow = _flow_for(node, [built], facts)
        if flow is None:
            return
        if facts.qualified_name(built.func) in TEST_SKIPS:
            return
        values = list(built.args) + [
            kw.value for kw in built.keywords
            if _text_keyword(kw.arg) or
            not holds_exception_object(kw.value, facts)]
        if any(flow.carries(v, at) for v in values):
            yield self._finding(node, facts, self._sink(built, facts))
            return
        yield from self._http_sinks(built, at, flow, facts)

    def _check_return(self, node: ast.Return, facts):
        value = node.value
        if value is None or isinstance(value, ast.Constant):
            return
        flow = _flow_for(node, [value], facts)
        if flow is None or holds_exception_object(value, facts):
            return  # the exception object itself, not its text
        found = list(self._http_sinks(value, node, flow, facts))
        if found:
            yield from found
        elif _result_carries(value, node, flow):
            yield self._finding(node, facts, "a returned value")

    def _finding(self, node: ast.AST, facts, sink: str):
        return self.finding(node, facts, sink=sink,
                            caught=_caught_what(node, facts))

    def visit_Module(self, node: ast.Module, facts):
        # One loop per statement kind instead of a dispatch per statement,
        # and only statements inside a span that follows a broad handler.
        if not facts.memo(leaky_spans):
            return
        for raise_ in statements_in_leaky_spans(facts, ast.Raise):
            if raise_.exc.__class__ in (ast.Call, ast.Name):
                yield from self._check_raise(raise_, facts)
        for return_ in statements_in_leaky_spans(facts, ast.Return):
            value = return_.value
            if value is not None and value.__class__ is not ast.Constant:
                yield from self._check_return(return_, facts)
        call_class, attribute_class = ast.Call, ast.Attribute
        for assign in statements_in_leaky_spans(facts, ast.Assign):
            value = assign.value
            if value.__class__ is call_class:
                func = value.func
                name = func.attr if func.__class__ is attribute_class else \
                    getattr(func, "id", "")
                if name.startswith("HTTP"):
                    yield from self._check_assign(assign, facts)
                    continue
            target = assign.targets[-1]
            if target.__class__ is attribute_class and \
                    target.attr in RESPONSE_BODY_ATTRIBUTES:
                yield from self._check_assign(assign, facts)

    def _check_assign(self, node: ast.Assign, facts):
        value = node.value
        flow = _flow_for(node, [value], facts)
        if flow is None:
            return
        found = list(self._http_sinks(value, node, flow, facts))
        if found:
            yield from found
            return
        for target in node.targets:
            if isinstance(target, ast.Attribute) and \
                    target.attr in RESPONSE_BODY_ATTRIBUTES:
                receiver = dotted_name(target.value)
                if receiver and set(name_tokens(
                        receiver.rpartition(".")[2])) & RESPONSE_TOKENS and \
                        flow.carries(value, node):
                    yield self._finding(node, facts, "a response body")
                    return

    @staticmethod
    def _sink(exc: ast.Call, facts) -> str:
        qualified = facts.qualified_name(exc.func) or ""
        return "an HTTP explanation" if qualified.startswith(WEBOB_HTTP) \
            else "a raised exception"

    def _http_sinks(self, expr: ast.AST, at: ast.stmt, flow, facts):
        """webob HTTP errors built anywhere in ``expr`` with raw text."""
        for call in [expr, *walk(expr)]:
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", None) or getattr(
                call.func, "id", "")
            if not name.startswith("HTTP") or not (
                    facts.qualified_name(call.func) or "").startswith(
                        WEBOB_HTTP):
                continue
            values = call.args[:1] + [kw.value for kw in call.keywords
                                      if kw.arg in HTTP_TEXT_KEYWORDS]
            if any(flow.carries(v, at) for v in values):
                yield self._finding(call, facts, "an HTTP explanation")
                return


RULES = (ReraiseWrappedInOriginalType, RawExceptionLoggedThenReraised,
         ExceptionDetailToCaller)
