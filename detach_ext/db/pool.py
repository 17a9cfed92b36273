"""How the engines use their pooled connections to a database server.

oslo.db creates every engine with SQLAlchemy's defaults for a pool that
knows nothing of its callers, and each costs a round trip to the server
on every request:

* ``pool_pre_ping``: a ping (MySQL's COM_PING, PostgreSQL's ``SELECT 1``)
  each time a connection leaves the pool;
* reset on return: a ROLLBACK each time it goes back, even straight after
  the COMMIT or ROLLBACK that ended its transaction;
* ``thread_checkin``: a ``time.sleep(0)`` on each return, for eventlet's
  green threads (a system call and a hand-over of the GIL with threads).

Here (:class:`PoolPlugin`, on each engine oslo.db creates for a database
server):

* a connection that has been idle in the pool for more than
  ``[detach_ext_database] ping_after_idle`` seconds is pinged before use
  (a dead one is replaced, as ``pool_pre_ping`` does); one used more
  recently is not: under load connections are idle for milliseconds.  A
  connection dropped by the server within that time fails its first
  statement, and SQLAlchemy then replaces every connection of the pool
  older than the failure; reads are retried
  (:data:`detach_ext.db.api.retry_read`), as is a detach whose lookup
  failed so (oslo.db's ``RetryRequest``, in
  :meth:`detach_ext.compute.api.API.detach_volume`), and writes already
  retry a lost connection;
* the ROLLBACK on return is sent only when the connection's transaction
  was not ended through SQLAlchemy (a COMMIT or ROLLBACK that succeeded,
  or SQLAlchemy's own reset when a connection with an open transaction is
  closed);
* ``thread_checkin`` is off unless eventlet has patched ``threading``
  (:func:`thread_checkin`).

SQLAlchemy lets ``pool_pre_ping`` and ``pool_reset_on_return`` be chosen
only when ``create_engine()`` is called, which oslo.db does without a way
to pass them.  It also offers a public way in: a ``CreateEnginePlugin``
named in the database URL (``plugin=detach_ext_pool``, the entry point of
the ``sqlalchemy.plugins`` namespace) is given the pool's arguments before
the pool is made, and the engine once it is.  :func:`url_parameters` are
the URL parameters that name it, which
:func:`detach_ext.db.api.engine_options` adds for the database servers;
no private attribute of SQLAlchemy is touched.
tests/functional/test_sql_count.py counts the round trips.
"""

import sys
import time

import sqlalchemy as sa

# connection record info keys
_IDLE_SINCE = 'detach_ext.idle_since'
_ENDED = 'detach_ext.transaction_ended'

SERVER_BACKENDS = ('mysql', 'postgresql')

# The plugin's name (setup.cfg, sqlalchemy.plugins) and its URL parameter.
PLUGIN = 'detach_ext_pool'
PING_AFTER_IDLE = 'detach_ext_ping_after_idle'


def thread_checkin():
    """oslo.db's ``thread_checkin``: whether eventlet has patched
    ``threading`` in this process (its green threads need the yield; OS
    threads do not)."""
    patcher = sys.modules.get('eventlet.patcher')
    return bool(patcher is not None and
                patcher.is_monkey_patched('thread'))


def url_parameters(ping_after_idle):
    """The query parameters of a database URL that give its engine's pool
    detach_ext's settings (:class:`PoolPlugin`): ping only connections
    idle for more than ``ping_after_idle`` seconds (0: every connection,
    as oslo.db does), roll back on return only what SQLAlchemy did not
    end."""
    return 'plugin=%s&%s=%s' % (PLUGIN, PING_AFTER_IDLE,
                                float(ping_after_idle))


class PoolPlugin(sa.engine.CreateEnginePlugin):
    """SQLAlchemy's public hook into ``create_engine()``, named in the URL
    (:func:`url_parameters`)."""

    def __init__(self, url, kwargs):
        super().__init__(url, kwargs)
        value = url.query.get(PING_AFTER_IDLE, 0)
        if isinstance(value, tuple):
            value = value[-1]
        self.ping_after_idle = float(value)
        self.server = url.get_backend_name() in SERVER_BACKENDS

    def update_url(self, url):
        # The driver must not see the plugin's own parameter.
        return url.difference_update_query([PING_AFTER_IDLE])

    def handle_pool_kwargs(self, pool_cls, pool_args):
        if not self.server:
            return
        pool_args['reset_on_return'] = None
        if self.ping_after_idle > 0:
            pool_args['pre_ping'] = False

    def engine_created(self, engine):
        if not self.server:
            return
        _rollback_what_is_open(engine)
        if self.ping_after_idle > 0:
            _ping_when_idle(engine, self.ping_after_idle)


def _rollback_what_is_open(engine):
    """Track, per pooled connection, whether its last transaction was
    ended by a COMMIT or ROLLBACK that succeeded; roll back on return
    only when it was not (nor reset by SQLAlchemy), or when that is not
    known (a connection used through the raw DBAPI).  The pool itself
    resets nothing (``reset_on_return=None``): the ``reset`` event, which
    SQLAlchemy sends on every return, decides."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    # The dialect's own methods, wrapped on this engine's dialect: marked
    # only once the server has answered (no event comes after a COMMIT,
    # and oslo.db's error handler ends the chain of handle_error).
    def do_commit(dbapi_connection):
        commit(dbapi_connection)
        _mark_ended(dbapi_connection)

    def do_rollback(dbapi_connection):
        rollback(dbapi_connection)
        _mark_ended(dbapi_connection)

    dialect.do_commit = do_commit
    dialect.do_rollback = do_rollback

    def checkout(dbapi_connection, record, proxy):
        record.info[_ENDED] = False

    def begin(conn):
        conn.info[_ENDED] = False

    def reset(dbapi_connection, record, state):
        if state.transaction_was_reset or (
                record is not None and record.info.get(_ENDED)):
            return
        dialect.do_rollback(dbapi_connection)

    sa.event.listen(engine, 'checkout', checkout)
    sa.event.listen(engine, 'begin', begin)
    sa.event.listen(engine, 'reset', reset)


def _mark_ended(connection):
    # SQLAlchemy passes the pool's proxy, whose info is the pooled
    # connection's (a raw DBAPI connection's own "info" is not; the proxy
    # of a connection being set up has none).
    if isinstance(connection, sa.pool.PoolProxiedConnection):
        try:
            connection.info[_ENDED] = True
        except NotImplementedError:
            pass


def _ping_when_idle(engine, idle):
    """Ping a connection on checkout if it has been idle for more than
    ``idle`` seconds; a failed ping makes the pool replace it."""
    dialect = engine.dialect

    def fresh(dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection, record, proxy):
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since <= idle:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError(
                'the connection failed its ping: %s' % exc) from exc
        if alive is False:
            raise sa.exc.DisconnectionError('the connection failed its ping')

    sa.event.listen(engine, 'connect', fresh)
    sa.event.listen(engine, 'checkin', fresh)
    sa.event.listen(engine, 'checkout', checkout)
