"""The detach_volume cast as the compute hosts hear it: only the server's
host, at compute RPC 6.x, with Nova's arguments; also a cast through a
private ConfigOpts."""

import datetime
import time

import fixtures
from oslo_config import cfg
import oslo_messaging
import testtools

from detach_ext.compute import objects
from detach_ext.compute import rpcapi
from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext import rpc


def _conf(overrides=None):
    conf = cfg.ConfigOpts()
    detach_conf.register_opts(conf)
    conf([], project='detach_ext', default_config_files=[])
    for (group, name), value in (overrides or {}).items():
        conf.set_override(name, value, group)
    return conf


def _instance():
    return objects.instance_primitive({
        'instance': dict(
            id=7, uuid='u1', user_id='usr', project_id='p1', hostname='vm',
            host='compute-1', vm_state='active', task_state=None,
            locked=False, launched_at=datetime.datetime(2014, 8, 19, 11, 34,
                                                        21),
            deleted=0, internal_id=None),
        'metadata': {'k': 'v'}, 'system_metadata': None,
        'info_cache': {'id': 3, 'instance_uuid': 'u1', 'deleted': 0,
                       'network_info': '[{"id": "port"}]',
                       'created_at': None}})


class Endpoints:
    """What a compute host hears at compute RPC 6.x (a cast at 5.x does not
    reach it)."""

    target = oslo_messaging.Target(version='6.0')

    def __init__(self):
        self.received = []

    def detach_volume(self, ctxt, instance, volume_id, attachment_id=None):
        self.received.append((ctxt, instance, volume_id, attachment_id))


def _serve(test, transport, endpoints, host='compute-1'):
    """A started RPC server of ``host`` (stopped at the test's end)."""
    server = rpc.get_server(
        transport, oslo_messaging.Target(topic='compute', server=host),
        [endpoints])
    server.start()
    test.addCleanup(server.wait)
    test.addCleanup(server.stop)
    return server


def _wait(predicate):
    for _ in range(500):
        if predicate():
            return True
        time.sleep(0.01)
    return False


class TestComputeRPCAPI(testtools.TestCase):

    def listen(self, transport, host):
        endpoints = Endpoints()
        _serve(self, transport, endpoints, host)
        return endpoints

    def test_detach_volume_cast(self):
        conf = _conf()
        transport = oslo_messaging.get_rpc_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        host, other_host = (self.listen(transport, name)
                            for name in ('compute-1', 'compute-2'))
        ctxt = detach_context.RequestContext(user_id='usr', project_id='p1')
        rpcapi.ComputeAPI(conf, transport).detach_volume(
            ctxt, _instance(), 'vol', 'att')
        self.assertTrue(_wait(lambda: host.received))
        # Only the server's host hears it, at compute RPC 6.x.
        (sent_ctxt, primitive, volume_id, attachment_id), = host.received
        self.assertEqual([], other_host.received)
        self.assertEqual(ctxt.request_id, sent_ctxt.request_id)
        self.assertEqual('vol', volume_id)
        self.assertEqual('att', attachment_id)
        self.assertEqual('Instance', primitive['nova_object.name'])
        self.assertEqual('nova', primitive['nova_object.namespace'])
        self.assertEqual('2.8', primitive['nova_object.version'])
        self.assertNotIn('nova_object.changes', primitive)
        data = primitive['nova_object.data']
        self.assertEqual('2014-08-19T11:34:21Z', data['launched_at'])
        self.assertIs(False, data['deleted'])
        self.assertEqual(7, data['id'])
        # Only Instance 2.8's fields travel.
        self.assertNotIn('internal_id', data)
        self.assertEqual({'k': 'v'}, data['metadata'])
        self.assertNotIn('system_metadata', data)
        cache = data['info_cache']
        self.assertEqual('InstanceInfoCache', cache['nova_object.name'])
        self.assertEqual('[{"id": "port"}]',
                         cache['nova_object.data']['network_info'])
        self.assertNotIn('id', cache['nova_object.data'])

    def test_casts_in_turn_reach_each_their_own_host(self):
        # The call context prepared for a host is kept: the next cast to
        # another host must not go through it.
        conf = _conf()
        transport = oslo_messaging.get_rpc_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        hosts = {name: self.listen(transport, name)
                 for name in ('compute-1', 'compute-2')}
        api = rpcapi.ComputeAPI(conf, transport)
        ctxt = detach_context.RequestContext(user_id='usr', project_id='p1')
        for n, host in enumerate(('compute-1', 'compute-2', 'compute-1')):
            instance = _instance()
            instance['nova_object.data']['host'] = host
            api.detach_volume(ctxt, instance, 'vol-%d' % n, 'att')
        self.assertTrue(_wait(lambda: len(hosts['compute-1'].received) == 2
                              and hosts['compute-2'].received))
        self.assertEqual(
            {'compute-1': ['vol-0', 'vol-2'], 'compute-2': ['vol-1']},
            {name: sorted(r[2] for r in endpoints.received)
             for name, endpoints in hosts.items()})

    def test_exchange_is_nova(self):
        conf = _conf()
        transport = oslo_messaging.get_rpc_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        self.assertEqual('nova', conf.control_exchange)

    def test_cast_through_private_configopts_is_delivered(self):
        # oslo.messaging reads [oslo_messaging_tracing] and
        # [oslo_messaging_metrics] from the transport's ConfigOpts.
        conf = _conf()
        transport = oslo_messaging.get_rpc_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        received = []

        class Endpoint:
            target = oslo_messaging.Target(version='6.0')

            def detach_volume(self, ctxt, instance, volume_id,
                              attachment_id):
                received.append((ctxt.request_id, volume_id))

        _serve(self, transport, Endpoint())
        ctxt = detach_context.RequestContext(user_id='usr', project_id='p1')
        rpcapi.ComputeAPI(conf, transport).detach_volume(
            ctxt, _instance(), 'vol', 'att')
        for _ in range(500):
            if received:
                break
            time.sleep(0.01)
        self.assertEqual([(ctxt.request_id, 'vol')], received)


class TestWorkerThreads(testtools.TestCase):
    """The RPC server's thread pool: detach_ext's default, unless set."""

    def _started_server(self, config=''):
        path = self.useFixture(fixtures.TempDir()).join('detach_ext.conf')
        with open(path, 'w') as f:
            f.write(config)
        conf = cfg.ConfigOpts()
        detach_conf.register_opts(conf)
        conf([], project='detach_ext', default_config_files=[path])
        transport = oslo_messaging.get_rpc_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        return _serve(self, transport, Endpoints())

    def test_default_is_detach_ext_s(self):
        server = self._started_server()
        self.assertEqual(rpc.WORKER_THREADS,
                         server._work_executor._max_workers)
        self.assertNotEqual(64, rpc.WORKER_THREADS)

    def test_the_option_set_wins(self):
        server = self._started_server(
            '[DEFAULT]\nexecutor_thread_pool_size = 32\n')
        self.assertEqual(32, server._work_executor._max_workers)
