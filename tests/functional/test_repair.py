"""Every half-done detach is finished or rolled back, once, by the repair;
the worker's completion is one transaction; a multiattach volume stays
in-use while another attachment holds it."""

import contextlib
import datetime
import io

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

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
        # The old split: volume available, mapping left behind.
        volume = self.dep.add_volume(self.server)
        action_id = self.begin(volume)
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

    def test_available_with_live_attachment_never_detached(self):
        volume = self.dep.add_volume(self.server, status='available')
        self.age(volume, 600)
        self.assertEqual(1, self.manager.repair(older_than=120))
        self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertIsNotNone(self.dep.attachment(self.server, volume))

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
