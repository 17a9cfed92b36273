"""detach-ext-manage db sync / db version, on the configured database."""

import contextlib
import io
import os

import fixtures
import sqlalchemy as sa
import testtools

from detach_ext.cmd import manage
from detach_ext.db import migration
from tests.functional import fixtures as ff

# Nova's own shape of the two tables (more columns and indexes than
# detach_ext maps), as a real cell database has them.
NOVA_DDL = [
    """CREATE TABLE instances (
        created_at DATETIME, updated_at DATETIME, deleted_at DATETIME,
        id INTEGER NOT NULL PRIMARY KEY, internal_id INTEGER,
        user_id VARCHAR(255), project_id VARCHAR(255),
        image_ref VARCHAR(255), kernel_id VARCHAR(255),
        host VARCHAR(255), vm_state VARCHAR(255), task_state VARCHAR(255),
        locked BOOLEAN, uuid VARCHAR(36) NOT NULL, deleted INTEGER,
        cleaned INTEGER DEFAULT 0)""",
    "CREATE UNIQUE INDEX uuid ON instances (uuid)",
    """CREATE TABLE block_device_mapping (
        created_at DATETIME, updated_at DATETIME, deleted_at DATETIME,
        id INTEGER NOT NULL PRIMARY KEY, device_name VARCHAR(255),
        delete_on_termination BOOLEAN, snapshot_id VARCHAR(36),
        volume_id VARCHAR(36), volume_size INTEGER, no_device BOOLEAN,
        connection_info TEXT, instance_uuid VARCHAR(36),
        deleted INTEGER, source_type VARCHAR(255),
        destination_type VARCHAR(255), guest_format VARCHAR(255),
        device_type VARCHAR(255), disk_bus VARCHAR(255),
        boot_index INTEGER, image_id VARCHAR(36), tag VARCHAR(255),
        attachment_id VARCHAR(36), uuid VARCHAR(36),
        volume_type VARCHAR(255), encrypted BOOLEAN,
        encryption_secret_uuid VARCHAR(36))""",
    "CREATE INDEX block_device_mapping_instance_uuid_idx "
    "ON block_device_mapping (instance_uuid)",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
    "INSERT INTO alembic_version VALUES ('13863f4e1612')",
]


def describe(engine, table):
    inspector = sa.inspect(engine)
    columns = [(c['name'], str(c['type']), c['nullable'])
               for c in inspector.get_columns(table)]
    indexes = sorted((i['name'], tuple(i['column_names']))
                     for i in inspector.get_indexes(table))
    return columns, indexes


class TestDBSync(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        if ff.DB_SERVER_URL:
            self.url, drop = ff.create_database(ff.DB_SERVER_URL)
            self.addCleanup(drop)
        else:
            self.url = 'sqlite:///' + os.path.join(self.dir, 'db.sqlite')
        self.conf = os.path.join(self.dir, 'detach_ext.conf')
        with open(self.conf, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.url)
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        self.addCleanup(self.engine.dispose)

    def manage(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(0, manage.main(['--config-file', self.conf] +
                                            list(args)))
        return out.getvalue().strip()

    def tables(self):
        return set(sa.inspect(self.engine).get_table_names())

    def test_sync_is_idempotent_and_version_prints_revision(self):
        self.assertEqual('None', self.manage('db', 'version'))
        self.manage('db', 'sync')
        self.manage('db', 'sync')
        self.assertEqual('0002', self.manage('db', 'version'))
        self.assertEqual({'detach_ext_volumes', 'detach_ext_rollbacks',
                          migration.VERSION_TABLE}, self.tables())

    def test_nova_tables_only_when_asked(self):
        self.manage('db', 'sync')
        self.assertNotIn('instances', self.tables())
        self.manage('db', 'sync', '--create-nova-schema')
        self.assertEqual(set(), {'instances', 'block_device_mapping',
                                 'instance_faults'} - self.tables())

    def test_existing_nova_schema_is_never_altered(self):
        with self.engine.begin() as connection:
            for statement in NOVA_DDL:
                if self.url.startswith('postgresql'):
                    statement = statement.replace('DATETIME', 'TIMESTAMP')
                connection.execute(sa.text(statement))
        before = {t: describe(self.engine, t)
                  for t in ('instances', 'block_device_mapping',
                            'alembic_version')}
        self.manage('db', 'sync', '--create-nova-schema')
        self.manage('db', 'sync', '--create-nova-schema')
        after = {t: describe(self.engine, t) for t in before}
        self.assertEqual(before, after)
        with self.engine.connect() as connection:
            self.assertEqual(
                ['13863f4e1612'],
                list(connection.execute(sa.text(
                    'SELECT version_num FROM alembic_version')).scalars()))
        self.assertEqual('0002', self.manage('db', 'version'))
