"""The reference worker: finishes once, rolls back on failure."""

import datetime
import types

from oslo_db import exception as db_exc
import testtools

from detach_ext.compute import manager
from tests import fakes


class FakeDB:
    def __init__(self, bdm, action=True):
        self.bdm = bdm
        self.destroyed = []
        self.faults = []
        self.events = []
        self.action = (types.SimpleNamespace(
            id=9, request_id='req-1', events=[],
            start_time=datetime.datetime(2026, 1, 1, 0, 0, 1))
                       if action else None)

    def bdm_get_by_volume_and_instance(self, context, volume_id, uuid):
        return self.bdm

    def instance_get_full(self, context, uuid):
        return {'instance': {'id': 1, 'uuid': uuid, 'host': 'h1',
                             'deleted': 0}}

    def action_get_by_request_id(self, context, uuid, request_id):
        return self.action

    def action_event_start(self, context, action_id, event, host):
        self.events.append([event, host, None])
        return len(self.events)

    def action_event_finish(self, context, action_id, event_id, result,
                            traceback=None):
        self.events[event_id - 1][2] = result

    def bdm_get_all_by_host(self, context, host, **local_filters):
        return [self.bdm] if self.bdm else []

    def detach_finish(self, context, bdm_id, volume_id=None,
                      action_id=None, event_id=None):
        self.destroyed.append(bdm_id)
        if event_id is not None:
            self.events[event_id - 1][2] = 'Success'
        return True

    def actions_since(self, context, uuid, action, since):
        return [self.action] if self.action else []

    def instance_fault_create(self, context, instance_uuid, **kwargs):
        self.faults.append(kwargs)

    # The roll back the API recorded for a volume (None: none).
    rollback = None

    def rollback_get(self, context, volume_id):
        return self.rollback

    def rollback_destroy(self, context, volume_id):
        self.rollback = None


class FakeVolumes:
    shares_database = False

    def __init__(self, status):
        self.status = status

    def check_admin_credentials(self):
        pass

    def get(self, context, volume_id):
        return {'status': self.status, 'updated_at': None}

    def get_status(self, context, volume_id):
        return self.get(context, volume_id)['status']

    def detach(self, context, volume_id, attachment_id=None, connector=None):
        changed = self.status == 'detaching'
        self.status = 'available'
        return changed

    def roll_detaching(self, context, volume_id):
        self.status = 'in-use'


INSTANCE = {'nova_object.data': {'uuid': 'u1', 'host': 'h1'}}
CONTEXT = types.SimpleNamespace(request_id='req-1', user_id='u',
                                project_id='p')


def _bdm():
    return types.SimpleNamespace(id=3, connection_info='{}',
                                 device_name='/dev/vdb', volume_id='v1',
                                 instance_uuid='u1', attachment_id=None,
                                 created_at=datetime.datetime(2026, 1, 1))


class TestManager(testtools.TestCase):

    def test_detach_finishes_and_records_its_event(self):
        db, volumes = FakeDB(_bdm()), FakeVolumes('detaching')
        manager.ComputeManager('h1', db, volumes).detach_volume(
            CONTEXT, INSTANCE, 'v1')
        self.assertEqual('available', volumes.status)
        self.assertEqual([3], db.destroyed)
        self.assertEqual([['compute_detach_volume', 'h1', 'Success']],
                         db.events)

    def test_no_instance_action_no_detach(self):
        db, volumes = FakeDB(_bdm(), action=False), FakeVolumes('detaching')
        manager.ComputeManager('h1', db, volumes).detach_volume(
            CONTEXT, INSTANCE, 'v1')
        self.assertEqual('detaching', volumes.status)
        self.assertEqual([], db.destroyed)

    def test_not_detaching_is_ignored(self):
        for status in ('in-use', 'available'):
            db, volumes = FakeDB(_bdm()), FakeVolumes(status)
            manager.ComputeManager('h1', db, volumes).detach_volume(
                CONTEXT, INSTANCE, 'v1')
            self.assertEqual(status, volumes.status)
            self.assertEqual([], db.destroyed)

    def test_gone_attachment_is_ignored(self):
        db, volumes = FakeDB(None), FakeVolumes('detaching')
        manager.ComputeManager('h1', db, volumes).detach_volume(
            CONTEXT, INSTANCE, 'v1')
        self.assertEqual('detaching', volumes.status)

    def test_driver_failure_rolls_back_and_records_fault(self):
        db, volumes = FakeDB(_bdm()), FakeVolumes('detaching')
        manager.ComputeManager('h1', db, volumes,
                               fakes.FailingDriver()).detach_volume(
            CONTEXT, INSTANCE, 'v1')
        self.assertEqual('in-use', volumes.status)
        self.assertEqual('Error', db.events[0][2])
        self.assertEqual([], db.destroyed)
        self.assertEqual('OSError: device busy', db.faults[0]['message'])
        self.assertEqual('h1', db.faults[0]['host'])

    def lost_completion(self, took_effect):
        """A completion whose COMMIT raised (its answer lost); the read
        back finds the mapping gone or not."""
        db, volumes = FakeDB(_bdm()), FakeVolumes('detaching')
        real = db.detach_finish

        def detach_finish(*args, **kwargs):
            if took_effect:
                real(*args, **kwargs)
            raise db_exc.DBConnectionError()
        db.detach_finish = detach_finish
        db.detach_finished = lambda context, bdm_id: took_effect
        done = manager.ComputeManager('h1', db, volumes).detach_volume(
            CONTEXT, INSTANCE, 'v1')
        return db, volumes, done

    def test_completion_that_took_effect_is_not_rolled_back(self):
        db, volumes, _done = self.lost_completion(took_effect=True)
        self.assertEqual('available', volumes.status)
        self.assertEqual([], db.faults)
        self.assertEqual([['compute_detach_volume', 'h1', 'Success']],
                         db.events)

    def test_completion_that_did_not_is_left_to_the_repair(self):
        # The API answered 202: a database error is no reason to roll the
        # volume back; it stays as it is, its event open.
        db, volumes, _done = self.lost_completion(took_effect=False)
        self.assertEqual('available', volumes.status)  # Cinder's part done
        self.assertEqual([], db.faults)
        self.assertEqual([['compute_detach_volume', 'h1', None]], db.events)
        db.detach_finish = db.__class__.detach_finish.__get__(db)
        db.actions_since = lambda *args: [types.SimpleNamespace(
            id=9, request_id='req-1', start_time=datetime.datetime(2026, 1, 1),
            events=[types.SimpleNamespace(
                id=1, event='compute_detach_volume', finish_time=None)])]
        # The repair then drops the mapping (the worker's event is open).
        self.assertEqual(1, manager.ComputeManager('h1', db,
                                                   volumes).repair())
        self.assertEqual([3], db.destroyed)

    def test_init_host_finishes_what_was_left_detaching(self):
        db, volumes = FakeDB(_bdm()), FakeVolumes('detaching')
        self.assertEqual(1, manager.ComputeManager('h1', db,
                                                   volumes).init_host())
        self.assertEqual('available', volumes.status)
        self.assertEqual([3], db.destroyed)

    def test_repair_without_an_action_leaves_cinders_detaching(self):
        # Cinder's detaching with no detach of detach_ext's behind it may
        # be another service's (Nova's swap of a volume).
        db, volumes = FakeDB(_bdm(), action=False), FakeVolumes('detaching')
        self.assertEqual(0, manager.ComputeManager('h1', db,
                                                   volumes).repair())
        self.assertEqual('detaching', volumes.status)
        self.assertEqual([], db.destroyed)

    def test_repair_rolls_back_what_the_api_recorded(self):
        db, volumes = FakeDB(_bdm(), action=False), FakeVolumes('detaching')
        db.rollback = types.SimpleNamespace(request_id='req-503')
        self.assertEqual(1, manager.ComputeManager('h1', db,
                                                   volumes).repair())
        self.assertEqual('in-use', volumes.status)
        self.assertIsNone(db.rollback)
        self.assertEqual([], db.destroyed)

    def test_init_host_leaves_other_volumes(self):
        db, volumes = FakeDB(_bdm()), FakeVolumes('in-use')
        self.assertEqual(0, manager.ComputeManager('h1', db,
                                                   volumes).init_host())
        self.assertEqual('in-use', volumes.status)
        self.assertEqual([], db.destroyed)

    def test_init_host_survives_an_unreachable_volume_service(self):
        class Down(FakeVolumes):
            def get(self, context, volume_id):
                raise RuntimeError('block storage unreachable')

        db = FakeDB(_bdm())
        self.assertEqual(0, manager.ComputeManager(
            'h1', db, Down('detaching')).init_host())
        self.assertEqual([], db.destroyed)
