# Written for nova_secaudit's tests: the shape of nova/context.py while its
# scatter-gather moved from eventlet to futurist, with the five defects a
# security review found. A trailing expect comment names the codes reported
# on its line.
"""RequestContext helpers: cell targeting and scatter-gather."""

import re
import threading

import futurist
import futurist.waiters
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import strutils

import nova.conf
from nova import exception
from nova import objects
from nova import rpc


def _mask_url_credentials(value):
    """Text of ``value`` with the password of every URL in it masked."""
    return re.sub(r'(://[^:/@\s]*:)[^\s/]*@', r'\1***@', str(value))


LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
CELL_CACHE = {}
did_not_respond_sentinel = object()
CELLS = []
CELL_TIMEOUT = 60
DEFAULT_EXECUTOR = None
_DEFAULT_EXECUTOR_LOCK = threading.Lock()
TRANSPORT_URLS = {}


def create_executor():
    return futurist.ThreadPoolExecutor(max_workers=8)  # expect: NSA101


def get_default_executor():
    global DEFAULT_EXECUTOR
    with _DEFAULT_EXECUTOR_LOCK:
        if DEFAULT_EXECUTOR is None:
            DEFAULT_EXECUTOR = create_executor()  # expect: NSA202
    return DEFAULT_EXECUTOR


def set_target_cell(context, cell_mapping):
    if cell_mapping is None:
        context.db_connection = None
        context.mq_connection = None
        return
    try:
        cell_tuple = CELL_CACHE[cell_mapping.uuid]
    except KeyError:
        db_connection = enginefacade.create_context_manager(
            cell_mapping.database_connection)
        mq_connection = rpc.create_transport(cell_mapping.transport_url)
        CELL_CACHE[cell_mapping.uuid] = (db_connection, mq_connection)  # expect: NSA202
        TRANSPORT_URLS[cell_mapping.uuid] = cell_mapping.transport_url  # expect: NSA201,NSA501
        LOG.info('Targeting cell with %s',
                 _mask_url_credentials(cell_mapping.transport_url))  # expect: NSA502
    else:
        db_connection, mq_connection = cell_tuple
    context.db_connection = db_connection
    context.mq_connection = mq_connection


def scatter_gather_cells(context, cell_mappings, timeout, fn, *args):
    tasks = {}
    results = {}

    def gather_result(cell_uuid, fn, *args):
        try:
            return fn(*args)
        except Exception as e:
            LOG.error('Error gathering result from cell %s: %s',  # expect: NSA302
                      cell_uuid,
                      strutils.mask_password(_mask_url_credentials(e)))
            raise  # expect: NSA301, NSA303

    executor = get_default_executor()
    for cell_mapping in cell_mappings:
        future = executor.submit(gather_result, cell_mapping.uuid, fn,
                                 context, *args)
        tasks[cell_mapping.uuid] = future

    futurist.waiters.wait_for_all(tasks.values(), timeout)  # expect: NSA401

    for cell_uuid, future in tasks.items():
        if not future.done():
            results[cell_uuid] = did_not_respond_sentinel
            LOG.warning('Timed out waiting for response from cell %s',
                        cell_uuid)
            if not future.cancel():
                LOG.warning(
                    'Could not cancel the work for %s after the timeout; it '
                    'goes on running in the background.', cell_uuid)
        else:
            results[cell_uuid] = future.result()
    return results


def load_cells():
    global CELLS
    if not CELLS:
        CELLS = objects.CellMappingList.get_all(context=None)  # expect: NSA202
        LOG.debug('Found %d cells', len(CELLS))
    if not CELLS:
        LOG.error('No cells are configured, unable to continue')


def register_cell(cell_mapping):
    CELLS.append(cell_mapping)  # expect: NSA201


def cell_error_response(cell_uuid, fn):
    try:
        return fn()
    except Exception as exc:
        raise exception.NovaException(  # expect: NSA303
            'Cell %s failed: %s' % (cell_uuid, exc))


def refresh_cell(cell_mapping):
    try:
        cell_mapping.refresh()
    except Exception as exc:
        with excutils.save_and_reraise_exception():
            LOG.warning('Refreshing cell %s failed: %s',  # expect: NSA302
                        cell_mapping.uuid,
                        strutils.mask_password(_mask_url_credentials(exc)))


def reset_cell_cache():
    # Test-only helper in Nova; it makes CELL_CACHE evictable.
    global CELL_CACHE
    CELL_CACHE = {}  # expect: NSA201


def wait_for_cell(cell_uuid):
    worker = threading.Thread(target=load_cells)
    worker.start()
    worker.join(timeout=CELL_TIMEOUT)  # expect: NSA403
    return cell_uuid
