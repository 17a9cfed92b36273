"""Detaching volumes in a functional test of another project.

Written as a project that uses detach_ext writes its tests: it imports
the public fixture, testtools and the HTTP clients, nothing of detach_ext's
own tests.  The documentation ("Using detach_ext in your functional
tests", doc/source/reference/fixture.rst) shows this file verbatim.
"""

from keystoneauth1 import session
from keystoneauth1 import token_endpoint
from novaclient import client as nova_client
import requests
import testtools

from detach_ext import fixture as detach_fixture


class TestVolumeDetach(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # detach_ext in this process: a private SQLite database, the
        # in-process message bus, the reference compute worker, noauth2.
        self.detach = self.useFixture(detach_fixture.DetachExtFixture())
        self.server = self.detach.add_server()
        self.headers = {'X-Auth-Token': self.detach.token()}

    def url(self, volume):
        return '%s/v2.1/servers/%s/os-volume_attachments/%s' % (
            self.detach.endpoint, self.server, volume)

    def test_detach_data_volume(self):
        volume = self.detach.add_volume(self.server)

        response = requests.delete(self.url(volume), headers=self.headers)

        self.assertEqual(202, response.status_code)
        self.detach.wait_for_detach(self.server, volume)
        self.assertEqual('available', self.detach.volume_status(volume))
        response = requests.get(self.url(volume), headers=self.headers)
        self.assertEqual(404, response.status_code)

    def test_root_volume_is_refused(self):
        volume = self.detach.add_volume(self.server, root=True)

        response = requests.delete(self.url(volume), headers=self.headers)

        self.assertEqual(403, response.status_code)
        self.assertEqual("Can't detach root device volume",
                         response.json()['forbidden']['message'])
        self.assertEqual('in-use', self.detach.volume_status(volume))

    def test_detach_with_novaclient(self):
        volume = self.detach.add_volume(self.server)
        auth = token_endpoint.Token(self.detach.endpoint + '/v2.1',
                                    self.detach.token())
        nova = nova_client.Client('2.1', session=session.Session(auth=auth))

        nova.volumes.delete_server_volume(self.server, volume)

        self.detach.wait_for_detach(self.server, volume)
        self.assertEqual([], nova.volumes.get_server_volumes(self.server))
