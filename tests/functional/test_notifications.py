"""The worker's notifications, received from the deployment's transport
(the in-process bus, or RabbitMQ under .ci/run)."""

import oslo_messaging

from tests.functional import base
from tests.functional import fixtures as ff


class Listener:
    def __init__(self):
        self.received = []

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.append(('INFO', publisher_id, event_type, payload,
                              ctxt))

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.append(('ERROR', publisher_id, event_type, payload,
                              ctxt))


class TestNotifications(base.TestCase):

    def setUp(self):
        super().setUp()
        url = None
        if ff.TRANSPORT_URL and ff.TRANSPORT_URL.startswith('rabbit'):
            # The notifier declares its topic queues itself (they never
            # auto-delete): a vhost of this test's own takes them away.
            url = self.useFixture(ff.RabbitVhost()).url
        self.dep = self.useFixture(ff.Deployment(
            transport_url=url,
            extra_conf='[oslo_messaging_notifications]\n'
                       'driver = messagingv2\n'))
        self.listener = Listener()
        listener = oslo_messaging.get_notification_listener(
            self.dep.runtime.notification_transport,
            [oslo_messaging.Target(topic='versioned_notifications'),
             oslo_messaging.Target(topic='notifications')],
            [self.listener],
            # A queue of this test's own on a shared broker.
            pool='detach-ext-test-%s' % self.dep.exchange)
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

    def events(self, count):
        self.assertTrue(self.dep.wait_for(
            lambda: len(self.listener.received) >= count),
            self.listener.received)
        return {(r[0], r[2]): r for r in self.listener.received}

    def test_start_end_and_legacy(self):
        self.dep.start_worker(ff.HOST)
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        response = self.dep.delete(server, volume)
        self.assertAccepted(response)
        events = self.events(3)
        self.assertEqual({('INFO', 'instance.volume_detach.start'),
                          ('INFO', 'instance.volume_detach.end'),
                          ('INFO', 'compute.instance.volume.detach')},
                         set(events))
        _p, publisher, _e, payload, ctxt = events[
            ('INFO', 'instance.volume_detach.end')]
        self.assertEqual('nova-compute:%s' % self.dep.host(ff.HOST),
                         publisher)
        self.assertEqual('InstanceActionVolumePayload',
                         payload['nova_object.name'])
        data = payload['nova_object.data']
        self.assertEqual(server, data['uuid'])
        self.assertEqual(volume, data['volume_id'])
        self.assertEqual(ff.PROJECT, data['tenant_id'])
        self.assertEqual('active', data['state'])
        self.assertEqual('running', data['power_state'])
        self.assertIsNone(data['fault'])
        self.assertEqual(response.headers['x-openstack-request-id'],
                         ctxt['request_id'])
        legacy = events[('INFO', 'compute.instance.volume.detach')]
        self.assertEqual('compute.%s' % self.dep.host(ff.HOST), legacy[1])
        self.assertEqual(volume, legacy[3]['volume_id'])
        self.assertEqual(server, legacy[3]['instance_id'])

    def test_error_notification(self):
        self.dep.start_worker(ff.HOST, driver=ff.FailingDriver())
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self.assertAccepted(self.dep.delete(server, volume))
        events = self.events(2)
        self.assertIn(('ERROR', 'instance.volume_detach.error'), events)
        self.assertNotIn(('INFO', 'instance.volume_detach.end'), events)
        fault = events[('ERROR', 'instance.volume_detach.error')][3][
            'nova_object.data']['fault']['nova_object.data']
        self.assertEqual('OSError', fault['exception'])
        self.assertEqual('device busy', fault['exception_message'])

    def test_nothing_reaches_the_bus_by_default(self):
        dep = self.useFixture(ff.Deployment())
        listener = Listener()
        server = oslo_messaging.get_notification_listener(
            dep.runtime.notification_transport,
            [oslo_messaging.Target(topic='versioned_notifications'),
             oslo_messaging.Target(topic='notifications')],
            [listener], pool='detach-ext-test-%s' % dep.exchange)
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        worker = dep.start_worker(ff.HOST)
        instance = dep.add_server()
        volume = dep.add_volume(instance)
        self.assertAccepted(dep.delete(instance, volume))
        self.assertTrue(dep.wait_for(
            lambda: dep.attachment(instance, volume) is None and
            worker.idle()))
        # Give a stray notification the time to arrive: there is none.
        dep.wait_for(lambda: listener.received, timeout=1)
        self.assertEqual([], listener.received)
