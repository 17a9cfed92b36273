"""The sample config and policy files generate from the code's entry
points, as ``tox -e genconfig`` and ``tox -e genpolicy`` run them."""

import os

import fixtures
from oslo_config import generator as config_generator
from oslo_policy import generator as policy_generator
import testtools

from tests.functional import fixtures as ff


class TestSamples(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_genconfig(self):
        out = os.path.join(self.dir, 'detach_ext.conf.sample')
        config_generator.main(args=[
            '--config-file', os.path.join(ff.REPO, 'etc', 'detach_ext',
                                          'config-generator.conf'),
            '--output-file', out])
        with open(out) as f:
            text = f.read()
        for expected in ('[compute_rpc]', '#cast_retry = 2', '[database]',
                         '[cinder]', '#service_type = block-storage',
                         '#attachment_microversion = 3.44',
                         '[keystone_authtoken]', '[volume]',
                         '#transport_url', '[oslo_policy]',
                         '[upgrade_levels]', '#control_exchange = nova'):
            self.assertIn(expected, text)

    def test_genpolicy(self):
        out = os.path.join(self.dir, 'policy.yaml.sample')
        policy_generator.generate_sample(args=[
            '--config-file', os.path.join(ff.REPO, 'etc', 'detach_ext',
                                          'policy-generator.conf'),
            '--output-file', out])
        with open(out) as f:
            text = f.read()
        self.assertIn('"os_compute_api:os-volumes-attachments:delete": '
                      '"rule:project_member_or_admin"', text)
        self.assertIn('DELETE  /v2/{project_id}/servers/{server_id}/'
                      'os-volume_attachments/{attachment_id}', text)
