"""A TCP forwarder on loopback that a test can cut, stall and restore, to
make a database server or a message broker unreachable (or silent) for the
processes behind it without stopping the shared service."""

import socket
import threading


class Proxy:
    """Forward ``127.0.0.1:<port>`` to ``target`` (host, port)."""

    def __init__(self, target):
        self.target = target
        self.port = None
        self._listener = None
        self._lock = threading.Lock()
        self._sockets = set()
        # Set while bytes flow; cleared by stall().
        self._flowing = threading.Event()
        self._flowing.set()
        # hold_commit(): what to do with the next COMMIT, and the server
        # sockets whose answers are dropped.
        self._hold = None
        self.held = threading.Event()
        self._swallowed = set()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         daemon=True).start()
        return self

    def cut(self):
        """Refuse new connections and drop every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        _shutdown(*sockets)
        for sock in sockets:
            sock.close()

    def stall(self):
        """Keep every connection open and accept new ones, but forward
        nothing more either way: a server that stopped answering."""
        self._flowing.clear()

    def resume(self):
        """Forward again after :meth:`stall`."""
        self._flowing.set()

    def hold_commit(self, forward=True):
        """Lose the outcome of the next COMMIT a client sends.

        ``forward``: the server gets it (and commits), its answer never
        reaches the client, which waits until its own timeout, as behind a
        Galera node whose commits stall.  Else the COMMIT is not forwarded
        and its connection is dropped: the server rolls the transaction
        back.  :attr:`held` is set once it happened.
        """
        self.held.clear()
        self._hold = 'forward' if forward else 'drop'

    def restore(self):
        """Accept connections again after :meth:`cut`."""
        self._flowing.set()
        return self.start()

    def _accept(self, listener):
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            for src, dst, to_server in ((client, upstream, True),
                                        (upstream, client, False)):
                threading.Thread(target=self._pump,
                                 args=(src, dst, to_server),
                                 daemon=True).start()

    def _held_back(self, src, dst, data, to_server):
        """Whether ``data`` (from ``src``) is kept from ``dst``, as
        :meth:`hold_commit` asks."""
        if src in self._swallowed:
            return True
        if (not to_server or self._hold is None or
                b'COMMIT' not in data.upper()):
            return False
        with self._lock:
            hold, self._hold = self._hold, None
        if hold is None:
            return False
        if hold == 'forward':
            self._swallowed.add(dst)
            dst.sendall(data)
        else:
            _shutdown(src, dst)
        self.held.set()
        return True

    def _pump(self, src, dst, to_server):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while not self._flowing.wait(1):
                    if self._listener is None:
                        return
                if self._held_back(src, dst, data, to_server):
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(src, dst)


def _shutdown(*sockets):
    """Shut both ways of each socket down, whatever state it is in."""
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
