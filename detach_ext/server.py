"""The embedded HTTP server: cheroot, answering its own errors as faults.

``detach-ext-api`` serves the API with it and the functional tests serve
their apps (the API, a fake block storage API) with it.  Production runs
the module-level ``application`` under gunicorn or uwsgi instead.

Why cheroot (CherryPy's server) rather than waitress: both are pure
Python, well kept, threaded, and speak HTTP/1.1 with keep-alive.  Every
answer cheroot writes itself (a bad request line, headers too large, a bad
``Content-Length``, an app that raised) goes through one overridable
method, ``HTTPRequest.simple_response``, reached through the
``ConnectionClass``/``RequestHandlerClass`` attributes meant for
subclassing; so each of them leaves as detach_ext's JSON fault with both
request id headers.  Waitress builds its errors as plain text inside its
``ErrorTask``, chosen by a channel class that ``create_server`` does not
let one replace, and a waitress server is stopped from another thread only
by closing its internal socket map.  cheroot binds port 0 and reports the
port it got, takes a listen backlog, and ``stop()`` shuts it down from any
thread.
"""

import json
import threading
import uuid

from cheroot import errors
from cheroot import server as cheroot_server
from cheroot import wsgi
from oslo_log import log as logging

from detach_ext.api import fault

LOG = logging.getLogger(__name__)

# Limits of what a client may send before the app sees the request; beyond
# them the answer is 414 (request line) or 431 (headers).  The request
# line and headers together: Python's http.server allowed a 64 KiB line.
MAX_HEADER_BYTES = 64 * 1024
# As http.server and gunicorn.
MAX_HEADERS = 100
# Connections waiting to be accepted: bursts of concurrent clients (the
# tests send up to 40 at once) are queued, not refused.
BACKLOG = 128
THREADS = 16


class _TooManyHeaders(Exception):
    pass


class _HeaderLines:
    """A request's input that refuses to give more than MAX_HEADERS
    header lines (and the empty line that ends them)."""

    def __init__(self, rfile):
        self._rfile = rfile
        self._lines = 0

    def readline(self, size=None):
        self._lines += 1
        if self._lines > MAX_HEADERS + 1:
            raise _TooManyHeaders()
        return self._rfile.readline(size)


class _Request(cheroot_server.HTTPRequest):
    """cheroot's request, with its own answers as JSON faults."""

    def read_request_headers(self):
        rfile = self.rfile
        self.rfile = _HeaderLines(rfile)
        try:
            return super().read_request_headers()
        except errors.MaxSizeExceeded:
            # cheroot itself would answer 413, which is about bodies.
            self.simple_response(
                '431 Request Header Fields Too Large',
                'The request line and headers exceed %d bytes.'
                % MAX_HEADER_BYTES)
            return False
        except _TooManyHeaders:
            self.simple_response(
                '431 Request Header Fields Too Large',
                'The request has more than %d headers.' % MAX_HEADERS)
            return False
        finally:
            self.rfile = rfile

    def simple_response(self, status, msg=''):
        """Answer a request the app never saw (or an app that failed
        before answering): a JSON fault with new request ids.

        cheroot's explanation becomes the message; it never quotes the
        request.
        """
        status = str(status)
        code = int(status[:3])
        if isinstance(msg, bytes):
            msg = msg.decode('latin-1')
        message = ''.join(c for c in msg if c.isprintable())[:300]
        message = message or status[4:]
        request_id = 'req-%s' % uuid.uuid4()
        LOG.info('%(id)s: answered %(status)s to a request from %(addr)s '
                 'before the app: %(message)s',
                 {'id': request_id, 'status': status, 'message': message,
                  'addr': self.conn.remote_addr})
        body = json.dumps({fault.fault_name(code): {
            'code': code, 'message': message}}).encode('utf-8')
        headers = [
            ('Content-Type', 'application/json; charset=UTF-8'),
            ('Content-Length', str(len(body))),
            ('x-openstack-request-id', request_id),
            ('x-compute-request-id', request_id),
            # What follows on the connection can no longer be trusted.
            ('Connection', 'close'),
        ]
        self.close_connection = True
        self.sent_headers = True
        lines = ['%s %s' % (self.server.protocol, status)]
        lines += ['%s: %s' % header for header in headers]
        data = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
        if getattr(self, 'method', None) != b'HEAD':
            data += body
        try:
            self.conn.wfile.write(data)
        except OSError as ex:
            if ex.args[0] not in errors.socket_errors_to_ignore:
                raise


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request


class _CherootServer(wsgi.Server):
    ConnectionClass = _Connection
    max_request_header_size = MAX_HEADER_BYTES

    def error_log(self, msg='', level=20, traceback=False):
        LOG.log(level, 'HTTP server: %s', msg, exc_info=traceback)


def _wrap(app, log_requests):
    """``app``, logging each request, and without a body for HEAD."""
    def serve(environ, start_response):
        def _start_response(status, headers, exc_info=None):
            if log_requests:
                LOG.info('%(addr)s "%(method)s %(uri)s %(proto)s" %(status)s',
                         {'addr': environ.get('REMOTE_ADDR'),
                          'method': environ['REQUEST_METHOD'],
                          'uri': _printable(environ.get('REQUEST_URI', '')),
                          'proto': environ.get('SERVER_PROTOCOL'),
                          'status': status.split(' ', 1)[0]})
            return start_response(status, headers, exc_info)

        body = app(environ, _start_response)
        if environ['REQUEST_METHOD'] != 'HEAD':
            return body
        # Run the app to its end (it may answer lazily), send nothing.
        try:
            for _chunk in body:
                pass
        finally:
            if hasattr(body, 'close'):
                body.close()
        return []
    return serve


def _printable(text):
    """``text`` with anything but printable ASCII escaped, for logs."""
    return text.encode('unicode_escape').decode('ascii')


class Server:
    """Serve a WSGI app over HTTP/1.1, in threads.

    The socket is bound and listening once this is built, so ``port`` is
    known (port 0 picks a free one); :meth:`serve` or :meth:`start` then
    answer requests, :meth:`stop` ends both.

    :param app: the WSGI application.
    :param host: the address to listen on.
    :param port: the port; 0 for any free one.
    :param threads: how many requests are handled at once.
    :param log_requests: log a line per request at INFO.
    """

    def __init__(self, app, host='127.0.0.1', port=0, threads=THREADS,
                 log_requests=True):
        self._server = _CherootServer(
            (host, port), _wrap(app, log_requests), numthreads=threads,
            request_queue_size=BACKLOG)
        self._server.prepare()
        self._thread = None
        self.host = host
        self.port = self._server.bind_addr[1]

    @property
    def url(self):
        host = '[%s]' % self.host if ':' in self.host else self.host
        return 'http://%s:%s' % (host, self.port)

    def serve(self):
        """Answer requests until :meth:`stop`."""
        self._server.serve()

    def start(self):
        """Answer requests in a thread of their own until :meth:`stop`."""
        self._thread = threading.Thread(target=self.serve, daemon=True,
                                        name='detach_ext-http')
        self._thread.start()

    def stop(self):
        """Stop listening, close the connections and wait (a few seconds
        at most) for the requests in hand."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
