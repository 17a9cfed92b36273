"""Every half-done detach is finished or rolled back, once, by the repair;
the worker's completion is one transaction; a multiattach volume stays
in-use while another attachment holds it."""

import contextlib
import datetime
import io
import threading

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from detach_ext.cmd import compute as compute_cmd
from detach_ext.cmd import manage
from detach_ext.db import models
from tests.functional import base
from tests.functional import fixtures as ff


class RepairTestCase(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server()
        self.manager = self.dep.runtime.compute_manager(self.dep.host(ff.HOST))

    def age(self, volume_id, seconds):
        """Make the volume's last status change ``seconds`` old."""
        with self.dep.db.engine.begin() as connection:
            connection.execute(sa.update(models.Volume).where(
                models.Volume.id == volume_id).values(
                updated_at=timeutils.utcnow() - datetime.timedelta(
                    seconds=seconds)))

    def begin(self, volume_id, request_id='req-repair'):
        """What the API does before its cast: detaching, then the action."""
        self.dep.runtime.volume_api.begin_detaching(self.dep.context,
                                                    volume_id)
        self.dep.context.request_id = request_id
        return self.dep.db.action_start(self.dep.context, self.server,
                                        'detach_volume')

    def events(self, action_id):
        return [(e.event, e.result) for e in
                self.dep.action_events(action_id)]


class TestRepair(RepairTestCase):

    def test_lost_message_is_finished_with_an_event(self):
        volume = self.dep.add_volume(self.server)
        action_id = self.begin(volume)
        self.age(volume, 600)
        self.assertEqual(1, self.manager.repair(older_than=120))
        self.assertEqual('available', self.dep.volume_status(volume))
        self.assertIsNone(self.dep.attachment(self.server, volume))
        self.assertEqual([('compute_detach_volume', 'Success')],
                         self.events(action_id))
        # Once: a second run, and the late message, change nothing.
        before = self.dep.snapshot()
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual(before, self.dep.snapshot())

    def test_failed_request_is_rolled_back(self):
        # Detaching with no action: the API failed (and could not undo)
        # before recording it; its client got an error.
        volume = self.dep.add_volume(self.server, status='detaching')
        self.age(volume, 600)
        self.assertEqual(1, self.manager.repair(older_than=120))
        self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertIsNotNone(self.dep.attachment(self.server, volume))

    def test_detach_in_flight_is_left_alone(self):
        volume = self.dep.add_volume(self.server)
        self.begin(volume)
        before = self.dep.snapshot()
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual(before, self.dep.snapshot())

    def test_available_with_live_attachment_of_a_begun_detach(self):
        # What a worker that stopped between the volume service's part and
        # the mapping leaves (Cinder's case): its event open, the volume
        # available, the mapping live.
        volume = self.dep.add_volume(self.server)
        action_id = self.begin(volume)
        self.dep.db.action_event_start(self.dep.context, action_id,
                                       'compute_detach_volume',
                                       self.dep.host(ff.HOST))
        with self.dep.db.engine.begin() as connection:
            connection.execute(sa.update(models.Volume).where(
                models.Volume.id == volume).values(
                status='available', updated_at=timeutils.utcnow() -
                datetime.timedelta(seconds=600)))
        self.assertEqual(1, self.manager.repair(older_than=120))
        self.assertIsNone(self.dep.attachment(self.server, volume))
        self.assertEqual('available', self.dep.volume_status(volume))
        self.assertEqual([('compute_detach_volume', 'Success')],
                         self.events(action_id))

    def test_available_with_live_attachment_never_detached_left(self):
        # The contract's "already detached" (and an operator's reset of a
        # volume): no detach of detach_ext's is behind it, so the repair
        # leaves it and logs it once.
        volume = self.dep.add_volume(self.server, status='available')
        self.age(volume, 600)
        before = self.dep.snapshot()
        logs = self.dep.capture_logs()
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual(before, self.dep.snapshot())
        lines = [line for line in logs.getvalue().splitlines()
                 if volume in line]
        self.assertEqual(1, len(lines), lines)
        self.assertIn('no detach of detach_ext\'s behind it', lines[0])
        self.assertIn('Left as it is', lines[0])

    def test_begun_without_event_and_available_left(self):
        # An action of the server, but the worker never began on this
        # volume: the volume's state is not detach_ext's doing.
        volume = self.dep.add_volume(self.server, status='available')
        self.dep.db.action_start(self.dep.context, self.server,
                                 'detach_volume')
        self.age(volume, 600)
        before = self.dep.snapshot()
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual(before, self.dep.snapshot())

    def test_dry_run_lists_and_changes_nothing(self):
        # Each on a server of its own: an action names no volume, so the
        # repair tells a server's detaches apart by time only.
        detaching = self.dep.add_volume(self.dep.add_server(),
                                        status='detaching')
        lost = self.dep.add_volume(self.server)
        self.begin(lost, request_id='req-lost')
        available = self.dep.add_volume(self.dep.add_server(),
                                        status='available')
        for volume in (detaching, lost, available):
            self.age(volume, 600)
        before = self.dep.snapshot()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(0, manage.main([
                '--config-file', self.dep.conf_path, 'volume', 'repair',
                '--dry-run', '--compute-host', self.dep.host(ff.HOST)]))
        self.assertEqual(before, self.dep.snapshot())
        lines = out.getvalue().splitlines()
        line, = [line for line in lines if detaching in line]
        self.assertIn('detaching since', line)
        self.assertIn('rolling it back to in-use', line)
        line, = [line for line in lines if lost in line]
        self.assertIn('finishing the detach', line)
        self.assertIn('req-lost', line)
        line, = [line for line in lines if available in line]
        self.assertIn('leaving it alone', line)
        self.assertEqual('2 would be repaired', lines[-1])

    def test_settled_volumes_are_not_read_one_by_one(self):
        # Local backend: the repair asks the database for the mappings of
        # volumes left unsettled for older_than only (not for every volume
        # of the host, nor for a detach in flight).
        settled = [self.dep.add_volume(self.server) for _ in range(5)]
        young = self.dep.add_volume(self.server)
        self.begin(young, request_id='req-in-flight')
        volume = self.dep.add_volume(self.server)
        self.begin(volume)
        self.age(volume, 600)
        read = []
        real = self.dep.db.volume_get

        def volume_get(context, volume_id):
            read.append(volume_id)
            return real(context, volume_id)
        self.useFixture(fixtures.MockPatchObject(
            self.dep.db, 'volume_get', volume_get))
        self.assertEqual(1, self.manager.repair(older_than=120))
        self.assertEqual([volume], read)
        self.assertEqual(['in-use'] * 5,
                         [self.dep.volume_status(v) for v in settled])
        self.assertEqual('detaching', self.dep.volume_status(young))

    def test_other_hosts_are_not_touched(self):
        other = self.dep.add_server(host=ff.OTHER_HOST)
        volume = self.dep.add_volume(other, status='detaching')
        self.age(volume, 600)
        self.assertEqual(0, self.manager.repair(older_than=120))
        self.assertEqual('detaching', self.dep.volume_status(volume))

    def test_manage_command_repairs_every_host(self):
        other = self.dep.add_server(host=ff.OTHER_HOST)
        volumes = [self.dep.add_volume(s, status='detaching')
                   for s in (self.server, other)]
        for volume in volumes:
            self.age(volume, 600)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            manage.main(['--config-file', self.dep.conf_path, 'volume',
                         'repair', '--older-than', '60'])
        self.assertIn('2 repaired', out.getvalue())
        self.assertEqual(['in-use', 'in-use'],
                         [self.dep.volume_status(v) for v in volumes])


class TestCompletion(RepairTestCase):

    def test_completion_is_one_transaction(self):
        # A mapping already gone (another delivery): the volume must not
        # change either.
        volume = self.dep.add_volume(self.server)
        action_id = self.begin(volume)
        bdm = self.dep.attachment(self.server, volume)
        self.dep.db.bdm_destroy(self.dep.context, bdm.id)
        self.assertFalse(self.dep.db.detach_finish(
            self.dep.context, bdm.id, volume, action_id, None))
        self.assertEqual('detaching', self.dep.volume_status(volume))

    def test_multiattach_stays_in_use_until_the_last(self):
        worker = self.dep.start_worker(ff.HOST)
        other = self.dep.add_server()
        volume = self.dep.add_volume(self.server)
        self.dep.add_volume(other, volume_id=volume)
        self.assertAccepted(self.dep.delete(self.server, volume))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(self.server, volume) is None))
        self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertIsNotNone(self.dep.attachment(other, volume))
        self.assertAccepted(self.dep.delete(other, volume))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(other, volume) is None))
        self.assertEqual('available', self.dep.volume_status(volume))
        self.assertTrue(self.dep.wait_for(worker.idle))


class TestContractRowWithRepair(RepairTestCase):
    """The contract's "already detached -> 400" holds while a worker runs
    its repair every interval."""

    def test_already_detached_400_through_repair_intervals(self):
        self.dep.start_worker(ff.HOST)
        volume = self.dep.add_volume(self.server, status='available')
        before = self.dep.snapshot()
        runs = []

        class Counting:
            def repair(inner, older_than):
                runs.append(self.manager.repair(older_than=older_than))
                return runs[-1]

        stop = threading.Event()
        loop = threading.Thread(target=compute_cmd.repair_loop,
                                args=(Counting(), stop, 0.05, 0))
        loop.start()
        self.addCleanup(loop.join)
        self.addCleanup(stop.set)
        for at_least in (3, 6):
            self.assertTrue(ff.wait_for(lambda: len(runs) >= at_least))
            self.assertFault(self.dep.delete(self.server, volume), 400,
                             'badRequest', 'Invalid volume: already detached')
        stop.set()
        loop.join()
        self.assertEqual({0}, set(runs))
        self.assertEqual(before, self.dep.snapshot())
