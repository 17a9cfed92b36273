"""A cinder-volume driver for the Cinder stage: no storage, multiattach.

Cinder's own fake driver (``cinder.tests.fake_driver``, shipped in its
wheel) logs calls instead of touching storage, but its pool does not
report ``multiattach``, so the scheduler places no volume of a multiattach
volume type on it.  This subclass reports it.  The stage puts this folder
on cinder-volume's PYTHONPATH (it is imported by Cinder's virtualenv, not
by detach_ext's).
"""

from cinder.tests import fake_driver


class MultiattachFakeDriver(fake_driver.FakeLoggingVolumeDriver):
    """FakeLoggingVolumeDriver whose pool accepts multiattach volumes."""

    def _update_volume_stats(self):
        super()._update_volume_stats()
        for pool in self._stats['pools']:
            pool['multiattach'] = True
