"""The public fixture, detach_ext.fixture.DetachExtFixture.

On the database server and message bus of DETACH_EXT_TEST_DB_URL and
DETACH_EXT_TEST_TRANSPORT_URL when they are set, as a consumer passes its
own: the fixture then makes and drops a database of its own and keeps its
casts apart from any other fixture's on the broker.
"""

import json
import os
import socket
import threading
import uuid

from keystonemiddleware import fixture as ksm_fixture
import requests
import sqlalchemy as sa
import testtools
import webob
import webob.dec

from detach_ext import fixture as detach_fixture
from tests.functional import fixtures as ff


def make(**kwargs):
    """A DetachExtFixture on the test services, if any are configured."""
    kwargs.setdefault('database_url', ff.DB_SERVER_URL)
    kwargs.setdefault('transport_url', ff.shared_transport_url())
    return detach_fixture.DetachExtFixture(**kwargs)


def delete(fx, server, volume, token=None, **headers):
    if token is not None:
        headers['X-Auth-Token'] = token
    elif 'X-Auth-Token' not in headers:
        headers['X-Auth-Token'] = fx.token()
    return requests.delete(
        '%s/v2.1/%s/servers/%s/os-volume_attachments/%s'
        % (fx.endpoint, fx.project, server, volume), headers=headers,
        timeout=30)


class TestFixture(testtools.TestCase):

    def test_intercepted_detach_finishes(self):
        fx = self.useFixture(make())
        self.assertTrue(fx.endpoint.startswith('http://detach-ext-'))
        server = fx.add_server()
        volume = fx.add_volume(server)
        response = delete(fx, server, volume)
        self.assertEqual(202, response.status_code, response.text)
        fx.wait_for_detach(server, volume)
        self.assertEqual('available', fx.volume_status(volume))
        self.assertIsNone(fx.attachment(server, volume))

    def test_loopback_port(self):
        fx = self.useFixture(make(intercept=False))
        self.assertTrue(fx.endpoint.startswith('http://127.0.0.1:'))
        server = fx.add_server()
        volume = fx.add_volume(server)
        self.assertEqual(202, delete(fx, server, volume).status_code)
        fx.wait_for_detach(server, volume)

    def test_no_endpoint_app_only(self):
        fx = self.useFixture(make(intercept=None))
        self.assertIsNone(fx.endpoint)
        server = fx.add_server()
        volume = fx.add_volume(server)
        req = webob.Request.blank(
            '/v2.1/servers/%s/os-volume_attachments/%s' % (server, volume),
            method='DELETE', headers={'X-Auth-Token': fx.token()})
        self.assertEqual(202, req.get_response(fx.app).status_int)
        fx.wait_for_detach(server, volume)

    def test_helpers_write_what_the_api_reads(self):
        fx = self.useFixture(make(intercept=None))
        server = fx.add_server(vm_state='stopped')
        root = fx.add_volume(server, root=True)
        data = fx.add_volume(server, status='available')
        self.assertEqual(0, fx.attachment(server, root)['boot_index'])
        self.assertEqual('/dev/vda', fx.attachment(server, root)[
            'device_name'])
        self.assertEqual('/dev/vdc', fx.attachment(server, data)[
            'device_name'])
        self.assertEqual('available', fx.volume_status(data))
        self.assertIsNone(fx.volume_status(str(uuid.uuid4())))
        gone = fx.add_volume(server, deleted=True)
        self.assertIsNone(fx.attachment(server, gone))
        self.assertEqual(fx.hosts[0], self._server_row(fx, server)['host'])
        offloaded = fx.add_server(host=None, vm_state='shelved_offloaded')
        self.assertIsNone(self._server_row(fx, offloaded)['host'])
        elsewhere = fx.add_server(host='compute-z')
        self.assertEqual(fx.host_name('compute-z'),
                         self._server_row(fx, elsewhere)['host'])

    def _server_row(self, fx, server):
        with sa.create_engine(fx.database_url,
                              poolclass=sa.pool.NullPool).connect() as c:
            return c.execute(sa.text(
                'SELECT host, project_id FROM instances WHERE uuid = :u'),
                {'u': server}).mappings().one()

    def test_cleanup_leaves_nothing(self):
        fx = make(intercept=False)
        fx.setUp()
        folder, port = fx.dir, int(fx.endpoint.rsplit(':', 1)[1])
        database_url = fx.database_url
        server = fx.add_server()
        volume = fx.add_volume(server)
        self.assertEqual(202, delete(fx, server, volume).status_code)
        fx.wait_for_detach(server, volume)
        fx.cleanUp()
        self.assertFalse(os.path.exists(folder))
        with testtools.ExpectedException(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', port), 2).close()
        if ff.DB_SERVER_URL:
            # The database the fixture made is gone.
            engine = sa.create_engine(database_url,
                                      poolclass=sa.pool.NullPool)
            with testtools.ExpectedException(sa.exc.OperationalError):
                engine.connect().close()

    def test_cleanup_removes_the_intercept(self):
        fx = make()
        fx.setUp()
        endpoint = fx.endpoint
        self.assertEqual(200, requests.get(endpoint + '/', timeout=5)
                         .status_code)
        fx.cleanUp()
        with testtools.ExpectedException(requests.ConnectionError):
            requests.get(endpoint + '/', timeout=5)

    def test_two_at_once_each_sees_its_own(self):
        # Set up in two threads at the same moment, on the same host
        # names: each detach is finished by its own fixture's worker.
        fxs = ff.run_concurrently(2, make)
        for fx in fxs:
            fx.setUp()
            self.addCleanup(fx.cleanUp)
        self.assertNotEqual(fxs[0].project, fxs[1].project)
        volume_id = str(uuid.uuid4())
        pairs = []
        for fx in fxs:
            server = fx.add_server()
            pairs.append((server, fx.add_volume(server, volume_id=volume_id)))
        # The other fixture's server is not there.
        self.assertEqual(404, delete(fxs[1], pairs[0][0], volume_id,
                                     token=fxs[1].token()).status_code)
        # Both detaches at once.
        jobs = iter(zip(fxs, pairs))
        lock = threading.Lock()

        def detach():
            with lock:
                fx, pair = next(jobs)
            return delete(fx, *pair)
        responses = ff.run_concurrently(2, detach)
        self.assertEqual([202, 202], [r.status_code for r in responses])
        for fx, (server, volume) in zip(fxs, pairs):
            fx.wait_for_detach(server, volume)
            self.assertEqual('available', fx.volume_status(volume))

    def test_worker_off_wait_fails_clearly(self):
        fx = self.useFixture(make(worker=False))
        server = fx.add_server()
        volume = fx.add_volume(server)
        self.assertEqual(202, delete(fx, server, volume).status_code)
        ex = self.assertRaises(detach_fixture.DetachNotFinished,
                               fx.wait_for_detach, server, volume,
                               timeout=0.2)
        self.assertIsInstance(ex, AssertionError)
        self.assertEqual(
            "The detach of volume %s from server %s did not finish within "
            "0.2 s: the volume is 'detaching' and the attachment is still "
            "recorded.  This fixture has no worker (worker=False)."
            % (volume, server), str(ex))
        self.assertEqual('detaching', fx.volume_status(volume))

    def test_wait_names_a_host_without_worker(self):
        fx = self.useFixture(make())
        server = fx.add_server(host='compute-z')
        volume = fx.add_volume(server)
        self.assertEqual(202, delete(fx, server, volume).status_code)
        ex = self.assertRaises(detach_fixture.DetachNotFinished,
                               fx.wait_for_detach, server, volume,
                               timeout=0.2)
        self.assertIn("The server is on host '%s', which no worker of this "
                      "fixture serves (hosts: %s)."
                      % (fx.host_name('compute-z'), fx.hosts[0]), str(ex))

    def test_wait_before_the_detach_was_sent(self):
        fx = self.useFixture(make(intercept=None))
        server = fx.add_server()
        volume = fx.add_volume(server)
        ex = self.assertRaises(detach_fixture.DetachNotFinished,
                               fx.wait_for_detach, server, volume,
                               timeout=0.05)
        self.assertIn("the volume is 'in-use'", str(ex))
        self.assertIn('Was the detach accepted (202)?', str(ex))

    def test_several_hosts(self):
        fx = self.useFixture(make(hosts=('compute-a', 'compute-b')))
        for host in ('compute-a', 'compute-b'):
            server = fx.add_server(host=host)
            volume = fx.add_volume(server)
            self.assertEqual(202, delete(fx, server, volume).status_code)
            fx.wait_for_detach(server, volume)

    def test_policy_text(self):
        fx = self.useFixture(make(policy=(
            '"os_compute_api:os-volumes-attachments:delete": '
            '"role:admin"\n')))
        server = fx.add_server()
        volume = fx.add_volume(server)
        response = delete(fx, server, volume)
        self.assertEqual(403, response.status_code)
        self.assertEqual('forbidden', list(response.json())[0])
        admin = delete(fx, server, volume, token=fx.token('admin'))
        self.assertEqual(202, admin.status_code)

    def test_config_text_wins(self):
        fx = self.useFixture(make(config=(
            '[api]\ncompute_link_prefix = https://compute.example.com\n')))
        body = requests.get(fx.endpoint + '/v2.1', timeout=5).json()
        self.assertEqual('https://compute.example.com/v2.1/',
                         body['version']['links'][0]['href'])

    def test_database_url_with_a_name_is_used_as_is(self):
        folder = self.useFixture(ff.Database()).url
        fx = make(database_url=folder, intercept=None)
        fx.setUp()
        server = fx.add_server()
        fx.cleanUp()
        engine = sa.create_engine(folder, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            self.assertEqual(1, connection.execute(sa.text(
                'SELECT count(*) FROM instances WHERE uuid = :u'),
                {'u': server}).scalar())

    def test_main_pipeline_with_auth_token_fixture(self):
        tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        fx = self.useFixture(make(pipeline='main', config=ff.KEYSTONE_CONF))
        server = fx.add_server()
        volume = fx.add_volume(server)
        self.assertEqual(401, delete(fx, server, volume, token='').status_code)
        token = uuid.uuid4().hex
        tokens.add_token_data(token_id=token, user_id='u1',
                              project_id=fx.project,
                              role_list=['member', 'reader'])
        self.assertEqual(202, delete(fx, server, volume,
                                     token=token).status_code)
        fx.wait_for_detach(server, volume)

    def test_docs_show_the_consumer_test_verbatim(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        with open(os.path.join(root, 'doc', 'source', 'reference',
                               'fixture.rst')) as f:
            self.assertIn('.. literalinclude:: ../../../tests/functional/'
                          'test_consumer.py\n', f.read())

    def test_bad_arguments(self):
        self.assertRaises(ValueError, detach_fixture.DetachExtFixture,
                          pipeline='keystone')
        self.assertRaises(ValueError, detach_fixture.DetachExtFixture,
                          hosts=())


CALLS = []


@webob.dec.wsgify
def _wrapped(req):
    if req.method == 'GET' and req.path_info == '/':
        # The filter reads the wrapped API's version range, as Nova's.
        return webob.Response(json={'version': {
            'id': 'v2.1', 'status': 'CURRENT', 'min_version': '2.1',
            'version': '2.96'}})
    CALLS.append((req.method, req.path, req.headers.get('X-Project-Id')))
    return webob.Response(json={'wrapped': True})


class TestFixtureAsFilter(testtools.TestCase):

    def setUp(self):
        super().setUp()
        del CALLS[:]
        self.fx = self.useFixture(make(wrap=_wrapped))
        self.server = self.fx.add_server()
        self.volume = self.fx.add_volume(self.server)

    def test_detach_answered_by_detach_ext(self):
        response = delete(self.fx, self.server, self.volume)
        self.assertEqual(202, response.status_code)
        self.assertEqual([], CALLS)
        self.fx.wait_for_detach(self.server, self.volume)

    def test_other_requests_reach_the_wrapped_app(self):
        url = '%s/v2.1/%s/servers/%s' % (self.fx.endpoint, self.fx.project,
                                         self.server)
        for method in ('GET', 'DELETE', 'POST'):
            del CALLS[:]
            response = requests.request(
                method, url, headers={'X-Auth-Token': self.fx.token()},
                timeout=5)
            self.assertEqual({'wrapped': True}, json.loads(response.text))
            # After the fixture's auth, as after Nova's.
            self.assertEqual([(method, url[len(self.fx.endpoint):],
                               self.fx.project)], CALLS)
        self.assertEqual('in-use', self.fx.volume_status(self.volume))

    def test_auth_in_front_of_both(self):
        response = requests.get(self.fx.endpoint + '/v2.1/servers',
                                timeout=5)
        self.assertEqual(401, response.status_code)
        self.assertEqual([], CALLS)
