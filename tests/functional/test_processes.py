"""detach_ext as a deployer runs it: gunicorn with two worker processes,
one detach-ext-compute process per host, a real database server and
RabbitMQ between them; then the faults, each with real processes.

Needs DETACH_EXT_TEST_TRANSPORT_URL (rabbit://...) and
DETACH_EXT_TEST_DB_URL; skipped otherwise, since the in-process transport
cannot cross processes.  The database and the broker are reached through a
:class:`~tests.functional.proxy.Proxy` each, so a test can cut them off
from the processes without stopping the shared services.
"""

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import fixtures
import oslo_messaging
import sqlalchemy as sa
from testtools import content

from detach_ext.compute import objects
from detach_ext.compute import rpcapi as compute_rpcapi
from detach_ext import context as detach_context
from tests.functional import base
from tests.functional import fixtures as ff
from tests.functional import proxy

BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Processes(fixtures.Fixture):
    """Real processes of one deployment, behind proxies."""

    def __init__(self, dep, extra_conf=''):
        super().__init__()
        self.dep = dep
        self.extra_conf = extra_conf

    def _setUp(self):
        db_url = sa.engine.make_url(self.dep.db_url)
        self.db_proxy = proxy.Proxy((db_url.host, db_url.port)).start()
        self.addCleanup(self.db_proxy.cut)
        bus = oslo_messaging.TransportURL.parse(self.dep.conf,
                                                self.dep.transport_url)
        bus_host = bus.hosts[0]
        self.bus_proxy = proxy.Proxy((bus_host.hostname,
                                      bus_host.port or 5672)).start()
        self.addCleanup(self.bus_proxy.cut)
        text = self.dep.conf_text().replace(
            '%s:%s' % (db_url.host, db_url.port),
            '127.0.0.1:%s' % self.db_proxy.port).replace(
            '%s:%s' % (bus_host.hostname, bus_host.port or 5672),
            '127.0.0.1:%s' % self.bus_proxy.port)
        self.conf_path = os.path.join(self.dep.dir, 'services.conf')
        with open(self.conf_path, 'w') as f:
            f.write(text)
            f.write('[api]\npaste_pipeline = noauth2\n'
                    '%s\n' % self.extra_conf)
        self.procs = {}

    def _spawn(self, name, args):
        log = open(os.path.join(self.dep.dir, name + '.log'), 'ab')
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, DETACH_EXT_CONFIG_FILE=self.conf_path,
                     PYTHONWARNINGS='ignore::DeprecationWarning'))
        log.close()
        self.procs[name] = proc

        def _stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.addCleanup(_stop)
        return proc

    def log(self, name):
        with open(os.path.join(self.dep.dir, name + '.log'), 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def wait_for_log(self, name, text, timeout=30):
        """Wait for ``text`` in a process's log: only for moments no state
        shows (a message taken and failed on the database, an unplug
        under way)."""
        if not self.dep.wait_for(lambda: text in self.log(name), timeout):
            raise AssertionError('%r not in the log of %s:\n%s'
                                 % (text, name, self.log(name)[-3000:]))

    def consumers(self, queue):
        """How many consumers the broker counts on ``queue`` of this
        deployment's vhost."""
        vhost = urllib.parse.urlsplit(self.dep.transport_url).path[1:]
        listed = subprocess.run(
            [shutil.which('rabbitmqctl'), 'list_queues', '-q', '-p', vhost,
             'name', 'consumers'], capture_output=True, text=True).stdout
        for line in listed.splitlines():
            name, _sep, count = line.partition('\t')
            if name == queue and count.strip().isdigit():
                return int(count)
        return 0

    def api_workers(self):
        """The pids of gunicorn's worker processes."""
        master = self.procs['api'].pid
        with open('/proc/%d/task/%d/children' % (master, master)) as f:
            return f.read().split()

    def start_api(self, workers=2, timeout=30):
        """gunicorn, which kills a worker that answers no request within
        ``timeout`` seconds (its default is 30): a test that sees detach_ext's
        own answer knows it came within that bound."""
        self.port = _free_port()
        self._spawn('api', [os.path.join(BIN, 'gunicorn'), '-w',
                            str(workers), '-b', '127.0.0.1:%s' % self.port,
                            '--graceful-timeout', '5',
                            '--timeout', str(timeout),
                            'detach_ext.wsgi:application'])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.request('/', 'GET')
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError('gunicorn did not start:\n' + self.log('api'))

    def start_worker(self, host, name=None, conf_path=None):
        name = name or 'worker-' + host
        proc = self._spawn(name, [os.path.join(BIN, 'detach-ext-compute'),
                                  '--config-file',
                                  conf_path or self.conf_path,
                                  '--host', self.dep.host(host)])
        # Listening once its queue has a consumer.
        queue = 'compute.%s' % self.dep.host(host)
        if not self.dep.wait_for(lambda: self.consumers(queue), 60):
            raise AssertionError('%s does not consume %s:\n%s'
                                 % (name, queue, self.log(name)[-3000:]))
        return proc

    def request(self, path, method='DELETE', token='demo:' + ff.PROJECT):
        req = urllib.request.Request(
            'http://127.0.0.1:%s%s' % (self.port, path), method=method,
            headers={'X-Auth-Token': token, 'Accept': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def detach(self, server, volume):
        return self.request('/v2/%s/servers/%s/os-volume_attachments/%s'
                            % (ff.PROJECT, server, volume))


class ProcessTestCase(base.TestCase):

    extra_conf = ''

    def setUp(self):
        super().setUp()
        if not (ff.DB_SERVER_URL and ff.TRANSPORT_URL and
                ff.TRANSPORT_URL.startswith('rabbit')):
            self.skipTest('needs a database server and RabbitMQ: set '
                          'DETACH_EXT_TEST_DB_URL and '
                          'DETACH_EXT_TEST_TRANSPORT_URL (.ci/run does)')
        # A vhost of its own and durable queues, as in production: a worker
        # that loses the broker finds its queue (and the casts in it) when
        # it reconnects.
        vhost = self.useFixture(ff.RabbitVhost())
        self.dep = self.useFixture(ff.Deployment(transport_url=vhost.url,
                                                 auto_delete=False))
        self.procs = self.useFixture(Processes(self.dep, self.extra_conf))

    def worker_events(self, server, request_id=None):
        """(result, host) of each compute_detach_volume event of the
        server's detach (of ``request_id``, else its only one)."""
        if request_id is None:
            action, = self.dep.db.actions_since(
                self.dep.context, server, 'detach_volume',
                datetime.datetime(2000, 1, 1))
        else:
            action = self.dep.db.action_get_by_request_id(
                self.dep.context, server, request_id)
        if action is None:
            return []
        return [(e.result, e.host) for e in self.dep.action_events(action.id)
                if e.event == 'compute_detach_volume']

    def wait_for_unplugging(self, server, request_id):
        """Until the worker has begun the detach of ``request_id``."""
        self.assertTrue(self.dep.wait_for(
            lambda: self.worker_events(server, request_id) == [
                (None, self.dep.host('compute-a'))], 30))

    def assertDetached(self, server, volume, timeout=30):
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(server, volume) is None, timeout),
            'volume %s was not detached' % volume)
        self.assertEqual('available', self.dep.volume_status(volume))


class TestDeployment(ProcessTestCase):

    def test_gunicorn_two_workers_two_hosts(self):
        self.procs.start_api(workers=2)
        self.procs.start_worker('compute-a')
        self.procs.start_worker('compute-b')
        placed = {}
        for host in ('compute-a', 'compute-b'):
            for _ in range(3):
                server = self.dep.add_server(host=host)
                placed[self.dep.add_volume(server)] = (host, server)
        request_ids = {}
        for volume, (host, server) in placed.items():
            status, body, headers = self.procs.detach(server, volume)
            self.assertEqual(202, status, body)
            self.assertEqual(b'', body)
            request_ids[volume] = headers['x-openstack-request-id']
        for volume, (host, server) in placed.items():
            self.assertDetached(server, volume)
            # Finished by the worker of the server's host alone.
            self.assertEqual(
                [('Success', self.dep.host(host))],
                self.worker_events(server, request_ids[volume]))
        # Both gunicorn workers are up (each holds its own pools).
        self.assertEqual(2, len(self.procs.api_workers()))


class TestFaults(ProcessTestCase):

    extra_conf = '[reference_driver]\ndetach_delay = 3\n'

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server(host='compute-a')
        self.volume = self.dep.add_volume(self.server)

    def test_rabbitmq_unreachable_503_within_bound(self):
        self.procs.start_api(workers=1)
        self.procs.start_worker('compute-a')
        warm = self.dep.add_volume(self.server)
        self.assertEqual(202, self.procs.detach(self.server, warm)[0])
        self.procs.bus_proxy.cut()
        started = time.monotonic()
        status, body, _headers = self.procs.detach(self.server, self.volume)
        elapsed = time.monotonic() - started
        self.assertEqual(503, status, body)
        self.assertIn('serviceUnavailable', json.loads(body))
        self.addDetail('seconds_to_503',
                       content.text_content('%.2f' % elapsed))
        self.assertEqual('in-use', self.dep.volume_status(self.volume))
        self.assertIsNotNone(self.dep.attachment(self.server, self.volume))
        # The broker is back: the same request now succeeds.
        self.procs.bus_proxy.restore()
        self.assertTrue(self.dep.wait_for(
            lambda: self.procs.detach(self.server, self.volume)[0] == 202,
            timeout=60))
        self.assertDetached(self.server, self.volume)

    # The bound every answer keeps: with the default timeouts a detach
    # answers within about 20 s whatever stalls (doc/source/admin/faults.rst).
    BOUND = 20

    def assertServiceUnavailable(self, status, body, headers):
        """detach_ext's own 503 (JSON, with its request id), which
        gunicorn's --timeout of BOUND proves came within BOUND."""
        self.assertEqual(503, status, body)
        self.assertEqual(['serviceUnavailable'], list(json.loads(body)))
        self.assertTrue(headers.get('x-openstack-request-id'))

    def test_broker_stalls_503_within_bound(self):
        self.procs.start_api(workers=1, timeout=self.BOUND)
        self.procs.start_worker('compute-a')
        warm = self.dep.add_volume(self.server)
        self.assertEqual(202, self.procs.detach(self.server, warm)[0])
        self.assertDetached(self.server, warm)
        before = self.dep.snapshot(ignore=('updated_at',))
        self.procs.bus_proxy.stall()
        started = time.monotonic()
        self.assertServiceUnavailable(
            *self.procs.detach(self.server, self.volume))
        self.addDetail('seconds_to_503', content.text_content(
            '%.2f' % (time.monotonic() - started)))
        # Rolled back, action removed: nothing but updated_at moved.
        self.assertEqual(before, self.dep.snapshot(ignore=('updated_at',)))
        self.procs.bus_proxy.resume()
        # The stalled cast may still arrive; it finds no action and the
        # volume in-use, and changes nothing.  A new request detaches.
        self.assertTrue(self.dep.wait_for(
            lambda: self.procs.detach(self.server, self.volume)[0] == 202,
            timeout=60))
        self.assertDetached(self.server, self.volume)

    def test_database_stalls_503_within_bound(self):
        self.procs.start_api(workers=1, timeout=self.BOUND)
        self.procs.start_worker('compute-a')
        warm = self.dep.add_volume(self.server)
        self.assertEqual(202, self.procs.detach(self.server, warm)[0])
        self.assertDetached(self.server, warm)
        before = self.dep.snapshot()
        self.procs.db_proxy.stall()
        self.assertServiceUnavailable(
            *self.procs.detach(self.server, self.volume))
        self.procs.db_proxy.resume()
        self.assertEqual(before, self.dep.snapshot())
        self.assertTrue(self.dep.wait_for(
            lambda: self.procs.detach(self.server, self.volume)[0] == 202,
            timeout=60))
        self.assertDetached(self.server, self.volume)

    def test_database_unreachable_503_nothing_written(self):
        self.procs.start_api(workers=1)
        self.procs.start_worker('compute-a')
        before = self.dep.snapshot()
        self.procs.db_proxy.cut()
        status, body, _headers = self.procs.detach(self.server, self.volume)
        self.assertEqual(503, status, body)
        self.assertEqual('serviceUnavailable', list(json.loads(body))[0])
        self.procs.db_proxy.restore()
        self.assertEqual(before, self.dep.snapshot())
        self.assertTrue(self.dep.wait_for(
            lambda: self.procs.detach(self.server, self.volume)[0] == 202,
            timeout=60))
        self.assertDetached(self.server, self.volume)

    def test_sigterm_finishes_the_message_in_hand(self):
        self.procs.start_api(workers=1)
        worker = self.procs.start_worker('compute-a')
        status, _body, headers = self.procs.detach(self.server, self.volume)
        self.assertEqual(202, status)
        self.wait_for_unplugging(self.server,
                                 headers['x-openstack-request-id'])
        worker.send_signal(signal.SIGTERM)
        self.assertEqual(0, worker.wait(30))
        # Finished before the process ended, not by a later restart.
        self.assertIsNone(self.dep.attachment(self.server, self.volume))
        self.assertEqual('available', self.dep.volume_status(self.volume))

    def test_message_delivered_twice_is_processed_once(self):
        self.procs.start_worker('compute-a')
        # Begin the detach as the API does, then publish its message
        # twice, as a broker redelivering it would.
        context = detach_context.RequestContext(
            user_id='demo', project_id=ff.PROJECT)
        self.dep.runtime.volume_api.begin_detaching(context, self.volume)
        self.dep.db.action_start(context, self.server, 'detach_volume')
        instance = objects.instance_primitive(
            self.dep.db.instance_get_full(context, self.server))
        client = compute_rpcapi.ComputeAPI(self.dep.conf,
                                           self.dep.runtime.transport)
        for _ in range(2):
            client.detach_volume(context, instance, self.volume, None)
        # Both deliveries unplug (3 s) side by side; the one that finishes
        # second finds the work done and changes nothing but its event.
        host = self.dep.host('compute-a')
        self.assertTrue(self.dep.wait_for(
            lambda: self.worker_events(self.server, context.request_id) ==
            [('Success', host)] * 2, 30),
            self.worker_events(self.server, context.request_id))
        self.assertDetached(self.server, self.volume)
        self.assertEqual([], self.dep.snapshot()['instance_faults'])


class TestRestartRepair(ProcessTestCase):
    """A worker killed in the middle of a detach: its successor's repair
    finishes it.  The repair runs every second on volumes left for 5 s
    here (the unplug takes 3); in production repair_age stays far above
    the API's longest answer, so a detach in flight is never taken for a
    lost one (a broker stall holds the API up to cast_timeout)."""

    extra_conf = ('[reference_driver]\ndetach_delay = 3\n'
                  '[compute_worker]\nrepair_interval = 1\nrepair_age = 5\n')

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server(host='compute-a')
        self.volume = self.dep.add_volume(self.server)

    def test_worker_killed_mid_detach_finishes_on_restart(self):
        self.procs.start_api(workers=1)
        worker = self.procs.start_worker('compute-a', name='first')
        status, _body, headers = self.procs.detach(self.server, self.volume)
        self.assertEqual(202, status)
        self.wait_for_unplugging(self.server,
                                 headers['x-openstack-request-id'])
        worker.kill()
        worker.wait(10)
        self.assertEqual('detaching', self.dep.volume_status(self.volume))
        self.procs.start_worker('compute-a', name='second')
        self.assertDetached(self.server, self.volume)
        # The repair finished it on the action of the request, with an
        # event of its own beside the dead worker's unfinished one.
        action = self.dep.db.actions_since(
            self.dep.context, self.server, 'detach_volume',
            datetime.datetime(2000, 1, 1))[0]
        self.assertIn(('compute_detach_volume', 'Success'),
                      [(e.event, e.result) for e in action.events])
