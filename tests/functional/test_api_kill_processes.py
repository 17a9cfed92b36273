"""The API process killed (``kill -9`` of a gunicorn worker) at each point
of a detach: the volume ends attached or detached exactly once, within
``repair_age + repair_interval`` of the detach, checked row by row.

gunicorn loads ``tests/functional/kill_points.py`` as its configuration:
a worker armed for a volume stops at a point of that volume's detach and
says so; the test then kills it there.  The client's answer is lost (the
connection closes without one), as a client of a crashed API sees it.
Skipped without DETACH_EXT_TEST_DB_URL and a rabbit://
DETACH_EXT_TEST_TRANSPORT_URL, as the other process tests.
"""

import os
import signal
import threading
import time

from testtools import content

from tests.functional import rows
from tests.functional import test_processes

KILL_POINTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'kill_points.py')

REPAIR_INTERVAL = 1
REPAIR_AGE = 8
# The repair's own run and a process start on a slow, shared machine.
SLACK = 5


class KillableApi(test_processes.Processes):
    """:class:`Processes` whose gunicorn loads the kill points."""

    def _setUp(self):
        super()._setUp()
        self.kill_dir = os.path.join(self.dep.dir, 'kill-points')
        os.makedirs(self.kill_dir)

    def _spawn(self, name, args):
        if name == 'api':
            args = args[:-1] + ['-c', KILL_POINTS] + args[-1:]
            os.environ['DETACH_EXT_TEST_KILL_DIR'] = self.kill_dir
            try:
                return super()._spawn(name, args)
            finally:
                del os.environ['DETACH_EXT_TEST_KILL_DIR']
        return super()._spawn(name, args)

    def arm(self, volume, point):
        open(os.path.join(self.kill_dir, '%s.%s' % (volume, point)),
             'w').close()

    def reached(self, volume, point, timeout=30):
        """(pid, request id) of the worker that reached ``point`` of the
        detach of ``volume``."""
        path = os.path.join(self.kill_dir,
                            '%s.%s.reached' % (volume, point))
        if not self.dep.wait_for(lambda: os.path.exists(path), timeout):
            raise AssertionError('no worker reached %s of %s:\n%s' % (
                point, volume, self.log('api')[-3000:]))
        with open(path) as f:
            pid, request_id = f.read().split()
        return int(pid), request_id


class TestApiKilled(test_processes.ProcessTestCase):
    """gunicorn with two workers; the compute worker repairs every
    second what was left for REPAIR_AGE seconds."""

    extra_conf = ('[compute_worker]\nrepair_interval = %d\n'
                  'repair_age = %d\n' % (REPAIR_INTERVAL, REPAIR_AGE))

    def setUp(self):
        super().setUp()
        self.procs = self.useFixture(KillableApi(self.dep, self.extra_conf))
        self.procs.start_api(workers=2)
        self.procs.start_worker('compute-a')

    def detach_in_background(self, server, volume):
        """Send the detach from a thread; returns a list that gets its
        (status, body, headers), or None if the answer was lost."""
        answer = []

        def _send():
            try:
                answer.append(self.procs.detach(server, volume))
            except OSError:
                answer.append(None)
        thread = threading.Thread(target=_send, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 60)
        return answer, thread

    def kill_at(self, point, bus=None):
        """Detach a new volume and kill the API worker at ``point``;
        returns (server, volume, request id, monotonic time sent)."""
        server = self.dep.add_server(host='compute-a')
        volume = self.dep.add_volume(server)
        self.procs.arm(volume, point)
        sent = time.monotonic()
        answer, thread = self.detach_in_background(server, volume)
        pid, request_id = self.procs.reached(volume, point)
        self.assertIn(str(pid), self.procs.api_workers())
        if bus is not None:
            # The cast is under way into the stalled broker: it waits for
            # the broker's confirm when the worker dies.
            time.sleep(1.5)
        os.kill(pid, signal.SIGKILL)
        thread.join(60)
        self.assertEqual([None], answer, 'an answer came from a killed '
                                         'worker')
        if bus == 'resume':
            self.procs.bus_proxy.resume()
        elif bus == 'cut':
            self.procs.bus_proxy.cut()
            # The compute worker's broker back (the proxy's port is free
            # once its accept thread has seen the cut).
            self.assertTrue(self.dep.wait_for(self._restore_bus, 30))
        return server, volume, request_id, sent

    def _restore_bus(self):
        try:
            self.procs.bus_proxy.restore()
            return True
        except OSError:
            return False

    def assertEnds(self, expected, server, volume, request_id, sent):
        """The volume settles (not detaching) in ``expected`` within
        repair_age + repair_interval of the detach."""
        bound = REPAIR_AGE + REPAIR_INTERVAL

        deadline = sent + bound + SLACK + 30
        while True:
            state = rows.read(self.dep.db.engine)
            if state['volumes'][volume] != 'detaching':
                break
            if time.monotonic() > deadline:
                state = None
                break
            time.sleep(0.2)
        took = time.monotonic() - sent
        self.addDetail('seconds_to_settle', content.text_content(
            '%.1f (bound %d + %d)' % (took, bound, SLACK)))
        self.assertTrue(state, 'volume %s still detaching after %.0f s'
                        % (volume, took))
        self.assertLessEqual(took, bound + SLACK)
        if expected == rows.DETACHED:
            self.assertEqual(rows.DETACHED, rows.verdict(
                state, server, volume, [request_id]))
            actions = state['actions'][server]
            self.assertEqual([request_id], [rid for rid, _e in actions])
        else:
            self.assertEqual(rows.ATTACHED, rows.verdict(state, server,
                                                         volume))
            self.assertEqual([], state['actions'].get(server, []))
        self.assertEqual({}, dict(state['faults']))
        return state

    def test_killed_before_commit_stays_attached(self):
        # The compare-and-swap and the action are written, not committed:
        # the database rolls them back when the connection dies.
        found = self.kill_at('before_commit')
        self.assertEnds(rows.ATTACHED, *found)

    def test_killed_after_commit_before_cast_repaired(self):
        # Committed (detaching, with its action), never cast: the
        # repair finishes it.
        server, volume, request_id, sent = found = self.kill_at(
            'before_cast')
        self.assertEnds(rows.DETACHED, *found)
        self.assertIn('left detaching by request %s' % request_id,
                      self.procs.log('worker-compute-a'))

    def test_killed_waiting_for_confirm_cast_delivered_late(self):
        # Killed while the broker holds the publish; the broker then
        # takes what was sent: the worker or the repair finishes it.
        self.procs.bus_proxy.stall()
        found = self.kill_at('casting', bus='resume')
        self.assertEnds(rows.DETACHED, *found)

    def test_killed_waiting_for_confirm_cast_lost(self):
        # Killed while the broker holds the publish, which is then lost
        # with the connection: the repair finishes it.
        self.procs.bus_proxy.stall()
        found = self.kill_at('casting', bus='cut')
        self.assertEnds(rows.DETACHED, *found)

    def test_killed_after_cast_before_answer_finished(self):
        # Cast and confirmed, the 202 never written: the worker finishes
        # it as for any cast.
        server, volume, request_id, sent = found = self.kill_at(
            'after_cast')
        state = self.assertEnds(rows.DETACHED, *found)
        self.assertEqual(
            [(request_id, [('compute_detach_volume', 'Success', True)])],
            state['actions'][server])
        self.assertNotIn('left detaching by request %s' % request_id,
                         self.procs.log('worker-compute-a'))

    def test_other_worker_answers_while_one_is_held(self):
        # The other gunicorn worker keeps answering; once the held one
        # is killed, gunicorn starts another and both answer again.
        server = self.dep.add_server(host='compute-a')
        held = self.dep.add_volume(server)
        self.procs.arm(held, 'before_cast')
        answer, thread = self.detach_in_background(server, held)
        pid, request_id = self.procs.reached(held, 'before_cast')
        free = self.dep.add_volume(server)
        status, body, _headers = self.procs.detach(server, free)
        self.assertEqual(202, status, body)
        os.kill(pid, signal.SIGKILL)
        thread.join(60)
        self.assertTrue(self.dep.wait_for(
            lambda: len(self.procs.api_workers()) == 2 and
            str(pid) not in self.procs.api_workers(), 30))
        for _ in range(4):
            status, body, _headers = self.procs.detach(
                server, self.dep.add_volume(server))
            self.assertEqual(202, status, body)
