"""detach_ext as a paste filter in front of another app (Nova's place)."""

import json
import os
import uuid

from oslo_context import context
from paste import deploy as paste_deploy
import webob
import webob.dec

from detach_ext.api import middleware
from detach_ext import context as detach_context
from detach_ext import deploy
from tests.functional import base
from tests.functional import fixtures as ff

PASTE = """
[pipeline:main]
pipeline = request_id faultwrap noauth2 detach_ext inner

[filter:detach_ext]
paste.filter_factory = detach_ext.deploy:filter_factory
config_file = %(conf)s

[filter:request_id]
paste.filter_factory = detach_ext.api.middleware:RequestId.factory

[filter:faultwrap]
paste.filter_factory = detach_ext.api.middleware:FaultWrapper.factory

[filter:noauth2]
paste.filter_factory = detach_ext.api.middleware:NoAuth2.factory

[app:inner]
paste.app_factory = tests.functional.test_filter:inner_factory
"""

CALLS = []
# Reads of the wrapped API's version document, and its range: an older
# Nova than detach_ext knows (2.96 is Nova 29's maximum).
VERSION_READS = []
INNER_RANGE = {'min_version': '2.1', 'version': '2.96'}


@webob.dec.wsgify
def _inner(req):
    if req.method == 'GET' and req.path_info in ('', '/') and INNER_RANGE:
        VERSION_READS.append(req.headers.get('X-Auth-Token'))
        return webob.Response(json={'version': dict(
            INNER_RANGE, id='v2.1', status='CURRENT')})
    CALLS.append({'method': req.method, 'path': req.path,
                  'script_name': req.script_name,
                  'path_info': req.path_info, 'body': req.body,
                  'auth': req.headers.get('X-Auth-Token')})
    return webob.Response(json={'inner': True}, status=200)


def inner_factory(global_conf, **local_conf):
    return _inner


class FilterTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        del CALLS[:]
        del VERSION_READS[:]
        self.dep = self.useFixture(ff.Deployment())
        self.worker = self.dep.start_worker(ff.HOST)
        ini = os.path.join(self.dep.dir, 'api-paste.ini')
        with open(ini, 'w') as f:
            f.write(PASTE % {'conf': self.dep.conf_path})
        self.app = paste_deploy.loadapp('config:' + ini)
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server)
        self.path = '/v2.1/%s/servers/%s/os-volume_attachments/%s' % (
            ff.PROJECT, self.server, self.volume)

    def call(self, path, method, body=b'', **environ):
        req = webob.Request.blank(path, method=method, body=body,
                                  environ=environ)
        req.headers['X-Auth-Token'] = 'demo:' + ff.PROJECT
        return req.get_response(self.app)

    def test_detach_answered_by_detach_ext(self):
        response = self.call(self.path, 'DELETE')
        self.assertAccepted(response)
        self.assertEqual([], CALLS)
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(self.server, self.volume) is None))

    def test_detach_errors_answered_by_detach_ext(self):
        response = self.call(self.path.replace(self.volume, 'nope'),
                             'DELETE')
        self.assertFault(response, 404, 'itemNotFound')
        self.assertEqual([], CALLS)

    def test_other_requests_reach_the_wrapped_app_unchanged(self):
        cases = [
            (self.path, 'GET', b''),
            (self.path, 'PUT', b'{"volumeAttachment": {}}'),
            ('/v2.1/%s/servers/%s/os-volume_attachments' % (
                ff.PROJECT, self.server), 'POST',
             b'{"volumeAttachment": {"volumeId": "x"}}'),
            ('/v2.1/%s/servers/%s' % (ff.PROJECT, self.server), 'DELETE',
             b''),
        ]
        for path, method, body in cases:
            del CALLS[:]
            response = self.call(path, method, body)
            self.assertEqual(200, response.status_int)
            self.assertEqual({'inner': True}, json.loads(response.body))
            self.assertEqual([{'method': method, 'path': path,
                               'script_name': '', 'path_info': path,
                               'body': body,
                               'auth': 'demo:' + ff.PROJECT}], CALLS)
        self.assertEqual('in-use', self.dep.volume_status(self.volume))
        self.assertEqual([], self.worker.received)

    def test_reads_and_versions_pass_through_by_default(self):
        for path in ('/v2.1', '/v2.1/%s' % ff.PROJECT,
                     self.path.rsplit('/', 1)[0]):
            del CALLS[:]
            response = self.call(path, 'GET')
            self.assertEqual({'inner': True}, json.loads(response.body))
            self.assertEqual(1, len(CALLS))

    def delete_at(self, version, volume=None):
        volume = volume or self.dep.add_volume(self.server)
        path = self.path.replace(self.volume, volume)
        return self.call(path, 'DELETE',
                         HTTP_OPENSTACK_API_VERSION='compute ' + version)

    def test_microversions_of_the_wrapped_api(self):
        for version, answered in (('2.1', '2.1'), ('2.20', '2.20'),
                                  ('2.89', '2.89'), ('latest', '2.96')):
            response = self.delete_at(version)
            self.assertAccepted(response)
            self.assertEqual('compute ' + answered,
                             response.headers['OpenStack-API-Version'])
        self.assertEqual([], CALLS)
        # Read once, with the first request's identity.
        self.assertEqual(['demo:' + ff.PROJECT], VERSION_READS)

    def test_other_versions_are_the_wrapped_apis_to_answer(self):
        # Beyond the wrapped API's maximum (though detach_ext knows it),
        # malformed, or beyond both: the wrapped API answers as it would.
        for version in ('2.97', '2.104', '2.105', '2.x', '2.0'):
            del CALLS[:]
            volume = self.dep.add_volume(self.server)
            response = self.delete_at(version, volume)
            self.assertEqual({'inner': True}, json.loads(response.body))
            self.assertEqual(1, len(CALLS))
            self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertEqual([], self.worker.received)

    def test_unreadable_version_document_uses_own_range(self):
        saved = dict(INNER_RANGE)
        INNER_RANGE.clear()
        self.addCleanup(INNER_RANGE.update, saved)
        response = self.delete_at('latest')
        self.assertAccepted(response)
        self.assertEqual('compute 2.104',
                         response.headers['OpenStack-API-Version'])

    def test_detach_behind_nova_urlmap_prefix(self):
        # Nova's urlmap moves /v2.1 (and a deployment prefix) into
        # SCRIPT_NAME before the pipeline sees the request.
        response = self.call(
            '/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, self.server, self.volume), 'DELETE',
            SCRIPT_NAME='/compute/v2.1')
        self.assertAccepted(response)
        self.assertEqual([], CALLS)


class FilterServingReadsTestCase(base.TestCase):
    """[api] filter_serves_reads = true: the GETs and version documents
    are answered by detach_ext too."""

    def test_reads_answered_here(self):
        del CALLS[:]
        dep = self.useFixture(ff.Deployment(
            extra_conf='[api]\nfilter_serves_reads = true\n'))
        ini = os.path.join(dep.dir, 'api-paste.ini')
        with open(ini, 'w') as f:
            f.write(PASTE % {'conf': dep.conf_path})
        app = paste_deploy.loadapp('config:' + ini)
        server = dep.add_server()
        volume = dep.add_volume(server)
        collection = '/v2.1/%s/servers/%s/os-volume_attachments' % (
            ff.PROJECT, server)
        for path, key in ((collection, 'volumeAttachments'),
                          (collection + '/' + volume, 'volumeAttachment'),
                          ('/', 'versions'), ('/v2.1', 'version')):
            req = webob.Request.blank(path)
            req.headers['X-Auth-Token'] = 'demo:' + ff.PROJECT
            response = req.get_response(app)
            self.assertEqual(200, response.status_int, response.text)
            self.assertIn(key, json.loads(response.body))
        self.assertEqual([], CALLS)

    def test_version_links_use_compute_link_prefix(self):
        dep = self.useFixture(ff.Deployment(extra_conf=(
            '[api]\nfilter_serves_reads = true\n'
            'compute_link_prefix = https://compute.example.com\n')))
        ini = os.path.join(dep.dir, 'api-paste.ini')
        with open(ini, 'w') as f:
            f.write(PASTE % {'conf': dep.conf_path})
        app = paste_deploy.loadapp('config:' + ini)
        response = webob.Request.blank('/', headers={
            'Host': 'evil.example',
            'X-Auth-Token': 'demo:' + ff.PROJECT}).get_response(app)
        self.assertEqual(
            ['https://compute.example.com/v2/',
             'https://compute.example.com/v2.1/'],
            [v['links'][0]['href'] for v in
             json.loads(response.body)['versions']])


class FilterContextTestCase(base.TestCase):
    """In front of Nova the thread's current context (Nova's, which its
    log lines are written under) is the same after detach_ext answered."""

    def test_wrapped_api_context_is_put_back(self):
        dep = self.useFixture(ff.Deployment())
        dep.start_worker(ff.HOST)
        server = dep.add_server()
        volume = dep.add_volume(server)
        app = middleware.NoAuth2(deploy.filter_factory(
            {'config_file': dep.conf_path})(_inner))
        nova_context = context.RequestContext(request_id='req-nova')
        self.addCleanup(detach_context.set_current, None)
        req = webob.Request.blank(
            '/v2.1/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, server, volume), method='DELETE')
        req.headers['X-Auth-Token'] = 'demo:' + ff.PROJECT
        self.assertEqual(202, req.get_response(app).status_int)
        self.assertIs(nova_context, context.get_current())

    def test_identity_from_novas_context_202(self):
        # Behind Nova's own noauth2 there are no identity headers, only
        # the context Nova put in the environ.
        dep = self.useFixture(ff.Deployment())
        worker = dep.start_worker(ff.HOST)
        server = dep.add_server()
        volume = dep.add_volume(server)
        app = deploy.filter_factory({'config_file': dep.conf_path})(_inner)
        self.addCleanup(detach_context.set_current, None)
        req = webob.Request.blank(
            '/v2.1/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, server, volume), method='DELETE')
        req.environ['nova.context'] = context.RequestContext(
            user_id='alice', project_id=ff.PROJECT, roles=['member'],
            request_id='req-ignored')
        req.environ['openstack.request_id'] = 'req-%s' % uuid.uuid4()
        self.assertEqual(202, req.get_response(app).status_int)
        self.assertTrue(dep.wait_for(lambda: worker.received))
        cast = worker.received[0]['context']
        self.assertEqual(('alice', ff.PROJECT),
                         (cast.user_id, cast.project_id))
        self.assertEqual(req.environ['openstack.request_id'],
                         cast.request_id)

    def test_no_identity_at_all_401(self):
        dep = self.useFixture(ff.Deployment())
        server = dep.add_server()
        volume = dep.add_volume(server)
        app = deploy.filter_factory({'config_file': dep.conf_path})(_inner)
        req = webob.Request.blank(
            '/v2.1/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, server, volume),
            method='DELETE')
        del CALLS[:]
        response = req.get_response(app)
        # (No request id: this pipeline has no request_id filter.)
        self.assertEqual(401, response.status_int)
        self.assertEqual(['unauthorized'], list(json.loads(response.body)))
        self.assertEqual([], CALLS)
