"""The embedded HTTP server over raw sockets: HTTP/1.1 with keep-alive,
and a JSON fault with request ids for every request the app never sees
(http.client refuses to send most of them)."""

import os
import signal
import socket
import subprocess
import sys
import time

import fixtures
import webob.dec
import webob.headers

from detach_ext import demo
from detach_ext import server
from tests.functional import base
from tests.functional import fixtures as ff

BIN = os.path.dirname(sys.executable)


class RawResponse:
    """An HTTP response as read off the socket."""

    def __init__(self, status_line, headerlist, body):
        self.status_line = status_line
        self.version, status = status_line.split(' ', 1)
        self.status_int = int(status[:3])
        self.headers = webob.headers.ResponseHeaders(headerlist)
        self.body = body
        self.text = body.decode('utf-8', 'replace')


class Connection:
    """One client connection, sending bytes as they are."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.rfile = self.sock.makefile('rb')

    def close(self):
        self.rfile.close()
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def response(self, head=False):
        status_line = self.rfile.readline().decode('latin-1').rstrip('\r\n')
        if not status_line:
            raise EOFError('the server closed the connection')
        headerlist = []
        while True:
            line = self.rfile.readline().decode('latin-1').rstrip('\r\n')
            if not line:
                break
            name, _sep, value = line.partition(':')
            headerlist.append((name, value.strip()))
        length = int(dict((k.lower(), v) for k, v in headerlist).get(
            'content-length', 0))
        body = b'' if head else self.rfile.read(length)
        return RawResponse(status_line, headerlist, body)

    def closed(self):
        """Whether the server has closed its side (nothing more to read)."""
        return self.rfile.read() == b''


def request(method, path, headers=(), version=b'HTTP/1.1'):
    lines = [b'%s %s %s' % (method, path, version), b'Host: 127.0.0.1']
    lines += list(headers)
    return b'\r\n'.join(lines) + b'\r\n\r\n'


class ServerTestCase(base.DeploymentTestCase):
    """detach_ext's app behind the embedded server."""

    def setUp(self):
        super().setUp()
        self.http = self.useFixture(ff.HTTPServer(self.dep.app))

    def connect(self):
        conn = Connection(self.http.port)
        self.addCleanup(conn.close)
        return conn

    def path(self, server_id, volume_id):
        return ('/v2/%s/servers/%s/os-volume_attachments/%s' % (
            ff.PROJECT, server_id, volume_id)).encode('ascii')

    def token(self):
        return b'X-Auth-Token: demo:' + ff.PROJECT.encode('ascii')

    def assertServerFault(self, data, code, name, head=False):
        """``data`` is answered by the server itself: a fault of ``code``
        that does not repeat the request, then the connection closes."""
        conn = self.connect()
        conn.send(data)
        response = conn.response(head=head)
        self.assertEqual('HTTP/1.1', response.version)
        self.assertEqual('close', response.headers['Connection'])
        if head:
            self.assertEqual(b'', response.body)
            self.assertRequestIds(response)
            self.assertEqual('application/json; charset=UTF-8',
                             response.headers['Content-Type'])
        else:
            self.assertFault(response, code, name)
            # Nothing of the request line comes back.
            request_line = data.split(b'\n', 1)[0].strip()
            for word in request_line.split(b' '):
                if len(word) > 1:
                    self.assertNotIn(word, response.body)
        self.assertTrue(conn.closed())
        return response


class TestHTTP11(ServerTestCase):

    def test_delete_answers_http11_202(self):
        self.dep.start_worker(ff.HOST)
        server_id = self.dep.add_server()
        volume = self.dep.add_volume(server_id)
        conn = self.connect()
        conn.send(request(b'DELETE', self.path(server_id, volume),
                          [self.token()]))
        response = conn.response()
        self.assertEqual('HTTP/1.1 202 Accepted', response.status_line)
        self.assertAccepted(response)

    def test_keep_alive_two_requests_one_connection(self):
        server_id = self.dep.add_server()
        volume = self.dep.add_volume(server_id)
        conn = self.connect()
        conn.send(request(b'GET', self.path(server_id, volume),
                          [self.token()]))
        first = conn.response()
        self.assertEqual('HTTP/1.1 200 OK', first.status_line)
        self.assertNotIn('Connection', first.headers)
        conn.send(request(b'DELETE', self.path(server_id, volume),
                          [self.token()]))
        second = conn.response()
        self.assertEqual('HTTP/1.1 202 Accepted', second.status_line)
        self.assertNotEqual(first.headers['x-openstack-request-id'],
                            second.headers['x-openstack-request-id'])

    def test_pipelined_requests_both_answered(self):
        conn = self.connect()
        conn.send(request(b'GET', b'/') + request(
            b'GET', b'/v2.1', [b'Connection: close']))
        self.assertEqual(200, conn.response().status_int)
        second = conn.response()
        self.assertEqual(200, second.status_int)
        self.assertIn(b'v2.1', second.body)
        self.assertTrue(conn.closed())

    def test_head_has_headers_no_body(self):
        conn = self.connect()
        conn.send(request(b'HEAD', b'/v2.1'))
        response = conn.response(head=True)
        self.assertEqual(200, response.status_int)
        self.assertRequestIds(response)
        self.assertNotEqual('0', response.headers['Content-Length'])
        # The next request's answer follows at once: no body came between.
        conn.send(request(b'GET', b'/v2.1', [b'Connection: close']))
        self.assertEqual(200, conn.response().status_int)
        self.assertTrue(conn.closed())

    def test_one_hundred_headers_reach_the_app(self):
        headers = [b'X-Extra-%d: x' % i for i in range(99)]  # + Host
        conn = self.connect()
        conn.send(request(b'GET', b'/', headers))
        self.assertEqual(200, conn.response().status_int)

    def test_burst_of_connections_all_answered(self):
        def _get():
            conn = Connection(self.http.port)
            try:
                conn.send(request(b'GET', b'/', [b'Connection: close']))
                return conn.response().status_int
            finally:
                conn.close()
        self.assertEqual([200] * 40, ff.run_concurrently(40, _get))


class TestMalformed(ServerTestCase):

    def test_header_over_64k_431(self):
        self.assertServerFault(request(
            b'GET', b'/', [b'X-Big: ' + b'a' * (64 * 1024 + 1)]),
            431, 'computeFault')

    def test_more_than_100_headers_431(self):
        self.assertServerFault(request(
            b'GET', b'/', [b'X-Extra-%d: x' % i for i in range(100)]),
            431, 'computeFault')

    def test_request_line_over_64k_414(self):
        self.assertServerFault(request(b'GET', b'/' + b'a' * 70000),
                               414, 'computeFault')

    def test_raw_u0085_in_path_400(self):
        path = self.path(self.dep.add_server(), 'volume') + b'\xc2\x85'
        self.assertServerFault(request(b'DELETE', path, [self.token()]),
                               400, 'badRequest')

    def test_garbage_request_line_400(self):
        self.assertServerFault(b'garbage\r\n\r\n', 400, 'badRequest')

    def test_bad_http_version_400(self):
        self.assertServerFault(request(b'GET', b'/', version=b'HTTP/x.y'),
                               400, 'badRequest')

    def test_http2_request_line_505(self):
        self.assertServerFault(request(b'GET', b'/', version=b'HTTP/2.0'),
                               505, 'computeFault')

    def test_not_http_400(self):
        self.assertServerFault(request(b'GET', b'/', version=b'SPDY/1.1'),
                               400, 'badRequest')

    def test_invalid_content_length_400(self):
        self.assertServerFault(request(
            b'DELETE', b'/v2.1/servers/x/os-volume_attachments/y',
            [b'Content-Length: twelve']), 400, 'badRequest')

    def test_header_line_without_colon_400(self):
        self.assertServerFault(request(b'GET', b'/', [b'no colon here']),
                               400, 'badRequest')

    def test_bare_lf_400(self):
        self.assertServerFault(b'GET / HTTP/1.1\nHost: x\n\n',
                               400, 'badRequest')

    def test_unknown_transfer_encoding_501(self):
        self.assertServerFault(request(
            b'POST', b'/', [b'Transfer-Encoding: gzip']),
            501, 'notImplemented')

    def test_head_malformed_has_no_body(self):
        response = self.assertServerFault(request(
            b'HEAD', b'/', [b'Content-Length: twelve']), 400, 'badRequest',
            head=True)
        self.assertEqual(400, response.status_int)
        self.assertNotEqual('0', response.headers['Content-Length'])


class TestAppFailure(base.TestCase):
    """Any WSGI app served by it, not only detach_ext's."""

    def test_app_raising_500_fault(self):
        @webob.dec.wsgify
        def app(req):
            raise RuntimeError('secret detail')
        http = self.useFixture(ff.HTTPServer(app))
        conn = Connection(http.port)
        self.addCleanup(conn.close)
        conn.send(request(b'GET', b'/'))
        response = conn.response()
        message = self.assertFault(response, 500, 'computeFault')
        self.assertNotIn('secret', message)

    def test_head_body_of_any_app_dropped(self):
        def app(environ, start_response):
            start_response('200 OK', [('Content-Length', '4')])
            return [b'body']
        http = self.useFixture(ff.HTTPServer(app))
        conn = Connection(http.port)
        self.addCleanup(conn.close)
        conn.send(request(b'HEAD', b'/') + request(
            b'GET', b'/', [b'Connection: close']))
        self.assertEqual('4', conn.response(head=True).headers[
            'Content-Length'])
        second = conn.response()
        self.assertEqual('HTTP/1.1 200 OK', second.status_line)
        self.assertEqual(b'body', second.body)
        self.assertTrue(conn.closed())

    def test_stop_refuses_connections(self):
        http = self.useFixture(ff.HTTPServer(webob.Response()))
        port = http.port
        http.stop()
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.1', port), 2)

    def test_port_zero_reports_port(self):
        one = server.Server(webob.Response())
        self.addCleanup(one.stop)
        two = server.Server(webob.Response())
        self.addCleanup(two.stop)
        self.assertNotEqual(0, one.port)
        self.assertNotEqual(one.port, two.port)
        self.assertEqual('http://127.0.0.1:%s' % one.port, one.url)


class TestCommand(base.TestCase):
    """``detach-ext-api --all-in-one`` serves HTTP/1.1 and stops on
    SIGTERM or SIGINT."""

    def start(self):
        state = self.useFixture(fixtures.TempDir()).path
        log_path = os.path.join(state, 'out.log')
        with open(log_path, 'wb') as log:
            proc = subprocess.Popen(
                [os.path.join(BIN, 'detach-ext-api'), '--all-in-one',
                 '--port', '0', '--state-dir', state],
                stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        for _ in range(300):
            with open(log_path) as f:
                text = f.read()
            lines = [line.split() for line in text.splitlines()
                     if line.strip().startswith('curl -i -X DELETE')]
            if lines:
                return proc, lines[0][-1], text
            self.assertIsNone(proc.poll(), text)
            time.sleep(0.1)
        self.fail(text)

    def stop(self, proc, signum):
        proc.send_signal(signum)
        self.assertEqual(0, proc.wait(15))

    def test_detach_http11_then_sigterm(self):
        proc, url, text = self.start()
        _scheme, _sep, rest = url.partition('//')
        hostport, _sep, path = rest.partition('/')
        conn = Connection(int(hostport.rsplit(':', 1)[1]))
        self.addCleanup(conn.close)
        conn.send(request(b'DELETE', b'/' + path.encode('ascii'), [
            b'X-Auth-Token: demo:' + demo.PROJECT_ID.encode('ascii')]))
        response = conn.response()
        self.assertEqual('HTTP/1.1 202 Accepted', response.status_line)
        conn.send(request(b'GET', b'/v2.1'))
        self.assertEqual(200, conn.response().status_int)
        self.stop(proc, signal.SIGTERM)

    def test_sigint_stops(self):
        proc, _url, _text = self.start()
        self.stop(proc, signal.SIGINT)
