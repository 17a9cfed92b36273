"""Free loopback ports and waits shared by the cluster harness."""

import socket
import time

_given = set()


def free_port():
    """A loopback TCP port nobody listens on now, not handed out before
    by this process (a node given a port binds it a little later)."""
    while True:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port


def is_open(port, timeout=1.0):
    try:
        socket.create_connection(('127.0.0.1', port), timeout).close()
        return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.2):
    """Call ``predicate`` until it returns something true (returned) or
    ``timeout`` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
