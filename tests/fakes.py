"""Fakes and helpers shared by the unit and the functional tests."""

import threading
import time

from detach_ext.compute import manager as compute_manager


def wait_for(predicate, timeout=10, interval=0.02):
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass.

    :returns: the predicate's last answer.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class FailingDriver(compute_manager.ReferenceDriver):
    """A hypervisor that refuses every unplug with ``error``."""

    def __init__(self, error=None):
        super().__init__()
        self.error = error or OSError('device busy')

    def detach_volume(self, *args):
        raise self.error


class GatedDriver(compute_manager.ReferenceDriver):
    """A hypervisor that unplugs only once ``gate`` is set, so that every
    concurrent request is answered while the detach is still in flight."""

    def __init__(self, gate=None):
        super().__init__()
        self.gate = threading.Event() if gate is None else gate

    def detach_volume(self, *args):
        self.gate.wait(30)
