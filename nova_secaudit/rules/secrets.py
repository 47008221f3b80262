"""NSA5xx: connection secrets kept in global caches or written to logs.

Fix data (for the codemod):
    NSA501  ``global``: the module global or container holding the secret.
    NSA502  ``url``: ``"1"`` when the value is URL-valued (a name with a
            url/uri/connection token: credentials sit in the netloc, which
            ``strutils.mask_password`` leaves as is), so the codemod wraps
            it in the URL-credential masker; absent otherwise (wrap in the
            configured masker). ``where``: ``log`` or ``raise``.
"""

from __future__ import annotations

import ast
import re

from nova_secaudit.analysis import enclosing_function
from nova_secaudit.analysis.flow import flowing_parts
from nova_secaudit.analysis.logs import LOG_LEVELS, logging_method
from nova_secaudit.analysis.mutables import (
    declared_global_names, declares_global, global_reference, module_state,
    statements_naming_shared_state)
from nova_secaudit.analysis.scopes import body_ranges
from nova_secaudit.analysis.sensitive import (
    HOLDER_ATTRIBUTES, bound_values, is_sensitive_expression,
    is_sensitive_name, secret_flow, sensitive_key)
from nova_secaudit.engine import Example, FixSafety, Rule

FAMILY = ("5", "secrets", "Connection secrets in global caches and logs")

STORING_METHODS = frozenset({"append", "appendleft", "extend", "insert",
                             "add", "update", "setdefault"})
EVICTING_METHODS = frozenset({"pop", "popitem", "clear", "remove",
                              "discard", "popleft", "__delitem__"})
# Logging keywords that carry no message text.
NON_TEXT_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel"})


def _scope_of(node: ast.AST, facts):
    return enclosing_function(node) or facts.tree


def _may_carry(expr: ast.AST, scope, facts) -> bool:
    """Cheap pre-test before building a function's flow (a superset of
    :class:`SecretFlow`): a secret reaches ``expr`` only through a
    sensitive name/key/constructor inside it, or through a local name one
    of whose bindings in ``scope`` may carry one in turn. Parameters and
    globals carry only by their own name, as in the flow."""
    settings = facts.settings
    bindings = None  # read only when a local name is met
    stack, seen = [expr], set()
    while stack:
        inner = stack.pop()
        kind = inner.__class__
        if kind is ast.Constant:
            continue
        if kind is ast.Name:
            name = inner.id
            if is_sensitive_name(name, settings):
                return True
            if name not in seen:
                seen.add(name)
                if bindings is None:
                    bindings = facts.memo(bound_values, scope)
                stack.extend(bindings.get(name, ()))
            continue
        if kind is ast.Attribute:
            # an attribute of a secret is not one unless named as one, or
            # a credential holder's writer/reader
            if is_sensitive_name(inner.attr, settings):
                return True
            if inner.attr in HOLDER_ATTRIBUTES:
                stack.append(inner.value)
            continue
        if (kind is ast.Subscript or kind is ast.Call or
                kind is ast.Dict) and is_sensitive_expression(inner, facts):
            return True
        stack.extend(flowing_parts(inner, facts))
    return False


def _carries(expr: ast.AST, scope, facts) -> tuple[bool, bool]:
    """(carries a secret, is URL-valued) for ``expr`` in ``scope``."""
    if secret_flow(scope, facts, url_mode=True).carries(expr):
        return True, True
    return secret_flow(scope, facts).carries(expr), False


def _evicted_by_text(facts, name: str) -> bool:
    """``NAME.pop(``/``.clear(``... or ``del NAME`` on a line inside a
    function body (any expression position, found without indexing every
    expression of the module)."""
    pattern = re.compile(
        r"(?<![\w.])(?:del\s+%s\b|%s\s*\.\s*(?:%s)\s*\()" % (
            re.escape(name), re.escape(name),
            "|".join(sorted(EVICTING_METHODS))))
    ranges = facts.memo(body_ranges)
    for number, line in enumerate(facts.lines, 1):
        if name in line and pattern.search(line.split("#", 1)[0]) and \
                any(first <= number <= last for first, last in ranges):
            return True
    return False


def _evicted_by_nodes(facts, name: str) -> bool:
    for call in facts.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and \
                func.attr in EVICTING_METHODS and \
                isinstance(func.value, ast.Name) and \
                func.value.id == name and \
                enclosing_function(call) is not None and \
                global_reference(name, call, facts):
            return True
    for delete in facts.nodes(ast.Delete):
        if enclosing_function(delete) is None:
            continue
        for target in delete.targets:
            if isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name) and target.id == name and \
                    global_reference(name, delete, facts):
                return True
    return False


def is_evicted(facts, name: str) -> bool:
    """Whether some function evicts module global ``name``: pop/clear/
    remove/del on it, or a ``global`` rebinding to a non-secret value."""
    return facts.memo(_is_evicted, name)


def _is_evicted(facts, name: str) -> bool:
    if facts.source is not None:
        evicted = _evicted_by_text(facts, name)
    else:
        evicted = _evicted_by_nodes(facts, name)
    if not evicted and name in facts.memo(declared_global_names):
        for assign in facts.nodes(ast.Assign):
            if not any(isinstance(t, ast.Name) and t.id == name
                       for t in assign.targets):
                continue
            func = enclosing_function(assign)
            if func is not None and not isinstance(func, ast.Lambda) and \
                    declares_global(func, name, facts) and \
                    not _carries(assign.value, func, facts)[0]:
                evicted = True
                break
    return evicted


def _top_call(stmt: ast.AST) -> ast.Call | None:
    """The call a statement makes at its top: ``X.f()``, ``v = X.f()``,
    ``return X.f()``."""
    value = getattr(stmt, "value", None)
    return value if isinstance(value, ast.Call) else None


class SecretInGlobalCache(Rule):
    """Flags a secret kept in a module-level cache or global, never evicted.

    Why this is bad:
        A password, token, connection URL or a connected engine/transport
        kept in a module global lives as long as the process: it outlives
        credential rotation (the old password keeps working, or keeps
        failing), shows up in core dumps, debuggers and guru-meditation
        reports, and one tenant's credentials may serve another request
        keyed the same way (CWE-312, CWE-522).
    Fix:
        None automatic: key the cache by an id, keep the minimum (not the
        URL or password), and provide invalidation (a function that pops or
        clears the entry; a test-only reset_globals() counts).
    Known limits:
        Secrets are found by name and by credential constructor, through
        simple assignments in the storing function; values built elsewhere
        and passed in under a neutral name are not seen.
    """

    code = "NSA501"
    symbol = "secret-in-global-cache"
    cwe = (312, 522)
    message = ("secret stored in global {name} that is never evicted "
               "(CWE-312); key by id, add invalidation")
    fix = FixSafety.NONE
    bad = (
        Example("TRANSPORT_URLS = {}\n\n\n"
                "def remember(cell_mapping):\n"
                "    TRANSPORT_URLS[cell_mapping.uuid] = "
                "cell_mapping.transport_url\n",
                name="transport-url-in-dict"),
        Example("from oslo_db.sqlalchemy import enginefacade\n\n"
                "ENGINES = []\n\n\n"
                "def connect(url):\n"
                "    manager = enginefacade.create_context_manager(url)\n"
                "    ENGINES.append(manager)\n",
                name="context-manager-appended"),
        Example("import oslo_messaging\n\n_TRANSPORT = None\n\n\n"
                "def init(conf, url):\n"
                "    global _TRANSPORT\n"
                "    _TRANSPORT = oslo_messaging.get_rpc_transport(\n"
                "        conf, url)\n",
                name="transport-in-global"),
    )
    good = (
        Example("CELL_CACHE = {}\n\n\n"
                "def remember(cell_mapping, conn):\n"
                "    CELL_CACHE[cell_mapping.uuid] = conn\n\n\n"
                "def reset():\n"
                "    CELL_CACHE.clear()\n",
                name="cache-with-reset-that-clears"),
        Example("SECRETS = {}\n\n\n"
                "def remember(key, secret_ref, token_id):\n"
                "    SECRETS[key] = (secret_ref, token_id)\n",
                name="secret-ref-and-token-id"),
        Example("IS_SQLITE = {}\n\n\n"
                "def remember(cell, database_connection):\n"
                "    IS_SQLITE[cell] = database_connection.startswith("
                "'sqlite')\n",
                name="boolean-derived-from-connection-string"),
        Example("import oslo_messaging\n\n_TRANSPORT = None\n\n\n"
                "def init(conf, url):\n"
                "    global _TRANSPORT\n"
                "    _TRANSPORT = oslo_messaging.get_rpc_transport(conf, url)"
                "\n\n\n"
                "def cleanup():\n"
                "    global _TRANSPORT\n"
                "    _TRANSPORT = None\n",
                name="global-reset-to-none"),
        Example("def remember(transport_url):\n"
                "    cache = {}\n"
                "    cache['url'] = transport_url\n"
                "    return cache\n",
                name="local-dict"),
    )

    statement_only = True

    def applies(self, facts) -> bool:
        """Only modules with a module-level mutable or a ``global``
        declaration can keep anything in a global."""
        state = facts.memo(module_state)
        return bool(state.mutables or facts.memo(declared_global_names))

    def _report(self, node, name, values, facts):
        scope = _scope_of(node, facts)
        values = [v for v in values if _may_carry(v, scope, facts)]
        if not values or is_evicted(facts, name):
            return
        if any(_carries(value, scope, facts)[0] for value in values):
            yield self.finding(node, facts, fix_data={"global": name},
                               name=name)

    def visit_Module(self, node, facts):
        # Only statements whose lines name a module mutable or a declared
        # global can store into one.
        for statement in facts.memo(statements_naming_shared_state):
            if isinstance(statement, ast.Assign):
                yield from self._check_assign(statement, facts)
            elif isinstance(statement, ast.Expr):
                yield from self._check_call(statement, facts)

    def _check_assign(self, node, facts):
        mutables = facts.memo(module_state).mutables
        declared = facts.memo(declared_global_names)
        if not any(isinstance(t, ast.Name) and t.id in declared or
                   isinstance(t, ast.Subscript) and
                   isinstance(t.value, ast.Name) and t.value.id in mutables
                   for t in node.targets):
            return
        func = enclosing_function(node)
        if func is None or isinstance(func, ast.Lambda):
            return
        for target in node.targets:
            if isinstance(target, ast.Subscript) and \
                    isinstance(target.value, ast.Name) and \
                    target.value.id in mutables and \
                    global_reference(target.value.id, node, facts):
                yield from self._report(node, target.value.id,
                                        [node.value], facts)
            elif isinstance(target, ast.Name) and \
                    declares_global(func, target.id, facts):
                yield from self._report(node, target.id, [node.value],
                                        facts)

    def _check_call(self, node, facts):
        call = _top_call(node)
        if call is None:
            return
        func = call.func
        if not isinstance(func, ast.Attribute) or \
                func.attr not in STORING_METHODS or \
                not isinstance(func.value, ast.Name):
            return
        name = func.value.id
        if name not in facts.memo(module_state).mutables or \
                enclosing_function(node) is None or \
                not global_reference(name, node, facts):
            return
        values = list(call.args) + [kw.value for kw in call.keywords]
        if func.attr in ("setdefault", "insert"):
            values = values[1:]
        yield from self._report(node, name, values, facts)


class UnmaskedSecretLogged(Rule):
    """Flags a secret passed to a logging call or a raised exception unmasked.

    Why this is bad:
        Logs and exception messages travel: to log aggregation, to bug
        reports, to API users. A password, token or a connection URL with
        its credentials written there is disclosed to everyone who reads
        them (CWE-532, CWE-312). ``strutils.mask_password`` masks
        ``password=...`` pairs but returns ``rabbit://nova:s3cr3t@mq1``
        unchanged, so URL-valued secrets need a URL-credential masker.
    Fix:
        Wraps the value in the configured masker (strutils.mask_password by
        default); URL-valued names (url, connection) in the URL-credential
        masker instead: the configured one, or one stdlib-only
        ``mask_url_credentials`` per package that ``fix`` adds to the
        package's leaf safe_utils/utils module (or a new masking_utils)
        and imports (a private helper per module under libcst's runner).
        Safe: only log text changes.
    Known limits:
        Secrets are found by name, constant key and credential constructor,
        through assignments, f-strings, %, + and format() in the same
        function. An attribute of a secret (``secret.id``) is not a secret
        unless its own name is. Debug level is flagged too: debug logs are
        shipped in production more often than not.
    """

    code = "NSA502"
    symbol = "unmasked-secret-logged"
    cwe = (532, 312)
    message = ("secret {what} {where} unmasked (CWE-532); wrap it in "
               "{masker}")
    fix = FixSafety.SAFE
    statement_only = True
    bad = (
        Example("from oslo_log import log as logging\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def target(cell_mapping):\n"
                "    LOG.info('Targeting %s', cell_mapping.transport_url)\n",
                name="transport-url-logged"),
        Example("import logging\n\n_log = logging.getLogger(__name__)\n\n\n"
                "def login(user, password):\n"
                "    msg = f'login {user}:{password}'\n"
                "    _log.debug(msg)\n",
                name="password-through-f-string"),
        Example("from oslo_utils import strutils\n\n\n"
                "def connect(self, transport_url):\n"
                "    self.logger.error(\n"
                "        'cannot reach %s',\n"
                "        strutils.mask_password(transport_url))\n",
                name="mask-password-does-not-hide-url-credentials"),
        Example("def check(token):\n"
                "    raise ValueError('bad token %s' % token)\n",
                name="token-in-exception-message"),
    )
    good = (
        Example("from oslo_log import log as logging\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def mask_url(url):\n"
                "    return url.split('@')[-1]\n\n\n"
                "def target(cell_mapping):\n"
                "    LOG.info('Targeting %s', mask_url("
                "cell_mapping.transport_url))\n",
                name="url-masked"),
        Example("from oslo_log import log as logging\nfrom oslo_utils import "
                "strutils\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def login(user, password):\n"
                "    LOG.debug('login %s', strutils.mask_password("
                "'password=%s' % password))\n",
                name="mask-password-on-password"),
        Example("from oslo_log import log as logging\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def login(secret_ref, token_id, password):\n"
                "    LOG.info('secret %s token %s set %s', secret_ref, "
                "token_id,\n"
                "             bool(password))\n",
                name="secret-ref-token-id-and-boolean"),
        Example("from oslo_log import log as logging\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def target(database_connection):\n"
                "    is_sqlite = database_connection.startswith('sqlite')\n"
                "    LOG.info('sqlite: %s', is_sqlite)\n",
                name="boolean-derived-from-connection-string"),
        Example("from oslo_log import log as logging\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def rotate(secret):\n"
                "    LOG.info('rotated secret %s', secret.id)\n",
                name="attribute-of-secret-is-metadata"),
        Example("from oslo_log import log as logging\nfrom sqlalchemy.engine "
                "import url as sa_url\n\n"
                "LOG = logging.getLogger(__name__)\n\n\n"
                "def show(connection_url):\n"
                "    url = sa_url.make_url(connection_url)\n"
                "    LOG.info('db %s', url.render_as_string("
                "hide_password=True))\n",
                name="sqlalchemy-render-hiding-password"),
    )

    def _arguments(self, call: ast.Call):
        yield from call.args
        for keyword in call.keywords:
            if keyword.arg not in NON_TEXT_KEYWORDS:
                yield keyword.value

    def _check(self, stmt: ast.stmt, call: ast.Call, where: str, facts):
        scope = _scope_of(stmt, facts)
        arguments = [argument for argument in self._arguments(call)
                     if _may_carry(argument, scope, facts)]
        if not arguments or \
                where == "log" and logging_method(call, facts) is None:
            return
        for argument in arguments:
            carries, url = _carries(argument, scope, facts)
            if not carries:
                continue
            data = {"where": where}
            if url:
                data["url"] = "1"
            masker = "a URL-credential masker" if url else \
                facts.settings.masker.rpartition(".")[2] + "()"
            yield self.finding(argument, facts, fix_data=data,
                               what=_describe(argument, scope, facts),
                               where="logged" if where == "log"
                               else "in exception", masker=masker)

    def visit_Module(self, node, facts):
        # One loop per statement kind, not a dispatch per statement: most
        # expression statements are not log calls.
        call_class, attribute_class = ast.Call, ast.Attribute
        for statement in facts.nodes(ast.Expr):
            call = statement.value
            if call.__class__ is call_class and \
                    call.func.__class__ is attribute_class and \
                    call.func.attr in LOG_LEVELS:
                yield from self._check(statement, call, "log", facts)
        for statement in facts.nodes(ast.Raise):
            if statement.exc.__class__ is call_class:
                yield from self._check(statement, statement.exc, "raise",
                                       facts)


def _describe(expr: ast.AST, scope, facts) -> str:
    """The secret ``expr`` carries, by name: ``transport_url`` for
    ``cell_mapping.transport_url``, the sensitive key of a dict, the
    constructor of a credential holder, found through local bindings;
    short source text when no name is found. Never a cut-off display."""
    found = _secret_source(expr, scope, facts)
    if found is not None:
        return found
    text = " ".join(ast.unparse(expr).split())
    return text if len(text) <= 28 and "{" not in text else "value"


def _secret_source(expr: ast.AST, scope, facts) -> str | None:
    settings = facts.settings
    bindings = facts.memo(bound_values, scope)
    stack, seen = [expr], set()
    while stack:
        inner = stack.pop(0)
        if isinstance(inner, ast.Dict):
            key = sensitive_key(inner, facts)
            if key is not None:
                return key
        elif isinstance(inner, ast.Name):
            if is_sensitive_name(inner.id, settings):
                return inner.id
            if inner.id not in seen:
                seen.add(inner.id)
                stack.extend(bindings.get(inner.id, ()))
            continue
        elif isinstance(inner, ast.Attribute):
            if is_sensitive_name(inner.attr, settings):
                return inner.attr
        elif isinstance(inner, ast.Call) and \
                is_sensitive_expression(inner, facts):
            key = _constant_key(inner)
            return key or ast.unparse(inner.func).rpartition(".")[2] + "()"
        elif isinstance(inner, ast.Subscript) and \
                is_sensitive_expression(inner, facts):
            return _constant_key(inner)
        stack.extend(flowing_parts(inner, facts))
    return None


def _constant_key(expr: ast.AST) -> str | None:
    """``'password'`` of ``conf['password']`` / ``conf.get('password')``."""
    key = expr.slice if isinstance(expr, ast.Subscript) else \
        (expr.args[0] if expr.args else None)
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    return None


RULES = (SecretInGlobalCache, UnmaskedSecretLogged)
