"""NSA501/NSA502 on marker-annotated snippets, and what counts as a secret.

Only NSA5xx codes are compared. Markers without a column match any column
on the line; NSA502 is reported at the carrying argument.
"""

from __future__ import annotations

import ast

import pytest

from nova_secaudit.analysis.sensitive import is_sensitive_name, is_url_name
from nova_secaudit.engine import check
from nova_secaudit.settings import Settings
from support import assert_markers

SECRETS = ("NSA5",)
LOG = ("from oslo_log import log as logging\n\n"
       "LOG = logging.getLogger(__name__)\n")


def case(name, source):
    return pytest.param(source, id=name)


CASES = [
    # --- NSA501 positives ------------------------------------------------
    case("NSA501-transport-url-cached-by-uuid", """
TRANSPORT_URLS = {}


def remember(cell_mapping):
    # expect+1: NSA501
    TRANSPORT_URLS[cell_mapping.uuid] = cell_mapping.transport_url
"""),
    case("NSA501-connections-built-from-constructors", """
from oslo_db.sqlalchemy import enginefacade

from nova import rpc

CELL_CACHE = {}


def connect(cell_mapping):
    db = enginefacade.create_context_manager(cell_mapping.database_connection)
    mq = rpc.create_transport(cell_mapping.transport_url)
    CELL_CACHE[cell_mapping.uuid] = (db, mq)  # expect: NSA501
"""),
    case("NSA501-keystone-session-global-never-reset", """
from keystoneauth1 import loading as ks_loading

_SERVICE_AUTH = None
_SERVICE_SESSION = None


def reset_globals():
    global _SERVICE_AUTH
    _SERVICE_AUTH = None


def get_service_session(conf):
    global _SERVICE_SESSION
    # expect+1: NSA501
    _SERVICE_SESSION = ks_loading.load_session_from_conf_options(
        conf, 'service_user')
    return _SERVICE_SESSION
"""),
    case("NSA501-password-appended-through-f-string", """
SEEN = []


def login(user, password):
    line = f'{user}:{password}'
    SEEN.append(line)  # expect: NSA501
"""),
    # --- NSA501 hard negatives --------------------------------------------
    case("NSA501-cache-with-reset-that-clears", """
CELL_CACHE = {}


def remember(cell_mapping):
    CELL_CACHE[cell_mapping.uuid] = cell_mapping.transport_url


def reset():
    CELL_CACHE.clear()
"""),
    case("NSA501-reset-globals-rebinding-evicts", """
CELL_CACHE = {}


def reset_globals():
    global CELL_CACHE
    CELL_CACHE = {}


def remember(cell_mapping, db_connection):
    CELL_CACHE[cell_mapping.uuid] = db_connection
"""),
    case("NSA501-evicted-by-pop-in-a-return", """
TOKENS = {}


def remember(user, token):
    TOKENS[user] = token


def forget(user):
    return TOKENS.pop(user, None)
"""),
    case("NSA501-secret-ref-and-token-id", """
REFS = {}


def remember(key, secret_ref, token_id, password_length):
    REFS[key] = (secret_ref, token_id, password_length)
"""),
    case("NSA501-boolean-derived-from-connection-string", """
IS_SQLITE = {}


def remember(cell, database_connection):
    IS_SQLITE[cell] = database_connection.startswith('sqlite')
    IS_SQLITE[cell + '-len'] = len(database_connection)
    IS_SQLITE[cell + '-in'] = 'mysql' in database_connection
"""),
    case("NSA501-local-dict-and-module-level-store", """
import os

CONFIG = {}
CONFIG['password'] = os.environ.get('PASSWORD')


def build(password):
    cache = {}
    cache['password'] = password
    return cache
"""),
    # --- NSA502 positives -------------------------------------------------
    case("NSA502-transport-url-logged", LOG + """

def target(cell_mapping):
    # expect+1: NSA502
    LOG.info('Targeting cell with %s', cell_mapping.transport_url)
"""),
    case("NSA502-password-in-dict-argument", LOG + """

def set_chap(username, password):
    LOG.debug("Setting chap creds to %(user)s : %(pass)s",
              {'user': username, 'pass': password})  # expect: NSA502
"""),
    case("NSA502-mask-password-leaves-url-credentials", LOG + """
from oslo_utils import strutils


def connect(transport_url):
    # expect+1: NSA502
    LOG.error('cannot reach %s', strutils.mask_password(transport_url))
"""),
    case("NSA502-self-logger-and-message-built-earlier", """
def connect(self, conf):
    msg = 'connecting with %s' % conf.database.connection
    self.logger.warning(msg)  # expect: NSA502
"""),
    case("NSA502-raised-exception-message", """
from nova import exception


def check(cell_mapping):
    raise exception.NovaException(  # expect+1: NSA502
        'bad url %s' % cell_mapping.transport_url)
"""),
    case("NSA502-dict-value-of-items-loop", LOG + """

def inject(admin_password, key):
    items = {'admin_password': admin_password, 'key': key}
    for name, value in items.items():
        LOG.debug('injecting %s', name)
        LOG.debug('value %s', value)  # expect: NSA502
"""),
    # --- NSA502 hard negatives -------------------------------------------
    case("NSA502-url-masked-log-call", LOG + """

def _mask_url(url):
    return url.split('@')[-1]


def target(cell_mapping):
    LOG.info('Targeting %s', _mask_url(cell_mapping.transport_url))
"""),
    case("NSA502-mask-password-on-a-password", LOG + """
from oslo_utils import strutils


def login(password):
    LOG.debug(strutils.mask_password('password=%s' % password))
"""),
    case("NSA502-metadata-of-secrets", LOG + """

def rotate(secret, secret_ref, token_id, secret_uuid, keymgr_secrets):
    LOG.info('rotated %s %s %s %s', secret.id, secret_ref, token_id,
             secret_uuid)
    for secret_uuid in keymgr_secrets:
        LOG.info('deleting %s', secret_uuid)
"""),
    case("NSA502-derived-booleans", LOG + """

def target(database_connection, password):
    is_sqlite = database_connection.startswith('sqlite')
    LOG.info('sqlite=%s set=%s long=%s', is_sqlite, bool(password),
             len(password) > 8)
"""),
    case("NSA502-error-code-constants-and-path-tokens", """
VIR_ERR_NO_SECRET = 66


def lookup(path_tokens):
    if not path_tokens:
        raise KeyError('no listing for %s' % '/'.join(path_tokens))
    raise LookupError(VIR_ERR_NO_SECRET)
"""),
    case("NSA502-sqlalchemy-url-rendered-hiding-password", LOG + """
from sqlalchemy.engine import url as sa_url


def show(connection_url):
    url = sa_url.make_url(connection_url)
    LOG.info('db %s', url.render_as_string(hide_password=True))
"""),
    # --- issue 11: keys, holders, containers -----------------------------
    case("NSA502-sensitive-dict-key-logged", LOG + """

def check(context, action):
    LOG.debug('%(action)s as %(credentials)s',
              {'action': action,  # expect: NSA502
               'credentials': context.to_policy_values()})
"""),
    case("NSA502-logged-dict-holding-password", LOG + """

def start(user, pw):
    config = {'user': user, 'password': pw, 'sleep_timer': 5}
    LOG.info('starting with %s', config)  # expect: NSA502
    LOG.info('sleeping %s', config['sleep_timer'])
"""),
    case("NSA502-harmless-key-of-a-secret-named-container", LOG + """

def show(secret_info, data, secret):
    LOG.info('ref %s container %s', secret_info.get('secret_ref'),
             data.get('container_ref'))
    LOG.info('algorithm %s', secret['algorithm'])
"""),
    case("NSA502-sensitive-key-of-a-container", LOG + """

def show(info):
    LOG.info('auth %s', info.get('auth_token'))  # expect: NSA502
"""),
    case("NSA501-transaction-context-cached-in-global", """
from oslo_db.sqlalchemy import enginefacade

_CONTEXT = None
_WRITER = None


def get_context():
    global _CONTEXT
    _CONTEXT = enginefacade.transaction_context()  # expect: NSA501


def get_writer():
    global _WRITER
    context = enginefacade.transaction_context()
    _WRITER = context.writer  # expect: NSA501
"""),
    case("NSA501-not-writer-of-a-plain-object", """
_WRITER = None


def get_writer(report):
    global _WRITER
    _WRITER = report.writer
"""),
    case("NSA501-not-harmless-key-read-from-secret-container", """
REFS = {}


def remember(key, secret_info):
    REFS[key] = secret_info.get('secret_ref')
"""),
    case("NSA502-class-names-and-next-token", LOG + """
from nova.api import TokenManager


def page(next_token, marker):
    LOG.debug('%s %s %s', TokenManager, next_token, marker)
"""),
]


@pytest.mark.parametrize("source", CASES)
def test_secrets_markers(source):
    assert_markers(source, codes=SECRETS)


def _findings(source, settings=None):
    settings = settings or Settings(select=("NSA5",))
    return [f for f in check(ast.parse(source), "snippet.py", settings,
                             source=source) if f.code.startswith("NSA5")]


def test_nsa502_url_valued_secret_asks_for_the_url_masker():
    [found] = _findings(LOG + "\n\ndef f(cell):\n"
                        "    LOG.info('%s', cell.transport_url)\n")
    assert found.fix_args == {"url": "1", "where": "log"}
    assert "URL-credential masker" in found.message
    assert (found.line, found.col) == (7, 19)  # the argument itself


def test_nsa502_plain_secret_asks_for_the_configured_masker():
    [found] = _findings(LOG + "\n\ndef f(password):\n"
                        "    LOG.info('%s', password)\n")
    assert found.fix_args == {"where": "log"}
    assert "mask_password()" in found.message


def test_nsa501_fix_data_names_the_global():
    [found] = _findings("C = {}\n\n\ndef f(k, token):\n    C[k] = token\n")
    assert found.fix_args == {"global": "C"}
    assert "CWE-312" in found.message


def test_configured_sensitive_names_add_to_the_built_in_set():
    source = LOG + "\n\ndef f(pin_code):\n    LOG.info('%s', pin_code)\n"
    assert _findings(source) == []
    configured = Settings(select=("NSA5",), sensitive_names=("pin_code",))
    assert len(_findings(source, configured)) == 1


def test_same_findings_without_source_text():
    # The text pre-tests are only shortcuts: the tree alone gives the same.
    for param in CASES:
        source = param.values[0]
        tree = ast.parse(source)
        with_text = check(tree, "s.py", Settings(select=SECRETS),
                          source=source)
        without = check(ast.parse(source), "s.py", Settings(select=SECRETS))
        assert [(f.line, f.col, f.code) for f in with_text] == \
            [(f.line, f.col, f.code) for f in without], param.id


@pytest.mark.parametrize("name", [
    "password", "admin_password", "DB_PASSWORD", "adminPass", "passwd",
    "auth_token", "secret", "chap_secret", "credentials",
    "database_connection", "transport_url", "default_transport_url",
    "db_connection_string", "connection", "api_key", "private_key",
    "_transport_url",
])
def test_sensitive_names(name):
    assert is_sensitive_name(name)


@pytest.mark.parametrize("name", [
    "secret_ref", "token_id", "secret_uuid", "password_length",
    "token_expires", "max_tokens", "next_token", "marker", "TokenManager",
    "path_tokens", "VIR_ERR_NO_SECRET", "secret_usage", "connection_info",
    "mq_connection_pool", "keystone", "passed", "compass", "bypass",
])
def test_not_sensitive_names(name):
    assert not is_sensitive_name(name)


def test_url_names():
    assert is_url_name("transport_url") and is_url_name("db_connection")
    assert not is_url_name("admin_password")


def test_one_tree_checked_twice_with_other_settings():
    # Answers that depend on the settings are kept per run, not on nodes.
    source = LOG + "\n\ndef f(pin_code):\n    msg = 'pin %s' % pin_code\n" \
        "    LOG.info(msg)\n"
    tree = ast.parse(source)
    plain = Settings(select=("NSA5",))
    configured = plain.replace(sensitive_names=("pin_code",))
    assert check(tree, "s.py", plain, source=source) == []
    assert len(check(tree, "s.py", configured, source=source)) == 1
    assert check(tree, "s.py", plain, source=source) == []


def test_line_numbers_count_as_ast_does_after_a_form_feed():
    # str.splitlines() also breaks at \x0c, \x1c-\x1e: a function's text
    # read that way is shifted and loses its last line.
    source = LOG + "# section\x0c\x1c\n\n\ndef login(conf):\n" \
        "    LOG.debug(conf.password)\n"
    found = check(ast.parse(source), "s.py", Settings(select=SECRETS),
                  source=source)
    assert [(f.code, f.line) for f in found] == [("NSA502", 8)]


def test_nsa502_message_names_the_secret_not_a_display():
    [found] = _findings(LOG + "\n\ndef f(ctx, action):\n"
                        "    LOG.debug('%s', {'action': action, "
                        "'credentials': ctx.to_policy_values(), "
                        "'a': 1, 'b': 2})\n")
    assert found.message.startswith("secret credentials logged unmasked")
    [found] = _findings(LOG + "\n\ndef f(user, pw):\n"
                        "    cfg = {'user': user, 'password': pw}\n"
                        "    LOG.info('%s', cfg)\n")
    assert found.message.startswith("secret password logged unmasked")
