"""The API reference's samples (doc/api_samples) are the live answers.

Each test makes a request of the API reference against a deployment of
the shipped api-paste.ini and compares the answer with its sample file,
after putting the sample's fixed ids in place of the ones the test made,
as Nova's api_samples tests do.  ``DETACH_EXT_GENERATE_SAMPLES=1`` writes
the files from the answers instead (review the diff, then commit it).
"""

import json
import os

from tests.functional import base
from tests.functional import fixtures as ff

SAMPLES = os.path.join(ff.REPO, 'doc', 'api_samples')
GENERATE = bool(os.environ.get('DETACH_EXT_GENERATE_SAMPLES'))

# The ids the samples show.
SERVER = '4f7d1a3e-5b9c-4c2a-8e6f-1d2b3c4d5e6f'
VOLUME = 'a26887c6-c47b-4654-abb5-dfadf7d3f803'
ROOT_VOLUME = '227cc671-f30b-4488-96fd-7d0bf13648d8'
ATTACHMENT = '979ce4f8-033a-409d-85e6-6b5c0f6a6302'
BDM = '2aad99d3-7aa4-41e9-b4e6-3f960b115d68'
HOST = 'http://openstack.example.com'


class TestAPISamples(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dep = self.useFixture(ff.Deployment())
        self.server = self.dep.add_server()
        self.dep.add_volume(self.server, volume_id=VOLUME,
                            attachment_id=ATTACHMENT, tag='data',
                            delete_on_termination=True)
        self.dep.add_volume(self.server, boot_index=0,
                            volume_id=ROOT_VOLUME, attachment_id=None)
        self.ids = {self.server: SERVER}
        bdm = self.dep.attachment(self.server, VOLUME)
        self.ids[bdm.uuid] = BDM

    def request(self, path, method='GET', version=None, status=200):
        headers = {'Host': 'openstack.example.com'}
        if version:
            headers['OpenStack-API-Version'] = 'compute %s' % version
        response = self.dep.request(path % {'server': self.server}, method,
                                    token='demo:%s' % ff.PROJECT,
                                    headers=headers)
        self.assertEqual(status, response.status_int, response.text)
        return response

    def verify(self, name, response):
        """Compare the answer's body with sample ``name``."""
        text = response.text
        for made, shown in self.ids.items():
            text = text.replace(made, shown)
        body = json.loads(text)
        path = os.path.join(SAMPLES, name)
        if GENERATE:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(json.dumps(body, indent=4, sort_keys=True) + '\n')
        with open(path) as f:
            sample = json.load(f)
        self.assertEqual(sample, body, 'the answer differs from %s: write '
                         'the samples again with '
                         'DETACH_EXT_GENERATE_SAMPLES=1' % path)

    def test_versions(self):
        self.verify('versions/versions-get-resp.json', self.request('/'))
        self.verify('versions/v21-version-get-resp.json',
                    self.request('/v2.1/'))

    def test_list(self):
        path = '/v2.1/servers/%(server)s/os-volume_attachments'
        self.verify('os-volume_attachments/'
                    'list-volume-attachments-resp.json', self.request(path))
        for version in ('2.70', '2.79', '2.89'):
            self.verify('os-volume_attachments/v%s/'
                        'list-volume-attachments-resp.json' % version,
                        self.request(path, version=version))

    def test_show(self):
        path = '/v2.1/servers/%%(server)s/os-volume_attachments/%s' % VOLUME
        self.verify('os-volume_attachments/'
                    'volume-attachment-detail-resp.json', self.request(path))
        for version in ('2.70', '2.79', '2.89'):
            self.verify('os-volume_attachments/v%s/'
                        'volume-attachment-detail-resp.json' % version,
                        self.request(path, version=version))

    def test_delete_202(self):
        response = self.request(
            '/v2.1/servers/%%(server)s/os-volume_attachments/%s' % VOLUME,
            'DELETE', version='2.89', status=202)
        self.assertEqual(b'', response.body)
        self.assertEqual('compute 2.89',
                         response.headers['OpenStack-API-Version'])

    def test_delete_faults(self):
        self.verify('os-volume_attachments/delete-root-volume-resp.json',
                    self.request('/v2.1/servers/%%(server)s/'
                                 'os-volume_attachments/%s' % ROOT_VOLUME,
                                 'DELETE', status=403))
        self.verify('os-volume_attachments/delete-not-attached-resp.json',
                    self.request('/v2.1/servers/%%(server)s/'
                                 'os-volume_attachments/%s' % ATTACHMENT,
                                 'DELETE', status=404))

    def test_healthcheck(self):
        response = self.dep.request('/healthcheck')
        self.verify('healthcheck/healthcheck-get-resp.json', response)
