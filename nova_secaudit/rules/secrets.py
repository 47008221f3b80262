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

from nova_secaudit.analysis import enclosing_function
from nova_secaudit.analysis.logs import logging_method
from nova_secaudit.analysis.mutables import (
    declares_global, global_reference, module_state)
from nova_secaudit.analysis.sensitive import (
    is_sensitive_expression, secret_flow)
from nova_secaudit.engine import Example, FixSafety, Rule

FAMILY = ("5", "secrets", "Connection secrets in global caches and logs")

STORING_METHODS = frozenset({"append", "appendleft", "extend", "insert",
                             "add", "update", "setdefault"})
EVICTING_METHODS = frozenset({"pop", "popitem", "clear", "remove",
                              "discard", "popleft", "__delitem__"})
# Logging keywords that carry no message text.
NON_TEXT_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel"})
_SENSITIVE_SCOPES = "_nsa_sensitive_scopes"


def _scope_of(node: ast.AST, facts):
    return enclosing_function(node) or facts.tree


def sensitive_scopes(facts) -> frozenset[int]:
    """ids of functions (or the module) that mention a secret at all.

    Secrets are rare: checking names once per module lets the rules skip
    the value flow of every other function.
    """
    scopes = set()
    for node_type in (ast.Name, ast.Attribute, ast.Subscript, ast.Call):
        for node in facts.nodes(node_type):
            if is_sensitive_expression(node, facts):
                scopes.add(id(_scope_of(node, facts)))
    return frozenset(scopes)


def _carries(expr: ast.AST, scope, facts) -> tuple[bool, bool]:
    """(carries a secret, is URL-valued) for ``expr`` in ``scope``."""
    if secret_flow(scope, facts, url_mode=True).carries(expr):
        return True, True
    return secret_flow(scope, facts).carries(expr), False


def evicted_globals(facts) -> frozenset[str]:
    """Module globals some function evicts: pop/clear/del/rebinding."""
    evicted = set()
    for call in facts.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and \
                func.attr in EVICTING_METHODS and \
                isinstance(func.value, ast.Name) and \
                enclosing_function(call) is not None and \
                global_reference(func.value.id, func.value):
            evicted.add(func.value.id)
    for delete in facts.nodes(ast.Delete):
        if enclosing_function(delete) is None:
            continue
        for target in delete.targets:
            if isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name) and \
                    global_reference(target.id, target):
                evicted.add(target.id)
    for assign in facts.nodes(ast.Assign):
        func = enclosing_function(assign)
        if func is None or isinstance(func, ast.Lambda):
            continue
        for target in assign.targets:
            if isinstance(target, ast.Name) and \
                    declares_global(func, target.id) and \
                    not _carries(assign.value, func, facts)[0]:
                evicted.add(target.id)
    return frozenset(evicted)


class SecretInGlobalCache(Rule):
    """Flags a secret stored in a module-level cache or global that nothing evicts.

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
                "    _TRANSPORT = oslo_messaging.get_rpc_transport(conf, url)\n",
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

    def _report(self, node, name, values, facts):
        scope = _scope_of(node, facts)
        if id(scope) not in facts.memo(sensitive_scopes):
            return
        if name in facts.memo(evicted_globals):
            return
        if any(_carries(value, scope, facts)[0] for value in values):
            yield self.finding(node, facts, fix_data={"global": name},
                               name=name)

    def visit_Assign(self, node, facts):
        func = enclosing_function(node)
        if func is None or isinstance(func, ast.Lambda):
            return
        mutables = facts.memo(module_state).mutables  # indexes expressions
        for target in node.targets:
            if isinstance(target, ast.Subscript) and \
                    isinstance(target.value, ast.Name) and \
                    target.value.id in mutables and \
                    global_reference(target.value.id, target.value):
                yield from self._report(node, target.value.id,
                                        [node.value], facts)
            elif isinstance(target, ast.Name) and \
                    declares_global(func, target.id):
                yield from self._report(node, target.id, [node.value],
                                        facts)

    def visit_Call(self, node, facts):
        func = node.func
        if not isinstance(func, ast.Attribute) or \
                func.attr not in STORING_METHODS or \
                not isinstance(func.value, ast.Name):
            return
        name = func.value.id
        if name not in facts.memo(module_state).mutables or \
                enclosing_function(node) is None or \
                not global_reference(name, func.value):
            return
        values = list(node.args) + [kw.value for kw in node.keywords]
        if func.attr == "setdefault":
            values = values[1:]
        elif func.attr == "insert":
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
        masker instead (the configured one, or a private stdlib-only helper
        the codemod adds once per module). Safe: only log text changes.
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
                "    self.logger.error('cannot reach %s',\n"
                "                      strutils.mask_password(transport_url))\n",
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

    def _check(self, call: ast.Call, where: str, facts):
        scopes = facts.memo(sensitive_scopes)  # indexes expressions first
        if id(_scope_of(call, facts)) not in scopes:
            return
        scope = _scope_of(call, facts)
        for argument in self._arguments(call):
            carries, url = _carries(argument, scope, facts)
            if not carries:
                continue
            data = {"where": where}
            if url:
                data["url"] = "1"
            masker = "a URL-credential masker" if url else \
                facts.settings.masker.rpartition(".")[2] + "()"
            yield self.finding(argument, facts, fix_data=data,
                               what=_describe(argument),
                               where="logged" if where == "log"
                               else "in exception", masker=masker)

    def visit_Call(self, node, facts):
        if logging_method(node, facts) is not None:
            yield from self._check(node, "log", facts)

    def visit_Raise(self, node, facts):
        exc = node.exc
        if isinstance(exc, ast.Call):
            yield from self._check(exc, "raise", facts)


def _describe(expr: ast.AST) -> str:
    text = ast.unparse(expr)
    return text if len(text) <= 24 else text[:21] + "..."


RULES = (SecretInGlobalCache, UnmaskedSecretLogged)
