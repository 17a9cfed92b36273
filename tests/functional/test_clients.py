"""Unmodified OpenStack clients against a standalone detach_ext over HTTP:
version discovery, the detach, then polling until the attachment is gone.

openstacksdk and python-novaclient are test-only dependencies; no Keystone
is involved (a fixed noauth2 token and an endpoint override).
"""

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc
import openstack
from openstack.compute.v2 import server as sdk_server
from openstack import exceptions as sdk_exc

from tests.functional import base
from tests.functional import fixtures as ff


class ClientTestCase(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.dep.start_worker(ff.HOST)
        self.http = self.useFixture(ff.HTTPServer(self.dep.app))
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server)
        self.session = ks_session.Session(auth=token_endpoint.Token(
            self.http.url + '/v2.1', 'demo:' + ff.PROJECT))


class TestOpenStackSDK(ClientTestCase):
    """The server is passed as a Server resource: given a bare id, the SDK
    first looks the server up (GET /servers/{id}, then /servers/detail) to
    check the argument order, and a standalone detach_ext serves no server
    API."""

    def setUp(self):
        super().setUp()
        self.conn = openstack.connection.Connection(
            session=self.session,
            compute_endpoint_override=self.http.url + '/v2.1')
        self.sdk_server = sdk_server.Server(id=self.server)

    def test_sdk_detaches_and_polls(self):
        compute = self.conn.compute
        attachments = list(compute.volume_attachments(self.sdk_server))
        self.assertEqual([self.volume], [a.volume_id for a in attachments])
        compute.delete_volume_attachment(self.sdk_server, self.volume,
                                         ignore_missing=False)

        def gone():
            try:
                compute.get_volume_attachment(self.sdk_server, self.volume)
            except sdk_exc.NotFoundException:
                return True
            return False
        self.assertTrue(ff.wait_for(gone, 20),
                        'the attachment is still listed')
        self.assertEqual([], list(compute.volume_attachments(
            self.sdk_server)))
        self.assertEqual('available', self.dep.volume_status(self.volume))

    def test_sdk_sees_the_fault(self):
        root = self.dep.add_volume(self.server, boot_index=0)
        error = self.assertRaises(
            sdk_exc.ForbiddenException,
            self.conn.compute.delete_volume_attachment, self.sdk_server,
            root)
        self.assertIn("Can't detach root device volume", str(error))


class TestNovaClient(ClientTestCase):

    def test_novaclient_detaches_and_polls(self):
        nova = nova_client.Client(
            '2.1', session=self.session,
            endpoint_override=self.http.url + '/v2.1/' + ff.PROJECT)
        self.assertEqual([self.volume], [
            a.volumeId for a in nova.volumes.get_server_volumes(
                self.server)])
        nova.volumes.delete_server_volume(self.server, self.volume)

        def gone():
            try:
                nova.volumes.get_server_volume(self.server, self.volume)
            except nova_exc.NotFound:
                return True
            return False
        self.assertTrue(ff.wait_for(gone, 20),
                        'the attachment is still listed')
        self.assertEqual('available', self.dep.volume_status(self.volume))

    def test_novaclient_sees_the_conflict(self):
        nova = nova_client.Client(
            '2.1', session=self.session,
            endpoint_override=self.http.url + '/v2.1/' + ff.PROJECT)
        server = self.dep.add_server(vm_state='error')
        volume = self.dep.add_volume(server)
        error = self.assertRaises(nova_exc.Conflict,
                                  nova.volumes.delete_server_volume,
                                  server, volume)
        self.assertIn('vm_state error', str(error))
