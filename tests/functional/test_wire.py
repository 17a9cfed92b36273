"""The detach_volume cast as bytes on RabbitMQ, against the shape
doc/source/reference/message.rst documents (Nova's compute RPC API 6.0)."""

import json
import uuid

from keystoneauth1 import fixture as ksa_fixture
from keystonemiddleware import fixture as ksm_fixture
import kombu
import sqlalchemy as sa

from tests.functional import base
from tests.functional import fixtures as ff


class TestWireFormat(base.TestCase):

    upgrade_level = None
    message_version = '6.0'

    def setUp(self):
        super().setUp()
        if not (ff.TRANSPORT_URL and ff.TRANSPORT_URL.startswith('rabbit')):
            self.skipTest('reads the raw message from RabbitMQ: set '
                          'DETACH_EXT_TEST_TRANSPORT_URL (.ci/run does)')
        vhost = self.useFixture(ff.RabbitVhost())
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        self.dep = self.useFixture(ff.Deployment(
            pipeline='main', extra_conf=ff.KEYSTONE_CONF + (
                '[upgrade_levels]\ncompute = %s\n' % self.upgrade_level
                if self.upgrade_level else ''),
            transport_url=vhost.url, auto_delete=False))
        self.connection = kombu.Connection(vhost.url.replace('rabbit://',
                                                             'amqp://'))
        self.addCleanup(self.connection.release)
        exchange = kombu.Exchange(self.dep.exchange,
                                  type='topic', durable=False)
        self.queue = kombu.Queue(
            'wire-test', exchange=exchange,
            routing_key='compute.%s' % self.dep.host(ff.HOST),
            channel=self.connection.channel())
        self.queue.declare()

    def message(self):
        """The next message on compute.<host>, unwrapped."""
        raw = None
        for _ in range(100):
            raw = self.queue.get(no_ack=True)
            if raw is not None:
                break
            self.dep.wait_for(lambda: False, timeout=0.05)
        self.assertIsNotNone(raw, 'no message on compute.<host>')
        envelope = json.loads(raw.body)
        self.assertEqual('2.0', envelope['oslo.version'])
        return json.loads(envelope['oslo.message'])

    def test_booleans_are_json_booleans(self):
        # Nova's boolean columns detach_ext's own schema lacks, added as a
        # Nova database has them (MariaDB: TINYINT(1), read back as 0/1).
        columns = {'auto_disk_config': 'BOOLEAN',
                   'shutdown_terminate': 'BOOLEAN',
                   'disable_terminate': 'BOOLEAN', 'hidden': 'BOOLEAN',
                   'cleaned': 'INTEGER'}
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        with self.dep.db.engine.begin() as connection:
            for name, type_ in columns.items():
                connection.execute(sa.text(
                    'ALTER TABLE instances ADD COLUMN %s %s' % (name, type_)))
            connection.execute(sa.text(
                'UPDATE instances SET auto_disk_config = :t, '
                'shutdown_terminate = :f, disable_terminate = :t, '
                'hidden = :f, cleaned = 1 WHERE uuid = :uuid'),
                {'t': True, 'f': False, 'uuid': server})
        token = ksa_fixture.V3Token(user_id='u1', project_id=ff.PROJECT)
        token.add_role(name='member')
        self.assertAccepted(self.dep.delete(
            server, volume, token=self.tokens.add_token(token)))
        data = self.message()['args']['instance']['nova_object.data']
        for name, value in (('locked', False), ('deleted', False),
                            ('auto_disk_config', True),
                            ('shutdown_terminate', False),
                            ('disable_terminate', True), ('hidden', False),
                            ('cleaned', True)):
            self.assertIs(value, data[name], name)

    def test_detach_volume_message(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        # A keystone token with a catalog: the compute side calls the
        # block storage API with this token and catalog.
        token = ksa_fixture.V3Token(user_id='u1', user_name='alice',
                                    project_id=ff.PROJECT,
                                    project_name='demo')
        token.add_role(name='member')
        token.add_role(name='reader')
        cinder = token.add_service('block-storage', name='cinder')
        cinder.add_standard_endpoints(
            public='http://127.0.0.1:8776/v3/' + ff.PROJECT)
        keystone = token.add_service('identity', name='keystone')
        keystone.add_standard_endpoints(public='http://127.0.0.1:5000/v3')
        token_id = self.tokens.add_token(token, token_id=uuid.uuid4().hex)
        response = self.dep.delete(server, volume, token=token_id)
        self.assertAccepted(response)
        message = self.message()

        self.assertEqual('detach_volume', message['method'])
        self.assertEqual(self.message_version, message['version'])
        self.assertEqual({'instance', 'volume_id', 'attachment_id'},
                         set(message['args']))
        self.assertEqual(volume, message['args']['volume_id'])
        self.assertEqual(self.dep.attachment(server, volume).attachment_id,
                         message['args']['attachment_id'])
        instance = message['args']['instance']
        # As nova-api sends an instance read from the database: no
        # nova_object.changes.
        self.assertEqual({'nova_object.name', 'nova_object.namespace',
                          'nova_object.version', 'nova_object.data'},
                         set(instance))
        self.assertEqual(('Instance', 'nova', '2.8'),
                         (instance['nova_object.name'],
                          instance['nova_object.namespace'],
                          instance['nova_object.version']))
        data = instance['nova_object.data']
        for column in ('id', 'uuid', 'host', 'node', 'project_id',
                       'user_id', 'vm_state', 'task_state', 'power_state',
                       'locked', 'launched_at', 'root_device_name',
                       'availability_zone', 'created_at', 'deleted'):
            self.assertIn(column, data)
        self.assertEqual(server, data['uuid'])
        self.assertIs(False, data['deleted'])
        self.assertRegex(data['launched_at'],
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual({}, data['metadata'])
        self.assertEqual({}, data['system_metadata'])
        self.assertIs(False, data['locked'])
        self.assertEqual('SecurityGroupList',
                         data['security_groups']['nova_object.name'])
        self.assertEqual({'objects': []},
                         data['security_groups']['nova_object.data'])
        self.assertIsNone(data['device_metadata'])

        # The request context, flattened with the _context_ prefix, as
        # Nova's RequestContext.to_dict() has it.
        context = {k[len('_context_'):]: v for k, v in message.items()
                   if k.startswith('_context_')}
        self.assertEqual(response.headers['x-openstack-request-id'],
                         context['request_id'])
        self.assertEqual(token_id, context['auth_token'])
        self.assertEqual('u1', context['user_id'])
        self.assertEqual('alice', context['user_name'])
        self.assertEqual('demo', context['project_name'])
        self.assertEqual(ff.PROJECT, context['project_id'])
        self.assertEqual(['member', 'reader'], sorted(context['roles']))
        self.assertEqual('no', context['read_deleted'])
        self.assertIn('timestamp', context)
        self.assertIs(False, context['is_admin'])
        # The catalog keeps the services a compute host calls.
        self.assertEqual(['block-storage'],
                         [s['type'] for s in context['service_catalog']])
        self.assertIn('_unique_id', message)
        self.assertNotIn('_msg_id', message)  # a cast, not a call


class TestWireFormatVictoria(TestWireFormat):
    """The same message, as version 5.0 for victoria nova-computes."""

    upgrade_level = 'victoria'
    message_version = '5.0'
