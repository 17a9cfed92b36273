"""The compute API's rules, with fakes in place of DB, volumes and RPC."""

import contextlib
import types

from oslo_db import exception as db_exc
import testtools

from detach_ext import cells
from detach_ext.compute import api as compute_api
from detach_ext import exception


class FakeVolumes:
    shares_database = True

    def __init__(self):
        self.calls = []

    def refusal(self, context, volume_id):
        return exception.InvalidVolume(reason='already detached')

    def begin_detaching(self, context, volume_id):
        self.calls.append(('begin_detaching', volume_id))

    def roll_detaching(self, context, volume_id):
        self.calls.append(('roll_detaching', volume_id))


class FakeDB:
    """The lookup answers ``instance`` and ``bdm`` (dicts)."""

    def __init__(self, calls):
        self.calls = calls
        self.instance = self.bdm = None

    def transaction(self, context):
        return contextlib.nullcontext()

    def detach_lookup(self, context, uuid, volume_id, project_id=None):
        full = {'instance': dict(self.instance, id=1, deleted=0),
                'services': None}
        return self.instance, self.bdm, full

    def detach_begin(self, context, uuid, volume_id):
        self.calls.append(('begin_detaching', volume_id))
        return self.action_start(context, uuid, 'detach_volume')

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
    return values


def _bdm(**kw):
    values = dict(id=7, volume_id='v1', attachment_id='a1', boot_index=None)
    values.update(kw)
    return values


class DetachTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.volumes = FakeVolumes()
        self.rpc = FakeRPC()
        self.db = FakeDB(self.volumes.calls)
        self.cell = cells.Cell('cell1', self.db, self.volumes, self.rpc)
        self.api = compute_api.API(cells.OneCell(self.cell))
        self.context = types.SimpleNamespace(is_admin=False,
                                             project_id='p1')

    def _instance(self, **kw):
        return _instance(**kw)

    def detach(self, instance, bdm):
        """The compute API's detach of a server the lookup finds as
        ``instance`` with ``bdm``, policy allowing."""
        self.db.instance, self.db.bdm = instance, bdm
        return self.api.detach_volume(self.context, instance['uuid'],
                                      bdm['volume_id'], lambda i: None)


class TestDetachVolume(DetachTestCase):

    def test_success_begins_then_casts(self):
        self.detach(self._instance(), _bdm())
        self.assertEqual([('begin_detaching', 'v1'),
                          ('action_start', 'detach_volume')],
                         self.volumes.calls)
        self.assertEqual([('h1', 'v1', 'a1')], self.rpc.casts)

    def test_cast_failure_rolls_back_and_raises_503(self):
        self.rpc.error = RuntimeError('boom')
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.detach,
                                self._instance(), _bdm())
        self.assertEqual(503, exc.code)
        self.assertEqual([('begin_detaching', 'v1'),
                          ('action_start', 'detach_volume'),
                          ('action_destroy', 42),
                          ('roll_detaching', 'v1')], self.volumes.calls)

    def test_action_record_fails_nothing_to_undo(self):
        # The action is written in the transaction of the volume's
        # compare-and-swap: both are rolled back together, and the error
        # reaches the router (503).
        def broken(context, uuid, action):
            raise db_exc.DBConnectionError()
        self.db.action_start = broken
        self.assertRaises(db_exc.DBConnectionError, self.detach,
                          self._instance(), _bdm())
        self.assertEqual([('begin_detaching', 'v1')], self.volumes.calls)
        self.assertEqual([], self.rpc.casts)

    def test_failed_undo_still_answers_503(self):
        self.rpc.error = RuntimeError('boom')

        def broken(context, volume_id):
            raise RuntimeError('volume service gone too')
        self.volumes.roll_detaching = broken
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.detach,
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
                                self.detach,
                                self._instance(), _bdm())
        self.assertIn('the compute host will finish it', exc.message)

    def test_undone_says_nothing_was_changed(self):
        self.rpc.error = RuntimeError('boom')
        exc = self.assertRaises(exception.ComputeUnavailable,
                                self.detach,
                                self._instance(), _bdm())
        self.assertEqual('The compute service could not be reached; '
                         'nothing was changed.  Try again later.',
                         exc.message)

    def test_checks_raise_before_any_write(self):
        cases = [
            (self._instance(locked=True, vm_state='error'),
             _bdm(boot_index=0), exception.CantDetachRootDevice),
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
            self.assertRaises(error, self.detach, instance, bdm)
        self.assertEqual([], self.volumes.calls)
        self.assertEqual([], self.rpc.casts)

    def test_admin_ignores_lock(self):
        self.context.is_admin = True
        self.detach(self._instance(locked=True), _bdm())
        self.assertEqual(1, len(self.rpc.casts))

    def test_state_message(self):
        exc = self.assertRaises(
            exception.InstanceInvalidState, compute_api.check_instance_state,
            compute_api.Record(_instance(vm_state='active',
                                         task_state='resize_prep')),
            'detach_volume', ('active',), (None,))
        self.assertEqual("Cannot 'detach_volume' instance u1 while it is in "
                         "task_state resize_prep", exc.message)


class _CommitFails:
    """A transaction whose COMMIT raises (its answer lost)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if exc_info[0] is None:
            raise db_exc.DBConnectionError()
        return False


class TestLostCommitAnswer(DetachTestCase):
    """The begin's COMMIT raised: the answer comes from what happened."""

    def setUp(self):
        super().setUp()
        self.db.transaction = lambda context: _CommitFails()

    def outcome(self, committed):
        def detach_begin_committed(context, uuid, volume_id):
            self.volumes.calls.append(('read back', volume_id))
            if isinstance(committed, Exception):
                raise committed
            return committed
        self.db.detach_begin_committed = detach_begin_committed

    def test_committed_goes_on_and_casts(self):
        self.outcome(True)
        self.detach(self._instance(), _bdm())
        self.assertEqual([('h1', 'v1', 'a1')], self.rpc.casts)
        self.assertEqual(('read back', 'v1'), self.volumes.calls[-1])

    def test_not_committed_503_nothing_changed(self):
        self.outcome(False)
        exc = self.assertRaises(exception.DatabaseUnavailable, self.detach,
                                self._instance(), _bdm())
        self.assertEqual('The compute database could not be reached; '
                         'nothing was changed.  Try again later.',
                         exc.message)
        self.assertEqual([], self.rpc.casts)

    def test_unknown_says_so(self):
        self.outcome(db_exc.DBConnectionError())
        exc = self.assertRaises(exception.DatabaseUnavailable, self.detach,
                                self._instance(), _bdm())
        self.assertIn('whether the detach was recorded before it went is '
                      'unknown', exc.message)
        # Not cast: if it was recorded, the repair finishes it.
        self.assertEqual([], self.rpc.casts)

    def test_commit_of_a_read_only_block_is_not_read_back(self):
        # The lookup refused (nothing written): the error is the router's.
        self.outcome(True)
        self.assertRaises(exception.CantDetachRootDevice, self.detach,
                          self._instance(), _bdm(boot_index=0))
        self.assertNotIn(('read back', 'v1'), self.volumes.calls)


class TestVolumeServiceBackend(DetachTestCase):
    """A volume service of its own (Cinder): the action first, then its
    compare-and-swap; a roll back it cannot take is recorded."""

    def setUp(self):
        super().setUp()
        self.volumes.shares_database = False

    def test_action_recorded_before_begin_detaching(self):
        self.detach(self._instance(), _bdm())
        self.assertEqual([('action_start', 'detach_volume'),
                          ('begin_detaching', 'v1')], self.volumes.calls)

    def test_refused_begin_removes_the_action(self):
        def refused(context, volume_id):
            raise exception.InvalidVolume(reason='already detached')
        self.volumes.begin_detaching = refused
        self.assertRaises(exception.InvalidVolume, self.detach,
                          self._instance(), _bdm())
        self.assertEqual([('action_start', 'detach_volume'),
                          ('action_destroy', 42)], self.volumes.calls)

    def test_roll_back_not_taken_nor_recorded_says_an_admin_must(self):
        self.rpc.error = RuntimeError('boom')

        def broken(*args):
            raise RuntimeError('gone')
        self.volumes.roll_detaching = broken
        self.db.rollback_create = broken
        exc = self.assertRaises(exception.ComputeUnavailable, self.detach,
                                self._instance(), _bdm())
        self.assertIn('until an administrator sets it back', exc.message)

    def test_roll_back_not_taken_is_recorded_for_the_repair(self):
        self.rpc.error = RuntimeError('boom')

        def broken(*args):
            raise RuntimeError('gone')
        self.volumes.roll_detaching = broken
        self.db.rollback_create = lambda context, volume_id, uuid: (
            self.volumes.calls.append(('rollback_create', volume_id)))
        exc = self.assertRaises(exception.ComputeUnavailable, self.detach,
                                self._instance(), _bdm())
        self.assertIn(('rollback_create', 'v1'), self.volumes.calls)
        self.assertIn('until the repair of its compute host does it',
                      exc.message)
