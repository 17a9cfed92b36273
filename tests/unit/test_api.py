"""Fault bodies, the fault wrapper, noauth2 and path handling."""

import io
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

    def test_success_passes_through_as_the_app_gave_it(self):
        def plain(environ, start_response):
            start_response('202 Accepted', [('X-Mine', '1')])
            return [b'a', b'b']

        def late(environ, start_response):
            # start_response called only once the body is iterated.
            yield b''
            start_response('200 OK', [('Content-Type', 'text/plain')])
            yield b'late'

        for app, status, body in ((plain, 202, b'ab'), (late, 200, b'late')):
            response = webob.Request.blank('/').get_response(
                middleware.FaultWrapper(app))
            self.assertEqual(status, response.status_int)
            self.assertEqual(body, response.body)
        response = webob.Request.blank('/').get_response(
            middleware.FaultWrapper(plain))
        self.assertEqual('1', response.headers['X-Mine'])

    def test_own_fault_is_left_as_it_is(self):
        app = fault.fault_response(409, 'busy', {'X-Mine': '1'})
        response = webob.Request.blank('/').get_response(
            middleware.FaultWrapper(app))
        self.assertEqual(
            {'conflictingRequest': {'message': 'busy', 'code': 409}},
            json.loads(response.body))
        self.assertEqual('1', response.headers['X-Mine'])


class TestRequestId(testtools.TestCase):

    def _call(self, app, headers=None):
        seen = {}

        def inner(environ, start_response):
            seen.update(environ)
            return app(environ, start_response)

        response = webob.Request.blank('/', headers=headers).get_response(
            middleware.RequestId(inner))
        return response, seen

    def test_every_answer_carries_the_id_under_both_names(self):
        for app in (webob.Response(status=202),
                    fault.fault_response(404, 'gone'),
                    webob.exc.HTTPUnauthorized()):
            response, seen = self._call(app)
            ids = response.headers.getall('x-openstack-request-id')
            self.assertEqual([seen['openstack.request_id']], ids)
            self.assertRegex(ids[0], r'^req-[0-9a-f-]{36}$')
            self.assertEqual(ids, response.headers.getall(
                'x-compute-request-id'))

    def test_each_request_gets_its_own_id(self):
        first, _seen = self._call(webob.Response())
        second, _seen = self._call(webob.Response())
        self.assertNotEqual(first.headers['x-openstack-request-id'],
                            second.headers['x-openstack-request-id'])

    def test_an_id_the_app_set_is_not_doubled(self):
        response, _seen = self._call(webob.Response(
            headers={'X-Compute-Request-Id': 'req-mine'}))
        self.assertEqual(['req-mine'],
                         response.headers.getall('x-compute-request-id'))
        self.assertEqual(1, len(response.headers.getall(
            'x-openstack-request-id')))

    def test_inbound_id_is_the_global_request_id_when_well_formed(self):
        good = 'req-12345678-1234-1234-1234-123456789abc'
        _response, seen = self._call(webob.Response(),
                                     {'X-Openstack-Request-Id': good})
        self.assertEqual(good, seen['openstack.global_request_id'])
        self.assertNotEqual(good, seen['openstack.request_id'])
        for bad in ('req-nope', good.upper(), good + 'x'):
            _response, seen = self._call(webob.Response(),
                                         {'X-Openstack-Request-Id': bad})
            self.assertNotIn('openstack.global_request_id', seen)


class TestRequestBodySizeLimiter(testtools.TestCase):

    def _limiter(self, app, limit):
        conf = {'max_request_body_size': limit}
        return middleware.RequestBodySizeLimiter(app, conf)

    def test_stated_length_over_the_limit_413(self):
        called = []
        limiter = self._limiter(lambda e, s: called.append(1), 8)
        req = webob.Request.blank('/', method='POST', body=b'x' * 9)
        response = req.get_response(limiter)
        self.assertEqual(413, response.status_int)
        self.assertIn('max_request_body_size (8)', response.text)
        self.assertEqual([], called)

    def test_within_the_limit_reaches_the_app(self):
        @webob.dec.wsgify
        def echo(req):
            return webob.Response(body=req.body)

        req = webob.Request.blank('/', method='POST', body=b'x' * 8)
        response = req.get_response(self._limiter(echo, 8))
        self.assertEqual(b'x' * 8, response.body)

    def test_body_of_no_stated_length_is_read_through_the_limit(self):
        @webob.dec.wsgify
        def reader(req):
            return webob.Response(body=req.body_file.read())

        for size, status in ((8, 200), (9, 413)):
            # A chunked body, as a WSGI server hands it on.
            req = webob.Request({
                'REQUEST_METHOD': 'POST', 'PATH_INFO': '/',
                'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
                'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
                'wsgi.input': io.BytesIO(b'x' * size),
                'wsgi.input_terminated': True,
                'HTTP_TRANSFER_ENCODING': 'chunked'})
            response = req.get_response(self._limiter(reader, 8))
            self.assertEqual(status, response.status_int)
            if status == 200:
                self.assertEqual(b'x' * 8, response.body)


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
