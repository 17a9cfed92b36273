"""Fault bodies, the fault wrapper, noauth2 and path handling."""

import json

import testtools
import webob
import webob.dec
import webob.exc

from detach_ext.api import fault
from detach_ext.api import middleware
from detach_ext.api import router
from detach_ext.api import volume_attachments
from detach_ext import exception


class TestFault(testtools.TestCase):

    def test_names(self):
        for code, name in ((400, 'badRequest'), (401, 'unauthorized'),
                           (403, 'forbidden'), (404, 'itemNotFound'),
                           (405, 'badMethod'), (409, 'conflictingRequest'),
                           (413, 'overLimit'), (415, 'badMediaType'),
                           (503, 'serviceUnavailable'),
                           (500, 'computeFault'), (502, 'computeFault')):
            response = fault.fault_response(code, 'm')
            self.assertEqual({name: {'message': 'm', 'code': code}},
                             json.loads(response.body))
            self.assertEqual('application/json; charset=UTF-8',
                             response.headers['Content-Type'])


class TestFaultWrapper(testtools.TestCase):

    def test_exception_becomes_500_without_traceback(self):
        @webob.dec.wsgify
        def broken(req):
            raise ValueError('secret detail')

        response = webob.Request.blank('/').get_response(
            middleware.FaultWrapper(broken))
        self.assertEqual(500, response.status_int)
        body = json.loads(response.body)
        self.assertEqual(['computeFault'], list(body))
        self.assertNotIn('secret detail', response.text)
        self.assertNotIn('Traceback', response.text)

    def test_foreign_error_body_is_rewritten(self):
        @webob.dec.wsgify
        def keystone_like(req):
            return webob.Response(
                status=401, headers={'WWW-Authenticate': 'Keystone uri=x'},
                json={'error': {'code': 401, 'title': 'Unauthorized',
                                'message': 'Needs a token.'}})

        response = webob.Request.blank('/').get_response(
            middleware.FaultWrapper(keystone_like))
        self.assertEqual(
            {'unauthorized': {'message': 'Needs a token.', 'code': 401}},
            json.loads(response.body))
        self.assertEqual('Keystone uri=x',
                         response.headers['WWW-Authenticate'])

    def test_webob_error_page_becomes_its_detail(self):
        # keystonemiddleware answers "Keystone is down" with a webob error
        # page: its JSON, HTML and text forms all become one sentence.
        @webob.dec.wsgify
        def keystone_down(req):
            raise webob.exc.HTTPServiceUnavailable(
                'The Keystone service is temporarily unavailable.')

        for accept in ('application/json', 'text/html', 'text/plain', None):
            req = webob.Request.blank('/')
            if accept:
                req.headers['Accept'] = accept
            response = req.get_response(middleware.FaultWrapper(
                keystone_down))
            self.assertEqual(
                {'serviceUnavailable': {
                    'message': 'The Keystone service is temporarily '
                               'unavailable.',
                    'code': 503}},
                json.loads(response.body), accept)

    def test_webob_error_page_without_detail(self):
        @webob.dec.wsgify
        def bare(req):
            raise webob.exc.HTTPBadGateway()

        req = webob.Request.blank('/', headers={'Accept': 'application/json'})
        message = json.loads(req.get_response(
            middleware.FaultWrapper(bare)).body)['computeFault']['message']
        self.assertNotIn('<', message)
        self.assertNotIn('{', message)
        self.assertTrue(message)


class TestNoAuth2(testtools.TestCase):

    def _identity(self, headers):
        seen = {}

        @webob.dec.wsgify
        def app(req):
            seen.update({k: v for k, v in req.headers.items()
                         if k.startswith('X-')})
            return webob.Response()

        req = webob.Request.blank('/', headers=headers)
        return req.get_response(middleware.NoAuth2(app)), seen

    def test_token_user_project(self):
        response, seen = self._identity({'X-Auth-Token': 'alice:p1'})
        self.assertEqual('alice', seen['X-User-Id'])
        self.assertEqual('p1', seen['X-Project-Id'])
        self.assertEqual('member,reader', seen['X-Roles'])

    def test_admin_user_is_admin(self):
        _response, seen = self._identity({'X-Auth-Token': 'admin:p1'})
        self.assertIn('admin', seen['X-Roles'].split(','))

    def test_no_token_401(self):
        response, seen = self._identity({'X-Project-Id': 'p1'})
        self.assertEqual(401, response.status_int)
        self.assertEqual({}, seen)


class TestPaths(testtools.TestCase):

    def test_api_path(self):
        for script_name, path_info, expected in (
                ('', '/v2/p/servers', '/v2/p/servers'),
                ('/v2.1', '/servers', '/v2.1/servers'),
                ('/compute/v2.1', '/p/servers', '/v2.1/p/servers'),
                ('/compute', '/v2/p/servers', '/v2/p/servers')):
            self.assertEqual(expected, router.api_path(
                {'SCRIPT_NAME': script_name, 'PATH_INFO': path_info}))

    def test_project_id_forms(self):
        class Ctx:
            project_id = 'b7a7b63e92174a95a999c95da856f143'
        volume_attachments.check_project_id(Ctx, Ctx.project_id)
        Ctx.project_id = 'da5834e0-31d2-40f9-b271-6592f9f68370'
        volume_attachments.check_project_id(Ctx, Ctx.project_id)
        for bad in ('demo', '', 'da5834e0-31d2-40f9-b271-6592f9f6837',
                    'g7a7b63e92174a95a999c95da856f143'):
            self.assertRaises(exception.ProjectIdMalformed,
                              volume_attachments.check_project_id, Ctx, bad)
