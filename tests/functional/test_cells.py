"""Cells v2: servers found through Nova's API database, each detached in
its own cell's database and on its own cell's message bus."""

import uuid

import sqlalchemy as sa

from detach_ext.db import api as db_api
from detach_ext.db import mappings
from detach_ext.db import migration
from tests.functional import base
from tests.functional import fixtures as ff


class CellsTestCase(base.TestCase):
    """cell0, cell1 (the deployment's own [database]) and cell2, each
    with a worker on its own bus."""

    # An unreachable cell database fails at once (no connect retries).
    extra_conf = '[database]\nmax_retries = 0\n'

    def setUp(self):
        super().setUp()
        self.api_db = self.useFixture(ff.Database())
        cell0_db = self.useFixture(ff.Database())
        cell2_db = self.useFixture(ff.Database())
        self.dep = self.useFixture(ff.Deployment(extra_conf=(
            '[api_database]\nconnection = %s\n' % self.api_db.url
            + self.extra_conf)))
        cell2_bus = self.dep.transport_url
        if cell2_bus.startswith('rabbit'):
            cell2_bus = self.useFixture(ff.RabbitVhost()).url
        api_engine = sa.create_engine(self.api_db.url)
        self.addCleanup(api_engine.dispose)
        mappings.NovaAPIBase.metadata.create_all(api_engine)
        self.api_engine = api_engine
        self.cell_ids = {}
        self.dbs = {}
        for name, cell_uuid, url, bus in (
                ('cell0', mappings.CELL0_UUID, cell0_db.url, 'none:///'),
                ('cell1', str(uuid.uuid4()), self.dep.db_url,
                 self.dep.transport_url),
                ('cell2', str(uuid.uuid4()), cell2_db.url, cell2_bus)):
            if name == 'cell1':
                self.dbs[name] = self.dep.db
            else:
                db = db_api.Database(self.dep.conf, connection=url)
                self.addCleanup(db.dispose)
                migration.db_sync(db.engine, create_nova=True)
                self.dbs[name] = db
            self.cell_ids[name] = self.insert(
                mappings.CellMapping, uuid=cell_uuid, name=name,
                database_connection=url, transport_url=bus, disabled=False)
        self.workers = {}
        for name in ('cell1', 'cell2'):
            server = self.add_server(name)
            cell = self.dep.runtime.cells.cell_of(self.dep.context, server)
            self.workers[name] = self.dep.start_worker(
                'compute-%s' % name, cell=cell)

    def insert(self, model, **values):
        with self.api_engine.begin() as connection:
            return connection.execute(
                sa.insert(model).values(**values)).inserted_primary_key[0]

    def add_server(self, cell, mapped=True, **kwargs):
        kwargs.setdefault('host', 'compute-%s' % cell)
        server = self.dep.add_server(db=self.dbs[cell], **kwargs)
        if mapped:
            self.insert(mappings.InstanceMapping, instance_uuid=server,
                        cell_id=self.cell_ids.get(cell), project_id=ff.PROJECT,
                        user_id='demo', queued_for_delete=False)
        return server


class TestCells(CellsTestCase):

    def test_detach_in_each_cell_202(self):
        for cell in ('cell1', 'cell2'):
            db = self.dbs[cell]
            server = self.add_server(cell)
            volume = self.dep.add_volume(server, db=db)
            self.assertAccepted(self.dep.delete(server, volume))
            self.assertTrue(self.dep.wait_for(
                lambda: self.dep.attachment(server, volume, db=db) is None))
            self.assertEqual('available',
                             self.dep.volume_status(volume, db=db))
            self.assertEqual([volume], [m['volume_id'] for m in
                                        self.workers[cell].received])
            action = db.action_get_by_request_id(
                self.dep.context, server,
                self.workers[cell].received[0]['context'].request_id)
            self.assertEqual('detach_volume', action.action)

    def test_reads_in_the_servers_cell(self):
        server = self.add_server('cell2')
        volume = self.dep.add_volume(server, db=self.dbs['cell2'])
        response = self.dep.request(
            '/v2.1/servers/%s/os-volume_attachments/%s' % (server, volume),
            token='demo:' + ff.PROJECT)
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(volume, response.json['volumeAttachment']['id'])

    def test_unmapped_server_404(self):
        # In a cell's database, but not (or not yet) in a cell mapping.
        for cell in ('cell1', 'cell2'):
            server = self.add_server(cell, mapped=False)
            volume = self.dep.add_volume(server, db=self.dbs[cell])
            before = self.dep.snapshot()
            self.assertFault(self.dep.delete(server, volume), 404,
                             'itemNotFound',
                             'Instance %s could not be found.' % server)
            self.assertEqual(before, self.dep.snapshot())
        # Mapped while being scheduled: no cell yet.
        server = str(uuid.uuid4())
        self.insert(mappings.InstanceMapping, instance_uuid=server,
                    cell_id=None, project_id=ff.PROJECT)
        self.assertFault(self.dep.delete(server, str(uuid.uuid4())), 404,
                         'itemNotFound',
                         'Instance %s could not be found.' % server)

    def test_server_in_cell0_409(self):
        # Servers that were never scheduled are buried in cell0, in error.
        server = self.add_server('cell0', host=None, vm_state='error')
        volume = self.dep.add_volume(server, db=self.dbs['cell0'])
        self.assertFault(self.dep.delete(server, volume), 409,
                         'conflictingRequest',
                         "Cannot 'detach_volume' instance %s while it is in "
                         "vm_state error" % server)
        self.assertEqual('in-use', self.dep.volume_status(
            volume, db=self.dbs['cell0']))

    def test_cell_database_down_503(self):
        cell_id = self.insert(
            mappings.CellMapping, uuid=str(uuid.uuid4()), name='down',
            database_connection='mysql+pymysql://root@127.0.0.1:9/nova',
            transport_url=self.dep.transport_url, disabled=False)
        server = str(uuid.uuid4())
        self.insert(mappings.InstanceMapping, instance_uuid=server,
                    cell_id=cell_id, project_id=ff.PROJECT)
        before = self.dep.snapshot()
        self.assertFault(self.dep.delete(server, str(uuid.uuid4())), 503,
                         'serviceUnavailable',
                         'The compute database could not be reached; '
                         'nothing was changed.  Try again later.')
        self.assertEqual(before, self.dep.snapshot())
        # The other cells still answer.
        server = self.add_server('cell2')
        volume = self.dep.add_volume(server, db=self.dbs['cell2'])
        self.assertAccepted(self.dep.delete(server, volume))


class TestAPIDatabaseDown(base.TestCase):

    def test_api_database_down_503(self):
        dep = self.useFixture(ff.Deployment(extra_conf=(
            '[api_database]\nconnection = '
            'mysql+pymysql://root@127.0.0.1:9/nova_api\n'
            '[database]\nmax_retries = 0\n')))
        server = dep.add_server()
        volume = dep.add_volume(server)
        before = dep.snapshot()
        self.assertFault(dep.delete(server, volume), 503,
                         'serviceUnavailable')
        self.assertEqual(before, dep.snapshot())


class TestCellsAutoVersion(CellsTestCase):
    """``[upgrade_levels] compute = auto`` takes the oldest nova-compute of
    every cell, as Nova's get_minimum_version_all_cells."""

    extra_conf = (CellsTestCase.extra_conf +
                  '[upgrade_levels]\ncompute = auto\n')

    def test_oldest_compute_of_any_cell_sets_the_version(self):
        self.dep.add_service(66, db=self.dbs['cell1'])
        # A victoria nova-compute in cell2 caps the cast to cell1 too.
        self.dep.add_service(53, db=self.dbs['cell2'])
        server = self.add_server('cell1')
        volume = self.dep.add_volume(server, db=self.dbs['cell1'])
        self.assertAccepted(self.dep.delete(server, volume))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.volume_status(
                volume, db=self.dbs['cell1']) == 'available'))
        self.assertEqual([volume], self.workers['cell1'].received_5x)
