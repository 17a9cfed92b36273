"""Pooled connections to a database server (detach_ext.db.pool): what a
connection the server dropped while it sat in the pool costs a request
(nothing), and that a connection goes back to the pool with no
transaction open.

On MariaDB or PostgreSQL (DETACH_EXT_TEST_DB_URL); SQLite is skipped.
The server drops the connections itself (KILL, pg_terminate_backend), as
a restart, a failover or a proxy's timeout does.
"""

import json
import time

from oslo_db import exception as db_exc
import sqlalchemy as sa

from detach_ext.db import models
from tests.functional import base
from tests.functional import fixtures as ff


class _ServerDatabase(base.TestCase):

    # ping_after_idle of the deployment
    ping_after_idle = 60

    def setUp(self):
        super().setUp()
        self.needs_database_server('pooled connections to a server')
        self.dep = self.useFixture(ff.Deployment(
            extra_conf='[detach_ext_database]\nping_after_idle = %s\n'
            % self.ping_after_idle))
        self.engine = self.dep.db.engine
        self.backend = self.engine.dialect.name
        server_url = sa.engine.make_url(self.dep.db_url)
        self.admin = sa.create_engine(
            server_url.set(database='postgres' if self.backend ==
                           'postgresql' else None),
            isolation_level='AUTOCOMMIT', poolclass=sa.pool.NullPool)
        self.addCleanup(self.admin.dispose)
        self.database = server_url.database
        self.lost = []

        def handle_error(context):
            if context.is_disconnect:
                self.lost.append(context.original_exception)
        sa.event.listen(self.engine, 'handle_error', handle_error)
        self.addCleanup(sa.event.remove, self.engine, 'handle_error',
                        handle_error)
        self.server = self.dep.add_server()
        self.volumes = [self.dep.add_volume(self.server) for _ in range(3)]

    def drop_connections(self):
        """The server closes every connection to this test's database;
        returns how many."""
        with self.admin.connect() as conn:
            if self.backend == 'mysql':
                ids = conn.exec_driver_sql(
                    'SELECT id FROM information_schema.processlist '
                    'WHERE db = %s AND id <> CONNECTION_ID()',
                    (self.database,)).scalars().all()
                for thread in ids:
                    conn.exec_driver_sql('KILL CONNECTION %d' % thread)
                return len(ids)
            return len(conn.exec_driver_sql(
                'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                'WHERE datname = %(name)s AND pid <> pg_backend_pid()',
                {'name': self.database}).all())

    def detach(self, volume):
        response = self.dep.delete(self.server, volume)
        self.assertEqual(202, response.status_int, response.text)
        self.assertEqual('detaching', self.dep.volume_status(volume))

    def show(self, volume):
        return self.dep.request(
            '/v2/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, self.server, volume), token='demo:' + ff.PROJECT)


class TestConnectionDroppedWhilePooled(_ServerDatabase):
    """Used again within ping_after_idle: no ping, so the first statement
    meets the dropped connection; the request runs again on a new one."""

    def test_detach_202(self):
        self.detach(self.volumes[0])
        self.assertGreater(self.drop_connections(), 0)
        self.detach(self.volumes[1])
        # The lookup met the dropped connection (not a ping).
        self.assertNotEqual([], self.lost)
        # One action per detach: nothing was written twice.
        with self.engine.connect() as conn:
            actions = conn.execute(sa.select(sa.func.count()).where(
                models.InstanceAction.instance_uuid == self.server)).scalar()
        self.assertEqual(2, actions)

    def test_show_200(self):
        self.assertEqual(200, self.show(self.volumes[0]).status_int)
        self.assertGreater(self.drop_connections(), 0)
        response = self.show(self.volumes[0])
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(self.volumes[0], json.loads(
            response.body)['volumeAttachment']['volumeId'])
        self.assertNotEqual([], self.lost)


class TestConnectionDroppedWhileIdle(_ServerDatabase):
    """Idle for longer than ping_after_idle: pinged, found dead and
    replaced before any statement is sent on it."""

    ping_after_idle = 0.05

    def test_detach_202_no_statement_fails(self):
        self.detach(self.volumes[0])
        self.assertGreater(self.drop_connections(), 0)
        time.sleep(3 * self.ping_after_idle)
        self.detach(self.volumes[1])
        self.assertEqual([], self.lost)


class TestReturnedConnectionsHoldNoTransaction(_ServerDatabase):
    """A connection goes back to the pool with its transaction ended,
    however it was used: the ROLLBACK on return is skipped only after a
    COMMIT or ROLLBACK through SQLAlchemy."""

    NEW_VOLUME = 'f0000000-0000-0000-0000-000000000001'

    def _count_volumes(self, conn):
        return conn.execute(sa.select(sa.func.count()).select_from(
            models.Volume.__table__)).scalar()

    def _insert_volume(self, conn):
        conn.execute(models.Volume.__table__.insert().values(
            id=self.NEW_VOLUME, status='available'))

    def test_raw_connection_rolled_back_on_return(self):
        with self.engine.connect() as conn:
            before = self._count_volumes(conn)
        raw = self.engine.raw_connection()
        raw.cursor().execute(
            "INSERT INTO detach_ext_volumes (id, status) VALUES "
            "('%s', 'available')" % self.NEW_VOLUME)
        raw.close()
        with self.engine.connect() as conn:
            self.assertEqual(before, self._count_volumes(conn))

    def test_committed_work_stays(self):
        with self.engine.connect() as conn:
            before = self._count_volumes(conn)
        with self.engine.begin() as conn:
            self._insert_volume(conn)
        with self.engine.connect() as conn:
            self.assertEqual(before + 1, self._count_volumes(conn))

    def test_open_transaction_rolled_back_on_close(self):
        with self.engine.connect() as conn:
            before = self._count_volumes(conn)
            conn.commit()
            self._insert_volume(conn)
        with self.engine.connect() as conn:
            self.assertEqual(before, self._count_volumes(conn))

    def test_failed_commit_rolled_back_on_return(self):
        # A COMMIT that fails leaves the connection's state unknown to
        # SQLAlchemy: it is rolled back on return.  (Failed here before
        # it reaches the server, so the transaction is still open.)  On
        # MariaDB oslo.db reports error 1180 as a lost connection
        # (DBConnectionError, what Galera's answer means).
        with self.engine.connect() as conn:
            before = self._count_volumes(conn)
        dialect = self.engine.dialect
        real = dialect.do_commit

        def failing(dbapi_connection):
            dialect.do_commit = real
            raise dialect.loaded_dbapi.OperationalError(
                1180, 'Got error during COMMIT')
        dialect.do_commit = failing
        self.addCleanup(setattr, dialect, 'do_commit', real)
        db = self.dep.db

        def insert():
            with db.transaction(self.dep.context) as conn:
                self._insert_volume(conn)
        self.assertRaises((sa.exc.OperationalError,
                           db_exc.DBConnectionError), insert)
        with self.engine.connect() as conn:
            self.assertEqual(before, self._count_volumes(conn))
