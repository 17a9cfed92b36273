"""``[upgrade_levels] compute`` through the paste app: a release name and
``auto`` reach the worker at the version they stand for."""

from tests.functional import base
from tests.functional import fixtures as ff


class TestUpgradeLevels(base.TestCase):

    def deploy(self, level):
        dep = self.useFixture(ff.Deployment(
            extra_conf='[upgrade_levels]\ncompute = %s\n' % level))
        return dep, dep.start_worker(ff.HOST)

    def detach(self, dep):
        server = dep.add_server()
        volume = dep.add_volume(server)
        self.assertAccepted(dep.delete(server, volume))
        self.assertTrue(dep.wait_for(
            lambda: dep.volume_status(volume) == 'available'),
            'the worker did not finish the detach')
        return volume

    def test_delete_victoria_casts_5_0_202(self):
        dep, worker = self.deploy('victoria')
        volume = self.detach(dep)
        self.assertEqual([volume], worker.received_5x)

    def test_delete_auto_202(self):
        dep, worker = self.deploy('auto')
        # No nova-compute registered: the newest version.
        first = self.detach(dep)
        self.assertEqual([], worker.received_5x)
        # A victoria nova-compute registers (and one forced down, older):
        # not kept before, so this cast goes as 5.0.
        dep.add_service(53)
        dep.add_service(29, host=ff.OTHER_HOST, forced_down=True)
        second = self.detach(dep)
        self.assertEqual([second], worker.received_5x)
        self.assertEqual([first, second],
                         [r['volume_id'] for r in worker.received])

    def test_delete_auto_too_old_compute_503_unchanged(self):
        dep, worker = self.deploy('auto')
        dep.add_service(29)  # compute RPC 4.22: detach_volume 5.0 too new
        server = dep.add_server()
        volume = dep.add_volume(server)
        # The volume goes detaching and back: only updated_at moves.
        before = dep.snapshot(ignore=('updated_at',))
        self.assertFault(dep.delete(server, volume), 503,
                         'serviceUnavailable')
        self.assertEqual(before, dep.snapshot(ignore=('updated_at',)))
        self.assertEqual([], worker.received)
