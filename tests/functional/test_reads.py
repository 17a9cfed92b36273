"""GET of volume attachments, version documents and microversion headers."""

import json
import uuid

from tests.functional import base
from tests.functional import fixtures as ff


class TestAttachmentReads(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server()
        self.volumes = [self.dep.add_volume(self.server) for _ in range(3)]

    def get(self, path, prefix=None, **kwargs):
        prefix = '/v2/%s' % ff.PROJECT if prefix is None else prefix
        kwargs.setdefault('token', 'demo:' + ff.PROJECT)
        return self.dep.request(prefix + path, 'GET', **kwargs)

    def collection(self, server=None):
        return '/servers/%s/os-volume_attachments' % (server or self.server)

    def test_index_200(self):
        for prefix in ('/v2/%s' % ff.PROJECT, '/v2.1/%s' % ff.PROJECT,
                       '/v2.1'):
            response = self.get(self.collection(), prefix)
            self.assertEqual(200, response.status_int, response.text)
            self.assertRequestIds(response)
            self.assertEqual(
                {'volumeAttachments': [
                    {'id': v, 'serverId': self.server, 'volumeId': v,
                     'device': '/dev/vdb'} for v in self.volumes]},
                json.loads(response.body))

    def test_index_limit_offset(self):
        body = json.loads(self.get(self.collection() +
                                   '?limit=1&offset=1').body)
        self.assertEqual([self.volumes[1]],
                         [a['id'] for a in body['volumeAttachments']])
        for query in ('limit=-1', 'offset=x'):
            self.assertFault(self.get(self.collection() + '?' + query),
                             400, 'badRequest')

    def test_show_200(self):
        response = self.get(self.collection() + '/' + self.volumes[0])
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(
            {'volumeAttachment': {'id': self.volumes[0],
                                  'serverId': self.server,
                                  'volumeId': self.volumes[0],
                                  'device': '/dev/vdb'}},
            json.loads(response.body))

    def test_reads_upper_case_ids_200(self):
        response = self.get(self.collection(self.server.upper()))
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(3, len(json.loads(response.body)[
            'volumeAttachments']))
        response = self.get(self.collection(self.server.upper()) + '/' +
                            self.volumes[0].upper())
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual({'id': self.volumes[0], 'serverId': self.server,
                          'volumeId': self.volumes[0], 'device': '/dev/vdb'},
                         json.loads(response.body)['volumeAttachment'])

    def test_reads_follow_the_detach_rules(self):
        other = self.dep.add_server(project=ff.OTHER_PROJECT)
        for path in (self.collection(), self.collection() + '/' +
                     self.volumes[0]):
            self.assertFault(self.get(path, token='demo:' +
                                      ff.OTHER_PROJECT), 400, 'badRequest')
            self.assertFault(self.get(path, prefix='/v2/nope'), 400,
                             'badRequest')
            self.assertFault(self.get(path, roles='foo'), 403, 'forbidden')
            self.assertFault(self.get(path.replace(self.server, other)),
                             404, 'itemNotFound')
            self.assertFault(self.get(path, token=None), 401,
                             'unauthorized')
        missing = str(uuid.uuid4())
        self.assertFault(self.get(self.collection() + '/' + missing), 404,
                         'itemNotFound',
                         'Instance %s is not attached to volume %s'
                         % (self.server, missing))
        # A reader may look but not detach.
        self.assertEqual(200, self.get(self.collection(),
                                       roles='reader').status_int)
        self.assertFault(self.dep.delete(self.server, self.volumes[0],
                                         roles='reader'), 403, 'forbidden')

    def test_detach_in_flight_stays_listed_until_finished(self):
        driver = ff.GatedDriver()
        self.addCleanup(driver.gate.set)
        self.dep.start_worker('compute-slow', driver=driver)
        server = self.dep.add_server(host='compute-slow')
        volume = self.dep.add_volume(server)
        self.assertAccepted(self.dep.delete(server, volume))
        listed = json.loads(self.get(self.collection(server)).body)
        self.assertEqual([volume], [a['id'] for a in
                                    listed['volumeAttachments']])
        self.assertEqual(200, self.get(self.collection(server) + '/' +
                                       volume).status_int)
        driver.gate.set()
        self.assertTrue(self.dep.wait_for(
            lambda: self.get(self.collection(server) + '/' +
                             volume).status_int == 404))
        self.assertEqual({'volumeAttachments': []},
                         json.loads(self.get(self.collection(server)).body))


class TestMicroversions(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server()
        self.path = '/v2.1/servers/%s/os-volume_attachments' % self.server

    def get(self, headers=None, path=None):
        return self.dep.request(path or self.path, 'GET',
                                token='demo:' + ff.PROJECT, headers=headers)

    def assertVersionHeaders(self, response, version='2.1'):
        self.assertEqual('compute ' + version,
                         response.headers['OpenStack-API-Version'])
        self.assertEqual(version,
                         response.headers['X-OpenStack-Nova-API-Version'])
        self.assertIn('OpenStack-API-Version', response.headers['Vary'])

    def test_v21_echoes_the_version(self):
        for headers, version in (
                (None, '2.1'),
                ({'OpenStack-API-Version': 'compute 2.1'}, '2.1'),
                ({'X-OpenStack-Nova-API-Version': '2.20'}, '2.20'),
                ({'OpenStack-API-Version': 'compute 2.89',
                  'X-OpenStack-Nova-API-Version': '2.3'}, '2.89'),
                ({'OpenStack-API-Version': 'compute latest'}, '2.104'),
                ({'OpenStack-API-Version': 'volume 3.0, compute 2.79'},
                 '2.79')):
            response = self.get(headers)
            self.assertEqual(200, response.status_int, response.text)
            self.assertVersionHeaders(response, version)

    def test_v21_headers_on_errors_and_detach(self):
        response = self.dep.delete(self.server, str(uuid.uuid4()),
                                   prefix='/v2.1')
        self.assertFault(response, 404, 'itemNotFound')
        self.assertVersionHeaders(response)

    def test_unsupported_version_406(self):
        for version in ('2.105', '3.0', '2.0', '1.1'):
            response = self.get({'OpenStack-API-Version': 'compute '
                                 + version})
            self.assertFault(response, 406, 'computeFault',
                             'Version %s is not supported by the API. '
                             'Minimum is 2.1 and maximum is 2.104.'
                             % version)

    def test_malformed_version_400(self):
        for version in ('2.x', '2', '02.1', '2.01', 'LATEST', '2.1.1'):
            response = self.get({'OpenStack-API-Version': 'compute '
                                 + version})
            self.assertFault(
                response, 400, 'badRequest',
                'API Version String %s is of invalid format. Must be of '
                'format MajorNum.MinorNum.' % version)

    def test_v2_has_no_version_headers(self):
        response = self.get(path='/v2/%s/servers/%s/os-volume_attachments'
                                 % (ff.PROJECT, self.server))
        self.assertEqual(200, response.status_int)
        self.assertNotIn('OpenStack-API-Version', response.headers)


class TestAttachmentShapes(base.DeploymentTestCase):
    """Nova's views of an attachment at each microversion."""

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server, tag='data',
                                          delete_on_termination=True)
        self.old_style = self.dep.add_volume(self.server,
                                             attachment_id=None)
        self.bdm = self.dep.attachment(self.server, self.volume)
        self.path = '/v2.1/servers/%s/os-volume_attachments' % self.server

    def get(self, version, path=''):
        return self.dep.request(
            self.path + path, 'GET', token='demo:' + ff.PROJECT,
            headers={'OpenStack-API-Version': 'compute %s' % version})

    def view(self, version, volume=None):
        volume = volume or self.volume
        response = self.get(version, '/' + volume)
        self.assertEqual(200, response.status_int, response.text)
        return json.loads(response.body)['volumeAttachment']

    def test_shapes(self):
        base_view = {'volumeId': self.volume, 'serverId': self.server,
                     'device': '/dev/vdb'}
        for version in ('2.1', '2.69'):
            self.assertEqual(dict(base_view, id=self.volume),
                             self.view(version))
        for version in ('2.70', '2.78'):
            self.assertEqual(dict(base_view, id=self.volume, tag='data'),
                             self.view(version))
        for version in ('2.79', '2.88'):
            self.assertEqual(dict(base_view, id=self.volume, tag='data',
                                  delete_on_termination=True),
                             self.view(version))
        for version in ('2.89', '2.104'):
            self.assertEqual(dict(base_view, tag='data',
                                  delete_on_termination=True,
                                  attachment_id=self.bdm.attachment_id,
                                  bdm_uuid=self.bdm.uuid),
                             self.view(version))

    def test_old_style_attachment_hidden_from_2_89(self):
        self.assertEqual(self.old_style,
                         self.view('2.88', self.old_style)['id'])
        self.assertFault(self.get('2.89', '/' + self.old_style), 404,
                         'itemNotFound',
                         'Instance %s is not attached to volume %s'
                         % (self.server, self.old_style))
        listed = json.loads(self.get('2.89').body)['volumeAttachments']
        self.assertEqual([self.volume], [a['volumeId'] for a in listed])
        listed = json.loads(self.get('2.88').body)['volumeAttachments']
        self.assertEqual([self.volume, self.old_style],
                         [a['volumeId'] for a in listed])

    def test_unknown_query_parameters(self):
        for version, path in (('2.74', '?foo=1'), ('2.101', '/%s?foo=1')):
            response = self.get(version, path.replace('%s', self.volume))
            self.assertEqual(200, response.status_int, response.text)
        for version, path in (('2.75', '?foo=1&limit=1'),
                              ('2.102', '/%s?foo=1')):
            self.assertFault(
                self.get(version, path.replace('%s', self.volume)), 400,
                'badRequest',
                "Additional properties are not allowed ('foo' was "
                "unexpected)")

    def test_limit_zero_is_the_longest_page(self):
        listed = json.loads(self.get('2.1', '?limit=0').body)
        self.assertEqual(2, len(listed['volumeAttachments']))


class TestVersionDocuments(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dep = self.useFixture(ff.Deployment(pipeline='main',
                                                 extra_conf=ff.KEYSTONE_CONF))

    def get(self, path):
        # No token: the keystone pipeline must still answer.
        response = self.dep.request(path, 'GET')
        self.assertEqual(200, response.status_int, response.text)
        self.assertRequestIds(response)
        return json.loads(response.body)

    def test_root_lists_versions(self):
        body = self.get('/')
        self.assertEqual(['v2.0', 'v2.1'], [v['id'] for v in
                                            body['versions']])
        v21 = body['versions'][1]
        self.assertEqual('CURRENT', v21['status'])
        self.assertEqual('2.104', v21['version'])
        self.assertEqual('2.1', v21['min_version'])
        self.assertEqual([{'rel': 'self', 'href': 'http://localhost/v2.1/'}],
                         v21['links'])

    def test_version_documents(self):
        for path, version_id in (('/v2', 'v2.0'), ('/v2/', 'v2.0'),
                                 ('/v2.1', 'v2.1'), ('/v2.1/', 'v2.1'),
                                 ('/v2/%s' % ff.PROJECT, 'v2.0'),
                                 ('/v2.1/%s' % ff.PROJECT, 'v2.1')):
            doc = self.get(path)['version']
            self.assertEqual(version_id, doc['id'])
            self.assertIn('min_version', doc)
            self.assertEqual('self', doc['links'][0]['rel'])

    def test_links_follow_the_host_header_by_default(self):
        response = self.dep.request('/', 'GET',
                                    headers={'Host': 'api.example:8774'})
        self.assertEqual('http://api.example:8774/v2.1/', json.loads(
            response.body)['versions'][1]['links'][0]['href'])

    def test_other_paths_still_need_a_token(self):
        response = self.dep.request('/v2.1/servers', 'GET')
        self.assertFault(response, 401, 'unauthorized')


class TestComputeLinkPrefix(base.TestCase):
    """[api] compute_link_prefix replaces the scheme, host and port of
    version document links and prepends its path, as Nova's option does,
    whatever Host header the client sent."""

    def test_links_use_the_prefix(self):
        dep = self.useFixture(ff.Deployment(
            pipeline='main', extra_conf=ff.KEYSTONE_CONF + (
                '[api]\ncompute_link_prefix = '
                'https://compute.example.com/nova\n')))
        for path in ('/', '/v2.1', '/v2/%s' % ff.PROJECT):
            response = dep.request(path, 'GET',
                                   headers={'Host': 'evil.example:666'})
            self.assertEqual(200, response.status_int, response.text)
            self.assertNotIn('evil', response.text)
            body = json.loads(response.body)
            docs = body.get('versions') or [body['version']]
            for doc in docs:
                self.assertEqual(
                    'https://compute.example.com/nova/%s/'
                    % {'v2.0': 'v2', 'v2.1': 'v2.1'}[doc['id']],
                    doc['links'][0]['href'])
