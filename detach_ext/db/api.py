"""Database access: one small function per query, on a private engine facade.

Each :class:`Database` owns its own oslo.db transaction context manager,
configured from the ``[database]`` group of the ConfigOpts it is given, so
two deployments (or two tests) in one process never share an engine.
"""


import contextlib
import os
import select
import socket
import time

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import exc_filters
from oslo_utils import timeutils
import sqlalchemy as sa

from detach_ext.db import lookup
from detach_ext.db import models
from detach_ext.db import pool
from detach_ext.db import prepared


# oslo.db 18.1.1 knows a refused PostgreSQL connection only by libpq's old
# message "could not connect to server"; libpq 14 and newer say
# 'connection to server at "host", port N failed', which then escapes as a
# bare OperationalError (a 500 instead of a 503).  Teach oslo.db the new
# message through its own filter registry.
#
# With the wait callback of _bound_psycopg2_waits, libpq's failures come
# out as their bare text ("Connection refused"), and a wait that timed out
# as the message that callback raises: all are an unreachable database.
@exc_filters.filters('postgresql', sa.exc.OperationalError,
                     r'(?s).*(connection to server at .* failed|'
                     r'Connection refused|could not connect|'
                     r'could not receive data from server|'
                     r'server closed the connection|timeout expired)')
def _pg_connection_failed(operational_error, match, engine_name,
                          is_disconnect):
    raise db_exc.DBConnectionError(operational_error)


# A Galera node that is not part of the primary component (cut off from
# the others, or still joining) refuses statements with 1047 ("WSREP has
# not yet prepared node for application use") and fails a COMMIT with 1180
# ("Got error 6 during COMMIT"); oslo.db 18 passes both through as a bare
# DBError (a 500).  For a client they are the database being unreachable:
# the JSON 503 of any other database fault.
@exc_filters.filters('mysql', sa.exc.OperationalError,
                     r'(?s)^.*\((1047|1180),')
@exc_filters.filters('mysql', sa.exc.InternalError,
                     r'(?s)^.*\((1047|1180),')
def _galera_not_ready(operational_error, match, engine_name, is_disconnect):
    raise db_exc.DBConnectionError(operational_error)


def _retries(**what):
    """oslo.db's retry of ``what`` (deadlocks, lost connections): two
    retries, 0.1 s apart at first.  Two: with [detach_ext_database]
    query_timeout a call waits at most three times that for a database
    that stopped answering."""
    return oslo_db_api.wrap_db_retry(
        max_retries=2, retry_interval=0.1, max_retry_interval=0.5,
        jitter=True, **what)


# Writes that can meet a deadlock (MySQL/Galera) or a dropped connection
# are retried a few times before the error reaches the caller.
_retry_on_deadlock = _retries(retry_on_deadlock=True,
                              retry_on_disconnect=True)

# For a whole transaction of several steps (Database.transaction): a
# deadlock runs it again from its start; a lost connection answers at
# once (whether a COMMIT it was sending took effect is unknown), unless
# the block raised oslo.db's RetryRequest for it (a lost connection met
# before anything was written, see compute.api).
retry_on_deadlock = _retries(retry_on_deadlock=True)

# Reads run again on a new connection when theirs was lost (one the server
# dropped while it sat in the pool: detach_ext.db.pool): a read changes
# nothing.  Not inside Database.transaction(), whose connection is the
# one lost.
retry_read = _retries(retry_on_disconnect=True)


def engine_options(conf, connection=None):
    """oslo.db's options of ``[database]`` for ``connection`` (default
    ``[database] connection``), with the bounded waits of
    ``[detach_ext_database]`` added for the database servers."""
    options = dict(conf.database.items())
    options['thread_checkin'] = pool.thread_checkin()
    if connection is not None:
        options['connection'] = connection
    bounds = conf.detach_ext_database
    backend = sa.engine.make_url(options['connection']).get_backend_name()
    extra = None
    if backend == 'mysql':
        # PyMySQL's own socket timeouts.
        extra = 'connect_timeout=%d&read_timeout=%d&write_timeout=%d' % (
            max(1, round(bounds.connect_timeout)),
            max(1, round(bounds.query_timeout)),
            max(1, round(bounds.query_timeout)))
    elif backend == 'postgresql':
        extra = 'connect_timeout=%d' % max(1, round(bounds.connect_timeout))
        _bound_psycopg2_waits(bounds.query_timeout, bounds.connect_timeout)
    if extra:
        # How the pool uses its connections (detach_ext.db.pool).
        extra += '&' + pool.url_parameters(bounds.ping_after_idle)
        # A request waits this long at most for a connection of the pool
        # (SQLAlchemy's default is 30 s).
        if options.get('pool_timeout') is None:
            options['pool_timeout'] = max(1, round(bounds.connect_timeout))
        options['connection_parameters'] = '&'.join(
            p for p in (options.get('connection_parameters'), extra) if p)
    return options


def _begin_sqlite_immediately(engine):
    """SQLite transactions take the write lock when they begin.

    A transaction that reads and then writes (the detach's) would
    otherwise meet another one doing the same: both hold the read lock,
    neither can upgrade, and SQLite fails one of them at once ("database
    is locked").  Begun IMMEDIATE, the second waits for the first (the
    driver's busy timeout).  It takes the place of oslo.db's own listener,
    which emits a plain BEGIN (oslo.db 18 offers no option for this).
    """
    if engine.dialect.name != 'sqlite':
        return
    for listener in list(engine.dispatch.begin):
        if getattr(listener, '__name__', '') == '_sqlite_emit_begin':
            sa.event.remove(engine, 'begin', listener)

    @sa.event.listens_for(engine, 'begin')
    def begin(conn):
        if 'in_transaction' not in conn.info:
            conn.exec_driver_sql('BEGIN IMMEDIATE')
            conn.info['in_transaction'] = True


_psycopg2_timeout = []


def _bound_psycopg2_waits(seconds, connect_seconds):
    """Bound every wait of psycopg2 for the server to ``seconds`` (to
    ``connect_seconds`` while connecting).

    libpq has no read timeout: a server (or a proxy) that takes a query
    and never answers holds the request forever.  psycopg2's wait callback
    (process-wide, the only hook it has) waits on the socket here, with a
    bound; on expiry the connection is closed and the error is one that
    SQLAlchemy and oslo.db take for a lost connection (503).
    """
    try:
        import psycopg2
        from psycopg2 import extensions
    except ImportError:  # pragma: no cover - driver not installed
        return
    _psycopg2_timeout[:] = [seconds, connect_seconds]

    def wait(conn):
        # A connection being set up waits its connect bound.
        bound = _psycopg2_timeout[
            1 if conn.status == extensions.STATUS_SETUP else 0]
        deadline = time.monotonic() + bound
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            remaining = deadline - time.monotonic()
            if remaining > 0:
                fd = conn.fileno()
                if state == extensions.POLL_READ:
                    ready = select.select([fd], [], [], remaining)[0]
                else:
                    ready = select.select([], [fd], [], remaining)[1]
                if ready:
                    continue
            # Not conn.close(): it waits for the server too.  Shutting the
            # socket down ends every wait on it at once; the connection
            # is then dropped from the pool as a lost one.
            try:
                sock = socket.socket(fileno=os.dup(conn.fileno()))
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
            raise psycopg2.OperationalError(
                'could not receive data from server: no answer within '
                '%s seconds' % bound)

    extensions.set_wait_callback(wait)


# Statements of the detach path, built once.
_VOLUME_SWAP = sa.update(models.Volume.__table__).where(
    models.Volume.__table__.c.id == sa.bindparam('volume_id'),
    models.Volume.__table__.c.status == sa.bindparam('expected'),
).values(status=sa.bindparam('new_status'), updated_at=sa.bindparam('now'))
_ACTION_INSERT = sa.insert(models.InstanceAction.__table__).values(
    action=sa.bindparam('action'),
    instance_uuid=sa.bindparam('instance_uuid'),
    request_id=sa.bindparam('request_id'), user_id=sa.bindparam('user_id'),
    project_id=sa.bindparam('project_id'),
    start_time=sa.bindparam('start_time'),
    created_at=sa.bindparam('created_at'), deleted=0)


class _NothingToDo(Exception):
    """Leave a transaction without its changes."""


_INSTANCE_TABLES = ('instances', 'instance_metadata',
                    'instance_system_metadata', 'instance_info_caches',
                    'instance_extra', 'services')


class Database:
    """The compute database.

    :param conf: a ConfigOpts with oslo.db's ``[database]`` options.
    :param connection: a database URL other than ``[database] connection``
        (a cell's), with the same pool settings.
    """

    def __init__(self, conf, connection=None):
        self.ctxmgr = enginefacade.transaction_context()
        self.ctxmgr.configure(**engine_options(conf, connection))
        self.ctxmgr.append_on_engine_create(_begin_sqlite_immediately)
        self._commit_outcome_timeout = (
            conf.detach_ext_database.commit_outcome_timeout)
        # Whether the database is a Galera cluster (_causal); found out on
        # first use.
        self._galera = None
        self._reflected = None
        self._lookup = None
        self._begin = None

    @property
    def engine(self):
        return self.ctxmgr.writer.get_engine()

    def dispose(self):
        self.ctxmgr.dispose_pool()

    @retry_read
    def _first(self, context, query):
        """The first row of ``query``, detached from its session, or None."""
        with self.ctxmgr.reader.using(context) as session:
            row = session.scalars(query).first()
            if row is not None:
                session.expunge(row)
            return row

    def _insert(self, context, row):
        """Add ``row``; returns its id."""
        with self.ctxmgr.writer.using(context) as session:
            session.add(row)
            session.flush()
            return row.id

    @retry_read
    def _all(self, context, query):
        """Every row of ``query``, detached from their session."""
        with self.ctxmgr.reader.using(context) as session:
            rows = session.scalars(query).all()
            session.expunge_all()
            return rows

    # instances

    def instance_get_by_uuid(self, context, uuid, project_id=None):
        """A live instance, or None.

        :param project_id: when given, only an instance of that project.
        """
        query = sa.select(models.Instance).where(
            models.Instance.uuid == uuid, models.Instance.deleted == 0)
        if project_id is not None:
            query = query.where(models.Instance.project_id == project_id)
        return self._first(context, query)

    def _nova_tables(self, bind=None):
        """Nova's instance tables as the database has them (every column
        a real Nova schema has, not only those detach_ext maps).

        :param bind: the connection to read them on (inside a transaction,
            its own: SQLite's write lock is already held by it).
        """
        if self._reflected is None:
            bind = bind if bind is not None else self.engine
            names = set(sa.inspect(bind).get_table_names())
            metadata = sa.MetaData()
            metadata.reflect(bind, only=[
                t for t in _INSTANCE_TABLES if t in names])
            self._reflected = metadata.tables
        return self._reflected

    def transaction(self, context):
        """One connection and transaction for a block of calls: every
        method of this class called with ``context`` inside it joins it
        (oslo.db's nesting), and it commits at the end of the block.
        Methods with retries of their own must not be called inside one
        (a retry cannot resume a broken transaction): retry the block, as
        :func:`retry_on_deadlock` does."""
        return self.ctxmgr.writer.connection.using(context)

    def detach_begin(self, context, instance_uuid, volume_id):
        """Begin a detach in one transaction (or the caller's): the local
        volume's compare-and-swap ``in-use`` -> ``detaching`` and the
        ``detach_volume`` instance action of the context's request.

        :returns: the action's id, or None (nothing written) when the
            volume was not ``in-use``.
        """
        now = timeutils.utcnow()
        # Core statements on the connection: no ORM session to set up and
        # tear down for two statements.
        with self.ctxmgr.writer.connection.using(context) as conn:
            swap, insert = self._begin_statements(conn.dialect)
            if swap.execute(conn, {
                    'volume_id': volume_id, 'expected': 'in-use',
                    'new_status': 'detaching', 'now': now}).rowcount != 1:
                return None
            return prepared.inserted_id(insert.execute(conn, {
                'action': 'detach_volume', 'instance_uuid': instance_uuid,
                'request_id': context.request_id,
                'user_id': context.user_id,
                'project_id': context.project_id, 'start_time': now,
                'created_at': now}))

    def detach_begin_committed(self, context, instance_uuid, volume_id):
        """Whether the context's request recorded its begin (its action
        exists), after a COMMIT whose outcome is unknown.

        Each try is a transaction on a new connection that first locks the
        volume's row: on the database node of the unknown COMMIT that waits
        for its transaction to end, so the action read next is its outcome.
        On a Galera node the reads are causal (:meth:`_causal`): a write
        set the cluster took from a node that then died is applied before
        they look.  A try that loses its connection (or times out, as a
        causal read does while the cluster has no primary component) is
        made again until ``[detach_ext_database] commit_outcome_timeout``.

        :raises oslo_db.exception.DBError: the database could not be asked
            in that time.
        """
        volumes = models.Volume.__table__
        actions = models.InstanceAction.__table__

        def ask(conn):
            conn.execute(sa.select(volumes.c.status).where(
                volumes.c.id == volume_id).with_for_update())
            return conn.execute(sa.select(actions.c.id).where(
                actions.c.instance_uuid == instance_uuid,
                actions.c.request_id == context.request_id,
                actions.c.deleted == 0)).first() is not None
        return self._read_back(context, ask)

    def detach_finished(self, context, bdm_id):
        """Whether a mapping is gone, read as :meth:`detach_begin_committed`
        reads (a lock on its row, causal on Galera, again within
        ``commit_outcome_timeout``): after a completion whose COMMIT's
        outcome is unknown.

        :raises oslo_db.exception.DBError: the database could not be asked
            in that time.
        """
        bdms = models.BlockDeviceMapping.__table__

        def ask(conn):
            deleted = conn.execute(sa.select(bdms.c.deleted).where(
                bdms.c.id == bdm_id).with_for_update()).scalar()
            return deleted is None or deleted != 0
        return self._read_back(context, ask)

    def _read_back(self, context, ask):
        deadline = time.monotonic() + self._commit_outcome_timeout
        while True:
            try:
                with self.ctxmgr.writer.connection.using(context) as conn:
                    with self._causal(conn):
                        return ask(conn)
            except db_exc.DBConnectionError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    @contextlib.contextmanager
    def _causal(self, conn):
        """On a Galera node, make the reads, updates and deletes run on
        ``conn`` inside the block wait until the node has applied every
        write set the cluster committed before them (``wsrep_sync_wait``
        3); elsewhere nothing.

        Without it a node serves what it has applied so far: a row another
        node inserted a moment ago may not be there yet (an UPDATE of it
        then matches nothing), and neither may the last write set of a node
        that died.  Only where that matters (the read-backs of unknown
        COMMITs, the worker's completion); the API's own path stays as it
        is.
        """
        if not self._is_galera(conn):
            yield
            return
        conn.exec_driver_sql('SET SESSION wsrep_sync_wait = 3')
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.exec_driver_sql(
                    'SET SESSION wsrep_sync_wait = @@global.wsrep_sync_wait')

    def _is_galera(self, conn):
        if self._galera is None:
            if conn.dialect.name != 'mysql':
                self._galera = False
            else:
                try:
                    self._galera = bool(conn.exec_driver_sql(
                        'SELECT @@wsrep_on').scalar())
                except db_exc.DBConnectionError:
                    raise
                except db_exc.DBError:
                    # MySQL without Galera has no such variable.
                    self._galera = False
        return self._galera

    def _begin_statements(self, dialect):
        if self._begin is None:
            self._begin = (
                prepared.Prepared(_VOLUME_SWAP, dialect, (
                    'volume_id', 'expected', 'new_status', 'now')),
                prepared.Prepared(prepared.returning_id(
                    _ACTION_INSERT, models.InstanceAction.__table__,
                    dialect), dialect, (
                    'action', 'instance_uuid', 'request_id', 'user_id',
                    'project_id', 'start_time', 'created_at')))
        return self._begin

    def detach_lookup(self, context, instance_uuid, volume_id,
                      project_id=None):
        """A live instance with its live attachment of ``volume_id`` and
        all the cast carries of it, in one statement
        (:mod:`detach_ext.db.lookup`).

        :param project_id: when given, only an instance of that project.
        :returns: ``(instance, attachment, full)`` (see
            :func:`detach_ext.db.lookup.unpack`), or None without such an
            instance.
        """
        params = {'uuid': instance_uuid, 'volume_id': volume_id}
        with self.ctxmgr.reader.connection.using(context) as conn:
            if self._lookup is None:
                any_project, own_project, shapes = lookup.build(
                    self._nova_tables(conn))
                names = ('uuid', 'volume_id', 'project_id')
                self._lookup = (
                    prepared.Prepared(any_project, conn.dialect, names[:2]),
                    prepared.Prepared(own_project, conn.dialect, names),
                    shapes)
            any_project, own_project, shapes = self._lookup
            query = any_project
            if project_id is not None:
                params['project_id'] = project_id
                query = own_project
            rows = query.execute(conn, params).all()
        return lookup.unpack(rows, shapes) if rows else None

    @retry_read
    def instance_get_full(self, context, uuid):
        """Every column of a live instance row, with its metadata, system
        metadata, info cache, device metadata and its host's services:
        the ``full`` part of :meth:`detach_lookup` (one statement), or
        ``{'instance': None}`` without such an instance."""
        found = self.detach_lookup(context, uuid, None)
        return found[2] if found is not None else {'instance': None}

    @retry_read
    def instance_hosts(self, context):
        """The hosts of the live instances, sorted."""
        query = sa.select(models.Instance.host).where(
            models.Instance.deleted == 0,
            models.Instance.host.is_not(None)).distinct()
        with self.ctxmgr.reader.using(context) as session:
            return sorted(session.scalars(query).all())

    # instance_actions

    @_retry_on_deadlock
    def action_start(self, context, instance_uuid, action):
        """Record ``action`` on an instance under the context's request
        id, user and project; returns the row id."""
        return self._insert(context, models.InstanceAction(
            action=action, instance_uuid=instance_uuid,
            request_id=context.request_id, user_id=context.user_id,
            project_id=context.project_id, start_time=timeutils.utcnow(),
            deleted=0))

    @_retry_on_deadlock
    def action_destroy(self, context, action_id):
        """Remove an action (and its events) whose request failed before
        it changed anything."""
        with self.ctxmgr.writer.using(context) as session:
            session.execute(sa.delete(models.InstanceActionEvent).where(
                models.InstanceActionEvent.action_id == action_id))
            session.execute(sa.delete(models.InstanceAction).where(
                models.InstanceAction.id == action_id))

    def action_get_by_request_id(self, context, instance_uuid, request_id):
        query = sa.select(models.InstanceAction).where(
            models.InstanceAction.instance_uuid == instance_uuid,
            models.InstanceAction.request_id == request_id,
            models.InstanceAction.deleted == 0,
        ).order_by(models.InstanceAction.id.desc())
        return self._first(context, query)

    @_retry_on_deadlock
    def action_event_start(self, context, action_id, event, host):
        return self._insert(context, models.InstanceActionEvent(
            action_id=action_id, event=event, host=host,
            start_time=timeutils.utcnow(), deleted=0))

    @_retry_on_deadlock
    def action_event_finish(self, context, action_id, event_id, result,
                            traceback=None):
        with self.ctxmgr.writer.using(context) as session:
            self._event_finish(session, action_id, event_id, result,
                               traceback, timeutils.utcnow())

    @staticmethod
    def _event_finish(session, action_id, event_id, result, traceback, now):
        session.execute(sa.update(models.InstanceActionEvent).where(
            models.InstanceActionEvent.id == event_id).values(
            result=result, traceback=traceback, finish_time=now,
            updated_at=now))
        values = {'updated_at': now}
        if result == 'Error':
            values['message'] = 'Error'
        session.execute(sa.update(models.InstanceAction).where(
            models.InstanceAction.id == action_id).values(**values))

    def actions_since(self, context, instance_uuid, action, since):
        """The instance's actions named ``action`` started at or after
        ``since``, newest first, each with its list of ``events``."""
        query = sa.select(models.InstanceAction).where(
            models.InstanceAction.instance_uuid == instance_uuid,
            models.InstanceAction.action == action,
            models.InstanceAction.deleted == 0,
            models.InstanceAction.start_time >= since,
        ).order_by(models.InstanceAction.id.desc())
        actions = self._all(context, query)
        for found in actions:
            found.events = self._all(context, sa.select(
                models.InstanceActionEvent).where(
                models.InstanceActionEvent.action_id == found.id))
        return actions

    # block_device_mapping

    def bdm_get_by_volume_and_instance(self, context, volume_id,
                                       instance_uuid):
        """The live mapping of a volume to an instance, or None."""
        query = sa.select(models.BlockDeviceMapping).where(
            models.BlockDeviceMapping.volume_id == volume_id,
            models.BlockDeviceMapping.instance_uuid == instance_uuid,
            models.BlockDeviceMapping.deleted == 0,
        ).order_by(models.BlockDeviceMapping.id.desc())
        return self._first(context, query)

    def bdm_get_volumes_by_instance(self, context, instance_uuid):
        """Live volume mappings of an instance, oldest first."""
        query = sa.select(models.BlockDeviceMapping).where(
            models.BlockDeviceMapping.instance_uuid == instance_uuid,
            models.BlockDeviceMapping.deleted == 0,
            models.BlockDeviceMapping.volume_id.is_not(None),
        ).order_by(models.BlockDeviceMapping.id)
        return self._all(context, query)

    def bdm_get_all_by_host(self, context, host, volume_statuses=None,
                            volume_changed_before=None):
        """Live volume mappings of the live instances on ``host``.

        :param volume_statuses: only those of volumes of the ``local``
            backend (``detach_ext_volumes``) in one of these statuses,
        :param volume_changed_before: ... whose status last changed at or
            before this time (or at a time not recorded).
        """
        query = sa.select(models.BlockDeviceMapping).join(
            models.Instance,
            models.Instance.uuid == models.BlockDeviceMapping.instance_uuid,
        ).where(
            models.Instance.host == host,
            models.Instance.deleted == 0,
            models.BlockDeviceMapping.deleted == 0,
            models.BlockDeviceMapping.volume_id.is_not(None),
        ).order_by(models.BlockDeviceMapping.id)
        if volume_statuses is not None:
            query = query.join(
                models.Volume,
                models.Volume.id == models.BlockDeviceMapping.volume_id,
            ).where(models.Volume.status.in_(volume_statuses))
            if volume_changed_before is not None:
                changed = sa.func.coalesce(models.Volume.updated_at,
                                           models.Volume.created_at)
                query = query.where(sa.or_(
                    changed.is_(None), changed <= volume_changed_before))
        return self._all(context, query)

    @_retry_on_deadlock
    def bdm_destroy(self, context, bdm_id):
        """Soft-delete a mapping; returns whether it was live."""
        stmt = sa.update(models.BlockDeviceMapping).where(
            models.BlockDeviceMapping.id == bdm_id,
            models.BlockDeviceMapping.deleted == 0,
        ).values(deleted=models.BlockDeviceMapping.id,
                 deleted_at=timeutils.utcnow(),
                 updated_at=timeutils.utcnow())
        with self.ctxmgr.writer.using(context) as session:
            return session.execute(stmt).rowcount == 1

    @_retry_on_deadlock
    def detach_finish(self, context, bdm_id, volume_id=None, action_id=None,
                      event_id=None):
        """Finish a detach in one transaction.

        The mapping is soft-deleted and the worker's event (if given)
        finished with Success; with ``volume_id`` (the ``local`` volume
        backend, whose table is in this database) the volume goes from
        ``detaching`` to ``available``, or back to ``in-use`` while another
        live mapping still holds it (a multiattach volume, Cinder's rule).

        On a Galera node its statements are causal (:meth:`_causal`): the
        event, inserted through another node a moment ago, is there to be
        finished.

        :returns: False, with nothing changed, when the volume was not
            ``detaching`` or the mapping was gone already (a duplicate).
        """
        now = timeutils.utcnow()
        bdms = models.BlockDeviceMapping
        try:
            with self.ctxmgr.writer.using(context) as session, \
                    self._causal(session.connection()):
                if volume_id is not None:
                    others = session.execute(
                        sa.select(sa.func.count()).select_from(bdms).where(
                            bdms.volume_id == volume_id, bdms.deleted == 0,
                            bdms.id != bdm_id)).scalar()
                    status = 'in-use' if others else 'available'
                    if session.execute(sa.update(models.Volume).where(
                            models.Volume.id == volume_id,
                            models.Volume.status == 'detaching').values(
                            status=status, updated_at=now)).rowcount != 1:
                        return False
                if session.execute(sa.update(bdms).where(
                        bdms.id == bdm_id, bdms.deleted == 0).values(
                        deleted=bdms.id, deleted_at=now,
                        updated_at=now)).rowcount != 1:
                    raise _NothingToDo()
                if event_id is not None:
                    self._event_finish(session, action_id, event_id,
                                       'Success', None, now)
        except _NothingToDo:
            return False
        return True

    # instance_faults

    @_retry_on_deadlock
    def instance_fault_create(self, context, instance_uuid, code, message,
                              details, host):
        self._insert(context, models.InstanceFault(
            instance_uuid=instance_uuid, code=code, message=message[:255],
            details=details, host=host, deleted=0))

    # detach_ext_volumes (the local volume backend)

    def volume_get(self, context, volume_id):
        query = sa.select(models.Volume).where(models.Volume.id == volume_id)
        return self._first(context, query)

    @_retry_on_deadlock
    def volume_update_status_on_match(self, context, volume_id, expected,
                                      status):
        """Compare-and-swap a volume's status in one UPDATE.

        :returns: True if the status was ``expected`` and is now ``status``;
            of concurrent callers exactly one sees True.
        """
        stmt = sa.update(models.Volume).where(
            models.Volume.id == volume_id,
            models.Volume.status == expected,
        ).values(status=status, updated_at=timeutils.utcnow())
        with self.ctxmgr.writer.using(context) as session:
            return session.execute(stmt).rowcount == 1

    # detach_ext_rollbacks

    @_retry_on_deadlock
    def rollback_create(self, context, volume_id, instance_uuid):
        """Record that the context's request left ``volume_id`` detaching
        at the block storage service and owes it a roll back."""
        with self.ctxmgr.writer.using(context) as session:
            session.merge(models.Rollback(
                volume_id=volume_id, instance_uuid=instance_uuid,
                request_id=context.request_id,
                created_at=timeutils.utcnow()))

    def rollback_get(self, context, volume_id):
        """The roll back owed to a volume, or None."""
        return self._first(context, sa.select(models.Rollback).where(
            models.Rollback.volume_id == volume_id))

    @_retry_on_deadlock
    def rollback_destroy(self, context, volume_id):
        with self.ctxmgr.writer.using(context) as session:
            session.execute(sa.delete(models.Rollback).where(
                models.Rollback.volume_id == volume_id))

    # services

    @retry_read
    def service_get_minimum_version(self, context, binary):
        """The minimum service version of the live services of ``binary``
        that are not forced down (Nova's query), or 0 if there are none.
        """
        query = sa.select(sa.func.min(models.Service.version)).where(
            models.Service.binary == binary,
            models.Service.deleted == 0,
            models.Service.forced_down == sa.false())
        with self.ctxmgr.reader.using(context) as session:
            return int(session.execute(query).scalar() or 0)
