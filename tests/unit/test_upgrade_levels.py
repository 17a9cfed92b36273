"""``[upgrade_levels] compute``: numbers, release names and ``auto``, seen
as the version of the detach_volume cast a compute endpoint receives."""

import os
import time
import uuid

import fixtures
from oslo_config import cfg
import oslo_messaging
import testtools

from detach_ext.compute import objects
from detach_ext.compute import rpcapi
from detach_ext.compute import versions
from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext.db import api as db_api
from detach_ext.db import migration
from detach_ext.db import models
from detach_ext import rpc


class _Endpoint:
    """Receives the casts of one exact compute RPC version (a 6.0 target
    takes 6.0 only, a 5.0 target 5.0 only)."""

    def __init__(self, version, received):
        self.target = oslo_messaging.Target(version=version)
        self.version = version
        self.received = received

    def detach_volume(self, ctxt, instance, volume_id, attachment_id):
        self.received.append(self.version)


class Bus(fixtures.Fixture):
    """A compute RPC client on the in-process fake transport, a compute
    host listening at 6.0 and 5.0, and a SQLite compute database with
    Nova's ``services`` table."""

    def __init__(self, level=None):
        super().__init__()
        self.level = level

    def _setUp(self):
        path = self.useFixture(fixtures.TempDir()).path
        self.conf = cfg.ConfigOpts()
        detach_conf.register_opts(self.conf)
        self.conf([], project='detach_ext', default_config_files=[])
        self.conf.set_override('connection', 'sqlite:///' + os.path.join(
            path, 'compute.sqlite'), 'database')
        self.db = db_api.Database(self.conf)
        self.addCleanup(self.db.dispose)
        migration.create_nova_schema(self.db.engine)
        transport = oslo_messaging.get_rpc_transport(self.conf, 'fake://')
        self.addCleanup(transport.cleanup)
        self.received = []
        # A host of its own: the fake transport's queues are per process.
        self.host = 'compute-%s' % uuid.uuid4().hex[:8]
        server = rpc.get_server(
            transport, oslo_messaging.Target(topic='compute',
                                             server=self.host),
            [_Endpoint('6.0', self.received),
             _Endpoint('5.0', self.received)])
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        self.transport = transport
        self.use_level(self.level)

    def use_level(self, level):
        """A new client, of ``[upgrade_levels] compute = level``."""
        self.conf.set_override('compute', level, 'upgrade_levels')
        self.api = rpcapi.ComputeAPI(self.conf, self.transport,
                                     self.db.service_get_minimum_version)

    def cast(self):
        """Cast detach_volume; returns the version it was received as."""
        before = len(self.received)
        instance = objects.instance_primitive({'instance': {
            'id': 1, 'uuid': 'u1', 'host': self.host, 'deleted': 0}})
        self.api.detach_volume(detach_context.RequestContext(), instance,
                               'vol', 'att')
        deadline = time.monotonic() + 10
        while len(self.received) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.received[before] if len(self.received) > before else None

    def add_service(self, version, binary='nova-compute', forced_down=False,
                    deleted=False, host=None):
        with self.db.ctxmgr.writer.using(
                detach_context.get_admin_context()) as session:
            service = models.Service(
                host=host or 'host-%s' % uuid.uuid4().hex[:8],
                binary=binary, topic='compute', report_count=1,
                disabled=False, forced_down=forced_down, version=version,
                deleted=0)
            session.add(service)
            session.flush()
            if deleted:
                service.deleted = service.id


class TestFixedLevels(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bus = self.useFixture(Bus())

    def assertSends(self, version, level):
        self.bus.use_level(level)
        self.assertEqual(version, self.bus.cast(), 'compute = %s' % level)

    def assertRefused(self, level):
        self.bus.use_level(level)
        self.assertRaises(oslo_messaging.RPCVersionCapError, self.bus.cast)
        self.assertEqual([], self.bus.received)

    def test_unset_sends_6_0(self):
        self.assertSends('6.0', None)
        self.assertSends('6.0', '')

    def test_numbers(self):
        self.assertSends('6.0', '6.0')
        self.assertSends('6.0', '6.2')
        self.assertSends('5.0', '5.13')
        self.assertSends('5.0', '5.0')

    def test_number_below_5_is_refused(self):
        self.assertRefused('4.22')

    def test_release_names(self):
        for name, sent in (('queens', '5.0'), ('rocky', '5.0'),
                           ('train', '5.0'), ('victoria', '5.0'),
                           ('wallaby', '6.0'), ('yoga', '6.0'),
                           ('antelope', '6.0'), ('hibiscus', '6.0')):
            self.assertSends(sent, name)

    def test_release_names_older_than_5_0_are_refused(self):
        for name in ('icehouse', 'juno', 'kilo', 'pike'):
            self.assertRefused(name)


class TestAuto(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bus = self.useFixture(Bus('auto'))

    def test_no_computes_sends_newest_and_does_not_keep_it(self):
        self.assertEqual('6.0', self.bus.cast())
        self.assertEqual('6.5', self.bus.api.version_cap())
        # Nothing was kept: the first nova-compute to register counts.
        self.bus.add_service(53)  # victoria: compute RPC 5.12
        self.assertEqual('5.0', self.bus.cast())

    def test_6x_minimum_is_kept_until_reset(self):
        self.bus.add_service(66)  # 6.2
        self.bus.add_service(74)  # 6.5
        self.assertEqual('6.0', self.bus.cast())
        self.assertEqual('6.2', self.bus.api.version_cap())
        self.bus.add_service(53)  # an older compute registers later
        self.assertEqual('6.0', self.bus.cast())
        self.assertEqual('6.2', self.bus.api.version_cap())
        self.bus.api.reset_version_cap()
        self.assertEqual('5.0', self.bus.cast())
        self.assertEqual('5.12', self.bus.api.version_cap())

    def test_5x_minimum_sends_5_0(self):
        self.bus.add_service(56)  # 6.0
        self.bus.add_service(55)  # 5.13
        self.assertEqual('5.0', self.bus.cast())

    def test_forced_down_deleted_and_other_binaries_are_ignored(self):
        self.bus.add_service(66)
        self.bus.add_service(30, forced_down=True)
        self.bus.add_service(31, deleted=True)
        self.bus.add_service(32, binary='nova-conductor')
        self.assertEqual('6.0', self.bus.cast())
        self.assertEqual('6.2', self.bus.api.version_cap())

    def test_minimum_below_5_0_is_refused(self):
        self.bus.add_service(29)  # compute RPC 4.22
        self.assertRaises(oslo_messaging.RPCVersionCapError, self.bus.cast)
        self.assertEqual([], self.bus.received)

    def test_minimum_newer_than_known_sends_newest(self):
        self.bus.add_service(versions.SERVICE_VERSION + 5)
        self.assertEqual('6.0', self.bus.cast())
        self.assertEqual('6.5', self.bus.api.version_cap())

    def test_auto_needs_the_services_table(self):
        self.assertRaises(ValueError, rpcapi.ComputeAPI, self.bus.conf,
                          None)


class TestLevelValues(testtools.TestCase):

    def test_service_versions(self):
        self.assertEqual('6.5', versions.cap_for_service_version(0))
        self.assertEqual('4.22', versions.cap_for_service_version(29))
        self.assertEqual('5.13', versions.cap_for_service_version(55))
        self.assertEqual('6.0', versions.cap_for_service_version(56))
        self.assertEqual('6.5', versions.cap_for_service_version(74))
        self.assertEqual('6.5', versions.cap_for_service_version(75))

    def test_unknown_name_fails_loading_the_configuration(self):
        path = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(path, 'detach_ext.conf')
        with open(conf_file, 'w') as f:
            f.write('[upgrade_levels]\ncompute = folsom\n')
        exc = self.assertRaises(cfg.ConfigFileValueError, detach_conf.load,
                                config_files=[conf_file])
        self.assertIn("'folsom' is not a compute RPC version", str(exc))
        self.assertIn('victoria', str(exc))
        self.assertIn('auto', str(exc))

    def test_unknown_values_are_refused(self):
        conf = detach_conf.load(config_files=[])
        for value in ('folsom', 'Victoria', '6', 'six', '6.x', ' 6.0'):
            self.assertRaises(ValueError, conf.set_override, 'compute',
                              value, 'upgrade_levels')
        for value in ('6.0', '5.13', '6.2.1', 'auto', 'victoria', ''):
            conf.set_override('compute', value, 'upgrade_levels')
            self.assertEqual(value, conf.upgrade_levels.compute)
