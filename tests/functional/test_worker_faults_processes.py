"""A compute worker that loses its database loses no detach: the API
answered 202, so the detach ends done (by the worker's periodic repair),
checked row by row.

The worker reaches the database through a proxy of its own, so a test can
cut or stall the worker's database while the API keeps its own.  Skipped
without DETACH_EXT_TEST_DB_URL and a rabbit:// DETACH_EXT_TEST_TRANSPORT_URL,
as the other process tests.
"""

import os

import sqlalchemy as sa

from tests.functional import proxy
from tests.functional import rows
from tests.functional import test_processes


class SplitProcesses(test_processes.Processes):
    """:class:`Processes` whose compute workers have their own database
    proxy, ``worker_db_proxy``."""

    def _setUp(self):
        super()._setUp()
        db_url = sa.engine.make_url(self.dep.db_url)
        self.worker_db_proxy = proxy.Proxy((db_url.host,
                                            db_url.port)).start()
        self.addCleanup(self.worker_db_proxy.cut)
        with open(self.conf_path) as f:
            text = f.read()
        self.worker_conf_path = os.path.join(self.dep.dir, 'worker.conf')
        with open(self.worker_conf_path, 'w') as f:
            f.write(text.replace('127.0.0.1:%s' % self.db_proxy.port,
                                 '127.0.0.1:%s' % self.worker_db_proxy.port))

    def start_worker(self, host, name=None, conf_path=None):
        return super().start_worker(host, name,
                                    conf_path or self.worker_conf_path)


class SplitTestCase(test_processes.ProcessTestCase):
    """gunicorn (one worker) and a server with a volume; the compute
    workers on a database proxy of their own."""

    def setUp(self):
        super().setUp()
        # Replace the fixture's processes with split ones.
        self.procs = self.useFixture(SplitProcesses(self.dep,
                                                    self.extra_conf))
        self.server = self.dep.add_server(host='compute-a')
        self.volume = self.dep.add_volume(self.server)
        self.procs.start_api(workers=1)

    def detach_accepted(self):
        status, body, headers = self.procs.detach(self.server, self.volume)
        self.assertEqual(202, status, body)
        return headers['x-openstack-request-id']

    def assertDetachedOnce(self, request_id):
        self.assertTrue(self.dep.wait_for(
            lambda: rows.read(self.dep.db.engine)['volumes'][self.volume]
            != 'detaching', timeout=60), 'still detaching')
        state = rows.read(self.dep.db.engine)
        self.assertEqual(rows.DETACHED, rows.verdict(
            state, self.server, self.volume, [request_id]))
        return state


class TestWorkerDatabaseFaults(SplitTestCase):
    """The repair runs every second on volumes left ``detaching`` for 2 s;
    the unplug takes 3 s."""

    extra_conf = ('[reference_driver]\ndetach_delay = 3\n'
                  '[compute_worker]\nrepair_interval = 1\nrepair_age = 2\n')

    def test_worker_database_refused_when_cast_arrives_repaired(self):
        self.procs.start_worker('compute-a')
        self.procs.worker_db_proxy.cut()
        request_id = self.detach_accepted()
        # The message is taken and fails on the database; it is gone.
        self.procs.wait_for_log('worker-compute-a',
                                'Exception during message handling')
        state = rows.read(self.dep.db.engine)
        self.assertEqual('detaching', state['volumes'][self.volume])
        self.assertEqual([(self.server, 0)], state['bdms'][self.volume])
        self.assertEqual([(request_id, [])], state['actions'][self.server])
        self.procs.worker_db_proxy.restore()
        state = self.assertDetachedOnce(request_id)
        # Finished by the repair, the only worker event.
        self.assertEqual(
            [(request_id, [('compute_detach_volume', 'Success', True)])],
            state['actions'][self.server])
        self.assertIn('was left detaching',
                      self.procs.log('worker-compute-a'))
        self.assertEqual({}, dict(state['faults']))

    def test_worker_killed_in_its_completion_transaction_repaired(self):
        worker = self.procs.start_worker('compute-a', name='first')
        request_id = self.detach_accepted()
        self.procs.wait_for_log('first', 'Unplugging volume')
        # The worker's database stops answering while it unplugs: its
        # completion transaction (volume, mapping, event) is sent and
        # held in the proxy; it is killed there.
        self.procs.worker_db_proxy.stall()
        self.procs.wait_for_log('first', 'Unplugged volume')
        self.assertFalse(self.dep.wait_for(
            lambda: worker.poll() is not None, timeout=1))
        worker.kill()
        worker.wait(10)
        # What it had sent reaches the database after its death: an
        # unfinished transaction of a closed connection, rolled back.
        self.procs.worker_db_proxy.resume()
        state = rows.read(self.dep.db.engine)
        self.assertEqual('detaching', state['volumes'][self.volume])
        self.assertEqual([(self.server, 0)], state['bdms'][self.volume])
        self.assertEqual(
            [(request_id, [('compute_detach_volume', None, False)])],
            state['actions'][self.server])
        self.procs.start_worker('compute-a', name='second')
        state = self.assertDetachedOnce(request_id)
        self.assertEqual(
            [(request_id, [('compute_detach_volume', None, False),
                           ('compute_detach_volume', 'Success', True)])],
            state['actions'][self.server])
        self.assertNotIn('Detached volume', self.procs.log('first'))
        self.assertEqual({}, dict(state['faults']))


class TestRepairKeepsActionsApart(SplitTestCase):
    """Two detaches on one server, the first lost by its worker: the
    repair finishes it on its own request's action, not on the newer one
    of the second detach.  The repair waits 6 s, longer than the second
    detach takes."""

    extra_conf = ('[reference_driver]\ndetach_delay = 1\n'
                  '[compute_worker]\nrepair_interval = 1\nrepair_age = 6\n')

    def test_lost_detach_repaired_on_its_own_action(self):
        self.procs.start_worker('compute-a')
        second = self.dep.add_volume(self.server)
        self.procs.worker_db_proxy.cut()
        lost = self.detach_accepted()
        self.procs.wait_for_log('worker-compute-a',
                                'Exception during message handling')
        self.procs.worker_db_proxy.restore()
        status, body, headers = self.procs.detach(self.server, second)
        self.assertEqual(202, status, body)
        done = headers['x-openstack-request-id']
        self.assertDetached(self.server, second)
        state = self.assertDetachedOnce(lost)
        self.assertEqual(rows.DETACHED, rows.verdict(
            state, self.server, second, [done]))
        self.assertEqual(
            {lost: [('compute_detach_volume', 'Success', True)],
             done: [('compute_detach_volume', 'Success', True)]},
            dict(state['actions'][self.server]))
