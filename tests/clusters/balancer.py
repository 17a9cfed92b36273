"""A failover TCP balancer in front of Galera nodes, as operators put
HAProxy in front of a cluster: one writer at a time.

Every new client connection goes to the first backend (in the order
given) that is up, like HAProxy's ``backup`` servers; the others take over
only when it is down.  A backend is up when its health check passes
(HAProxy's ``clustercheck``: the node answers, is ``Synced`` and part of a
Primary component); ``fall`` failed checks in a row mark it down, ``rise``
good ones up again.  When a backend is marked down its client sessions are
closed at once (HAProxy's ``on-marked-down shutdown-sessions``), so clients
reconnect to the next node instead of waiting on a dead or cut-off one.
"""

import socket
import threading
import time


class Balancer:
    """Listen on a loopback port and forward to ``backends``.

    :param backends: [(name, port, check)], first preferred; ``check()``
        returns whether the backend may take clients.
    :param interval: seconds between health checks of each backend.
    """

    def __init__(self, backends, interval=0.5, fall=2, rise=2):
        self.backends = [
            {'name': name, 'port': port, 'check': check, 'up': True,
             'good': 0, 'bad': 0, 'sessions': set()}
            for name, port, check in backends]
        self.interval = interval
        self.fall = fall
        self.rise = rise
        self.port = None
        self._lock = threading.Lock()
        self._listener = None
        self._stopped = threading.Event()
        self.events = []  # (monotonic time, text) of every change

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', 0))
        listener.listen(256)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        for backend in self.backends:
            threading.Thread(target=self._health, args=(backend,),
                             daemon=True).start()
        return self

    def stop(self):
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
        for backend in self.backends:
            self._shutdown_sessions(backend)

    @property
    def url(self):
        return 'mysql+pymysql://root@127.0.0.1:%d' % self.port

    def active(self):
        """The name of the backend new connections go to, or None."""
        with self._lock:
            for backend in self.backends:
                if backend['up']:
                    return backend['name']
        return None

    def _note(self, text):
        self.events.append((time.monotonic(), text))

    def _mark(self, backend, up):
        with self._lock:
            if backend['up'] == up:
                return
            backend['up'] = up
        self._note('%s marked %s' % (backend['name'], 'up' if up else
                                     'down'))
        if not up:
            self._shutdown_sessions(backend)

    def _shutdown_sessions(self, backend):
        with self._lock:
            sessions, backend['sessions'] = backend['sessions'], set()
        for sock in sessions:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _health(self, backend):
        while not self._stopped.wait(self.interval):
            try:
                ok = bool(backend['check']())
            except Exception:
                ok = False
            if ok:
                backend['bad'] = 0
                backend['good'] += 1
                if backend['good'] >= self.rise:
                    self._mark(backend, True)
            else:
                backend['good'] = 0
                backend['bad'] += 1
                if backend['bad'] >= self.fall:
                    self._mark(backend, False)

    def _accept(self):
        while not self._stopped.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,),
                             daemon=True).start()

    def _connect(self, client):
        with self._lock:
            candidates = [b for b in self.backends if b['up']]
        for backend in candidates:
            try:
                upstream = socket.create_connection(
                    ('127.0.0.1', backend['port']), timeout=2)
                upstream.settimeout(None)
            except OSError:
                # Refused: dead; mark it down now rather than at its
                # next checks (HAProxy's "observe layer4").
                self._mark(backend, False)
                continue
            with self._lock:
                if not backend['up']:
                    upstream.close()
                    continue
                backend['sessions'].update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump,
                                 args=(backend, src, dst),
                                 daemon=True).start()
            return
        client.close()

    def _pump(self, backend, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                backend['sessions'].discard(src)
                backend['sessions'].discard(dst)
            src.close()
