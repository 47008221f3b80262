"""What counts as a secret (RULES.md, NSA5xx) and where it flows.

A sensitive name has a whole token password/passwd/pwd/passphrase/secret/
token/credential(s) (or ends in ``pass`` after another word: nova's
``adminPass``), or is (or ends with the tokens of) api_key,
secret_key, private_key, database_connection, db_connection,
sql_connection, connection_string, connection_url, database_url, db_url,
transport_url; plain ``connection`` counts only as the whole name. It is
not sensitive when its last token says it is metadata about the secret
(``secret_ref``, ``token_id``, ``password_length``...), when its first
token is a paging word (``next_token``, ``marker``) or when it names a
class (``TokenManager``). Configured ``sensitive_names`` add to the set.

Sensitive values: a sensitive name, attribute or constant key
(``conf['password']``, ``d.get('token')``), the result of a credential
constructor (a DB context manager or engine, an RPC transport, a
keystoneauth session or auth plugin, an openstacksdk Connection), and what
:class:`SecretFlow` carries from them inside a function. Derived values
(comparisons, ``in``, ``len``, ``bool``, ``startswith``) and attributes
of a secret other than sensitive ones (``secret.id``) are not sensitive.

URL-valued secrets (tokens url/uri/connection) keep their credentials
through ``strutils.mask_password``: :class:`SecretFlow` in ``url_mode``
treats that masker as transparent.
"""

from __future__ import annotations

import ast
import functools

from nova_secaudit.analysis import block_statements
from nova_secaudit.analysis.flow import ValueFlow
from nova_secaudit.analysis.functions import assigned_names
from nova_secaudit.analysis.imports import dotted_name
from nova_secaudit.analysis.masking import KNOWN_MASKERS, is_masker_call
from nova_secaudit.analysis.names import name_tokens

SECRET_TOKENS = frozenset({"password", "passwords", "passwd", "pwd",
                           "passphrase", "secret", "secrets", "token",
                           "tokens", "credential", "credentials"})
SECRET_NAMES = ("api_key", "secret_key", "private_key",
                "database_connection", "db_connection", "sql_connection",
                "connection_string", "connection_url", "database_url",
                "db_url", "transport_url")
SECRET_NAME_TOKENS = tuple(tuple(n.split("_")) for n in SECRET_NAMES)
WHOLE_ONLY_NAMES = frozenset({"connection"})
METADATA_LAST_TOKENS = frozenset({
    "id", "ids", "uuid", "uuids", "ref", "refs", "name", "names", "type",
    "types", "hash", "algorithm", "len", "length", "size", "file", "path",
    "format", "expiry", "expires", "expiration", "ttl", "timeout",
    "interval", "duration", "lifetime", "count", "usage", "error",
    "errors",
    # Additions found on real code (metadata about a secret, not the secret):
    "opt", "opts", "group", "enabled", "required", "policy", "prefix",
    "field", "fields", "class", "cls", "plugin", "label", "at",
    "version", "method", "methods", "mode",
})
PAGING_FIRST_TOKENS = frozenset({"continuation", "next", "page", "marker",
                                 "max", "min", "is", "has", "num", "use",
                                 "no", "get", "check", "validate", "set",
                                 "create", "delete", "update", "generate",
                                 "verify"})
# "token" after one of these names a piece of text, not a credential
# (nova's metadata handler splits a request path into ``path_tokens``).
TEXT_TOKEN_QUALIFIERS = frozenset({"path", "word", "words", "text", "lexer",
                                   "lex", "parse", "parser", "split",
                                   "syntax", "string", "query"})
# Tokens of constants naming an error or a category about secrets
# (libvirt's VIR_ERR_NO_SECRET, VIR_FROM_SECRET).
ERROR_CODE_TOKENS = frozenset({"err", "error", "no", "invalid", "missing",
                               "from", "vir", "not"})
ORDINAL_TOKENS = frozenset({"first", "second", "third", "last", "next",
                            "one", "two", "single", "multi", "each", "by",
                            "final", "second", "extra"})
URL_TOKENS = frozenset({"url", "uri", "connection", "dsn"})
# Credential constructors: matched on the qualified name when it resolves,
# else on the called attribute's name (nova's own rpc/db wrappers).
CREDENTIAL_CONSTRUCTORS = frozenset({
    "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine",
    "oslo_db.sqlalchemy.engines.create_engine",
    "oslo_db.sqlalchemy.enginefacade.create_context_manager",
    "oslo_messaging.get_transport", "oslo_messaging.get_rpc_transport",
    "oslo_messaging.get_notification_transport",
    "oslo_messaging.transport.get_transport",
    "keystoneauth1.loading.load_session_from_conf_options",
    "keystoneauth1.loading.load_auth_from_conf_options",
    "keystoneauth1.loading.session.load_session_from_conf_options",
    "keystoneauth1.loading.conf.load_auth_from_conf_options",
    "openstack.connection.Connection", "openstack.connect",
    "oslo_db.sqlalchemy.enginefacade.transaction_context",
})
# Attributes of a credential holder that hold its credentials too: the
# writer/reader managers of an enginefacade transaction context.
HOLDER_ATTRIBUTES = frozenset({"writer", "reader", "async_"})
CREDENTIAL_CALL_NAMES = frozenset(
    {n.rpartition(".")[2] for n in CREDENTIAL_CONSTRUCTORS} |
    {"create_context_manager", "create_transport", "Session"})
SESSION_CLASSES = frozenset({"keystoneauth1.session.Session"})


@functools.lru_cache(maxsize=8192)
def _name_is_sensitive(identifier: str, extra: tuple[str, ...]) -> bool:
    stripped = identifier.strip("_")
    if not stripped:
        return False
    if identifier in extra or stripped in extra:
        return True
    if stripped[0].isupper() and not stripped.isupper():
        return False  # CapWords: a class, not a value
    lowered = stripped.lower()
    if lowered in WHOLE_ONLY_NAMES:
        return True
    tokens = name_tokens(stripped)
    if not tokens or tokens[-1] in METADATA_LAST_TOKENS or \
            tokens[0] in PAGING_FIRST_TOKENS:
        return False
    if stripped.isupper() and any(t in ERROR_CODE_TOKENS for t in tokens):
        return False
    if len(tokens) > 1 and tokens[-1] == "pass" and \
            tokens[-2] not in ORDINAL_TOKENS:
        return True  # nova's adminPass, admin_pass (not first_pass)
    for index, token in enumerate(tokens):
        if token in SECRET_TOKENS:
            if token.startswith("token") and index and \
                    tokens[index - 1] in TEXT_TOKEN_QUALIFIERS:
                continue
            return True
    return any(tokens[-len(name):] == name for name in SECRET_NAME_TOKENS)


@functools.lru_cache(maxsize=8192)
def _is_metadata_name(identifier: str) -> bool:
    tokens = name_tokens(identifier.strip("_"))
    return bool(tokens) and tokens[-1] in METADATA_LAST_TOKENS


# Verdicts for identifiers when no names are configured (per process).
_PLAIN_VERDICTS: dict[str, bool] = {}
# Every sensitive token or name contains one of these: a cheap pre-test.
_STEMS = ("pass", "pwd", "secret", "token", "credential", "key",
          "connection", "url")


def is_sensitive_name(identifier: str, settings=None) -> bool:
    """Whether an identifier (or a dict key) names a secret."""
    extra = settings.sensitive_names if settings is not None else ()
    if extra:
        return _name_is_sensitive(identifier, tuple(extra))
    verdict = _PLAIN_VERDICTS.get(identifier)
    if verdict is None:
        lowered = identifier.lower()
        verdict = any(stem in lowered for stem in _STEMS) and \
            _name_is_sensitive(identifier, ())
        # A pure function of the key: a race stores the same verdict.
        _PLAIN_VERDICTS[identifier] = verdict  # noqa: NSA202
    return verdict


def is_url_name(identifier: str) -> bool:
    """A sensitive name whose value is a URL (credentials in its netloc)."""
    return any(t in URL_TOKENS for t in name_tokens(identifier.strip("_")))


def _key_of(expr: ast.AST) -> str | None:
    """The identifier that names ``expr``: a name, an attribute, a
    constant subscript key or ``.get('key')``."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Subscript):
        key = expr.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) \
            and expr.func.attr in ("get", "pop") and expr.args and \
            isinstance(expr.args[0], ast.Constant) and \
            isinstance(expr.args[0].value, str):
        return expr.args[0].value
    return None


def is_credential_constructor(call: ast.AST, facts) -> bool:
    """Whether ``call`` builds an object holding connection credentials."""
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else \
        getattr(func, "id", None)
    if called not in CREDENTIAL_CALL_NAMES:
        return False
    qualified = facts.qualified_name(func) or dotted_name(func) or ""
    if qualified in SESSION_CLASSES or called == "Session":
        return qualified in SESSION_CLASSES and \
            any(kw.arg == "auth" for kw in call.keywords)
    if qualified in CREDENTIAL_CONSTRUCTORS:
        return True
    # Project wrappers: nova.rpc.create_transport, db.create_context_manager
    return called in ("create_context_manager", "create_transport")


def is_sensitive_expression(expr: ast.AST, facts) -> bool:
    """A secret by its own name/key, a credential constructor call, or a
    dict display with a sensitive constant key."""
    if isinstance(expr, ast.Call) and is_credential_constructor(expr, facts):
        return True
    if isinstance(expr, ast.Dict):
        return sensitive_key(expr, facts) is not None
    key = _key_of(expr)
    return key is not None and is_sensitive_name(key, facts.settings)


def sensitive_key(display: ast.Dict, facts) -> str | None:
    """The first sensitive constant key of a dict display."""
    for key in display.keys:
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                is_sensitive_name(key.value, facts.settings):
            return key.value
    return None


def read_by_harmless_key(expr: ast.AST, settings) -> bool:
    """``info.get('secret_ref')``, ``config['sleep_timer']``: a value read
    from a container by a constant key that is not sensitive, whatever the
    container is called."""
    if not isinstance(expr, (ast.Subscript, ast.Call)):
        return False
    key = _key_of(expr)
    return key is not None and not is_sensitive_name(key, settings)


def is_url_expression(expr: ast.AST, facts) -> bool:
    """A URL-valued secret by its own name or key."""
    key = _key_of(expr)
    return key is not None and is_sensitive_name(key, facts.settings) and \
        is_url_name(key)


class SecretFlow(ValueFlow):
    """ValueFlow of secrets in one function.

    Differences from the generic flow: an attribute of a secret is not
    itself secret unless its own name is (``secret.id``, ``token.expires``
    are metadata); in ``url_mode`` only URL-valued secrets are sources and
    ``strutils.mask_password`` does not clean them (it leaves
    ``rabbit://user:pass@host`` unchanged).
    """

    def __init__(self, func, facts, url_mode: bool = False):
        self.url_mode = url_mode
        source = is_url_expression if url_mode else is_sensitive_expression
        super().__init__(func, facts, lambda e: source(e, facts))

    def _binding_nodes(self, func):
        return sorted(binding_statements(func), key=_binding_position)

    def carries(self, expr, at=None):
        if isinstance(expr, ast.Attribute):
            return self.is_source(expr) or \
                expr.attr in HOLDER_ATTRIBUTES and \
                self._holds_credentials(expr.value, at)
        if read_by_harmless_key(expr, self.facts.settings):
            return False
        if isinstance(expr, ast.Name) and _is_metadata_name(expr.id):
            return False  # ``for secret_uuid in secrets``: an id, not a secret
        return super().carries(expr, at)

    def _holds_credentials(self, expr, at) -> bool:
        """A credential constructor's result (``transaction_context()``),
        directly or through names: not a secret by name."""
        if isinstance(expr, ast.Call):
            return is_credential_constructor(expr, self.facts)
        return not self.url_mode and super().carries(expr, at)

    def _bind(self, targets, value, at):
        # ``for key, value in secrets.items()``: the key is a name, not a
        # secret; only the value carries.
        if len(targets) == 1 and isinstance(targets[0], ast.Tuple) and \
                len(targets[0].elts) == 2 and isinstance(value, ast.Call) and \
                isinstance(value.func, ast.Attribute) and \
                value.func.attr == "items":
            key, item = targets[0].elts
            super()._bind([key], ast.Constant(value=None), at)
            super()._bind([item], value, at)
            return
        super()._bind(targets, value, at)

    def _call_carries(self, call, at):
        if self.url_mode and is_masker_call(call, self.facts) and \
                self.facts.qualified_name(call.func) in KNOWN_MASKERS:
            arguments = list(call.args) + [kw.value for kw in call.keywords]
            return any(self.carries(a, at) for a in arguments)
        return super()._call_carries(call, at)


def binding_statements(func: ast.AST) -> list[ast.AST]:
    """The bindings :class:`SecretFlow` follows in ``func`` (or a module):
    statement-level ones only (assignments, loops, with items), found by
    one walk over statements instead of every expression. Walrus and
    comprehension targets are left out (a comprehension's variable lives
    inside it; walrus bindings of secrets are rare)."""
    found = []
    if isinstance(func, ast.Lambda):
        return found
    for stmt in block_statements(func.body):
        kind = stmt.__class__
        if kind in _BINDING_STATEMENTS:
            found.append(stmt)
        elif kind is ast.With or kind is ast.AsyncWith:
            found.extend(stmt.items)
    return found


_BINDING_STATEMENTS = frozenset({ast.Assign, ast.AnnAssign, ast.AugAssign,
                                 ast.For, ast.AsyncFor})


def bound_values(facts, func: ast.AST) -> dict[str, list[ast.AST]]:
    """Name -> the expressions bound to it by :func:`binding_statements`
    of ``func`` (for ``facts.memo``): what a name can carry in the flow."""
    values: dict[str, list[ast.AST]] = {}
    for node in binding_statements(func):
        kind = node.__class__
        if kind is ast.Assign:
            targets, value = node.targets, node.value
        elif kind is ast.For or kind is ast.AsyncFor:
            targets, value = (node.target,), node.iter
        elif kind is ast.withitem:
            if node.optional_vars is None:
                continue
            targets, value = (node.optional_vars,), node.context_expr
        else:
            targets, value = (node.target,), node.value
        if value is None:
            continue
        for target in targets:
            kind = target.__class__
            if kind is ast.Name:  # most targets: no unpacking to do
                values.setdefault(target.id, []).append(value)
            elif kind is not ast.Attribute and kind is not ast.Subscript:
                for name in assigned_names(target):
                    values.setdefault(name, []).append(value)
    return values


def _binding_position(node: ast.AST) -> tuple[int, int]:
    if isinstance(node, ast.withitem):
        node = node.context_expr
    return node.lineno, node.col_offset


def _flow_cache(facts) -> dict:
    return {}


def secret_flow(func, facts, url_mode: bool = False) -> SecretFlow:
    """:class:`SecretFlow` of ``func`` (module-level code: the module
    node), kept for this run (it depends on the settings: configured
    names and maskers)."""
    flows = facts.memo(_flow_cache)
    key = (id(func), url_mode)
    flow = flows.get(key)
    if flow is None:
        flow = flows[key] = SecretFlow(func, facts, url_mode)
    return flow
