"""The compute API's rules, with fakes in place of DB, volumes and RPC."""

import types

from oslo_db import exception as db_exc
import testtools

from detach_ext import cells
from detach_ext.compute import api as compute_api
from detach_ext import exception


class FakeVolumes:
    def __init__(self):
        self.calls = []

    def begin_detaching(self, context, volume_id):
        self.calls.append(('begin_detaching', volume_id))

    def roll_detaching(self, context, volume_id):
        self.calls.append(('roll_detaching', volume_id))


class FakeDB:
    def __init__(self, calls):
        self.calls = calls

    def instance_get_full(self, context, uuid):
        return {'instance': {'id': 1, 'uuid': uuid, 'host': 'h1',
                             'deleted': 0}}

    def action_start(self, context, uuid, action):
        self.calls.append(('action_start', action))
        return 42

    def action_destroy(self, context, action_id):
        self.calls.append(('action_destroy', action_id))


class FakeRPC:
    def __init__(self, error=None):
        self.error = error
        self.casts = []

    def detach_volume(self, context, instance, volume_id, attachment_id):
        if self.error:
            raise self.error
        self.casts.append((instance['nova_object.data']['host'], volume_id,
                           attachment_id))


def _instance(**kw):
    values = dict(uuid='u1', host='h1', locked=False, vm_state='active',
                  task_state=None, project_id='p1')
    values.update(kw)
    return types.SimpleNamespace(**values)


def _bdm(**kw):
    values = dict(volume_id='v1', attachment_id='a1', is_root=False)
    values.update(kw)
    return types.SimpleNamespace(**values)


class TestDetachVolume(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.volumes = FakeVolumes()
        self.rpc = FakeRPC()
        self.db = FakeDB(self.volumes.calls)
        self.cell = cells.Cell('cell1', self.db, self.volumes, self.rpc)
        self.api = compute_api.API(cells.OneCell(self.cell))
        self.context = types.SimpleNamespace(is_admin=False)

    def _instance(self, **kw):
        return _instance(cell=self.cell, **kw)

    def test_success_begins_then_casts(self):
        self.api.detach_volume(self.context, self._instance(), _bdm())
        self.assertEqual([('begin_detaching', 'v1'),
                          ('action_start', 'detach_volume')],
                         self.volumes.calls)
        self.assertEqual([('h1', 'v1', 'a1')], self.rpc.casts)

    def test_cast_failure_rolls_back_and_raises_503(self):
        self.rpc.error = RuntimeError('boom')
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.api.detach_volume, self.context,
                                self._instance(), _bdm())
        self.assertEqual(503, exc.code)
        self.assertEqual([('begin_detaching', 'v1'),
                          ('action_start', 'detach_volume'),
                          ('action_destroy', 42),
                          ('roll_detaching', 'v1')], self.volumes.calls)

    def test_action_record_fails_503_rolls_back(self):
        def broken(context, uuid, action):
            raise db_exc.DBConnectionError()
        self.db.action_start = broken
        self.assertRaises(exception.DatabaseUnavailable,
                          self.api.detach_volume, self.context,
                          self._instance(), _bdm())
        self.assertEqual([('begin_detaching', 'v1'),
                          ('roll_detaching', 'v1')], self.volumes.calls)
        self.assertEqual([], self.rpc.casts)

    def test_failed_undo_still_answers_503(self):
        self.rpc.error = RuntimeError('boom')

        def broken(context, volume_id):
            raise RuntimeError('volume service gone too')
        self.volumes.roll_detaching = broken
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.api.detach_volume, self.context,
                                self._instance(), _bdm())
        self.assertIn(('action_destroy', 42), self.volumes.calls)
        # The repair rolls it back (no action): the message says so.
        self.assertEqual(
            'The compute service could not be reached; the volume could '
            'not be set back to in-use yet and shows "detaching" until the '
            'repair of its compute host does it (within a few minutes).  '
            'Try again then.', exc.message)

    def test_failed_undo_of_action_and_volume_says_it_finishes(self):
        self.rpc.error = RuntimeError('boom')

        def broken(*args):
            raise RuntimeError('database gone too')
        self.volumes.roll_detaching = broken
        self.db.action_destroy = broken
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.api.detach_volume, self.context,
                                self._instance(), _bdm())
        self.assertIn('the compute host will finish it', exc.message)

    def test_undone_says_nothing_was_changed(self):
        self.rpc.error = RuntimeError('boom')
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.api.detach_volume, self.context,
                                self._instance(), _bdm())
        self.assertEqual('The compute service could not be reached; '
                         'nothing was changed.  Try again later.',
                         exc.message)

    def test_checks_raise_before_any_write(self):
        cases = [
            (self._instance(locked=True, vm_state='error'),
             _bdm(is_root=True), exception.CantDetachRootDevice),
            (self._instance(locked=True, vm_state='error'), _bdm(),
             exception.InstanceIsLocked),
            (self._instance(vm_state='error', task_state='x'), _bdm(),
             exception.InstanceInvalidState),
            (self._instance(task_state='rebooting'), _bdm(),
             exception.InstanceInvalidState),
            (self._instance(host=None), _bdm(),
             exception.InstanceNotOnHost),
        ]
        for instance, bdm, error in cases:
            self.assertRaises(error, self.api.detach_volume, self.context,
                              instance, bdm)
        self.assertEqual([], self.volumes.calls)
        self.assertEqual([], self.rpc.casts)

    def test_admin_ignores_lock(self):
        self.context.is_admin = True
        self.api.detach_volume(self.context, self._instance(locked=True),
                               _bdm())
        self.assertEqual(1, len(self.rpc.casts))

    def test_state_message(self):
        exc = self.assertRaises(
            exception.InstanceInvalidState, compute_api.check_instance_state,
            _instance(vm_state='active', task_state='resize_prep'),
            'detach_volume', ('active',), (None,))
        self.assertEqual("Cannot 'detach_volume' instance u1 while it is in "
                         "task_state resize_prep", exc.message)
