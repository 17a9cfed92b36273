"""A COMMIT whose answer is lost has an unknown outcome: the API finds out
and answers from what happened (202 and the cast if the begin-detaching
committed, a truthful 503 if not), within the bound.

The API's database proxy loses one COMMIT's answer (the server commits,
the client never hears it, as behind a Galera node whose commits stall
while the cluster loses a node) or drops the COMMIT itself (the server
rolls back).  Skipped without DETACH_EXT_TEST_DB_URL and a rabbit://
DETACH_EXT_TEST_TRANSPORT_URL, as the other process tests.
"""

import json
import time

from tests.functional import test_processes


class TestLostCommitAnswer(test_processes.ProcessTestCase):

    # The answer's bound: gunicorn kills a worker silent for longer.
    BOUND = 30

    def setUp(self):
        super().setUp()
        self.server = self.dep.add_server(host='compute-a')
        self.volume = self.dep.add_volume(self.server)
        self.procs.start_api(workers=1, timeout=self.BOUND)
        self.procs.start_worker('compute-a')
        # Pooled connections, and a worker idle once this is detached.
        warm = self.dep.add_volume(self.server)
        self.assertEqual(202, self.procs.detach(self.server, warm)[0])
        self.assertDetached(self.server, warm)

    def test_committed_answer_lost_202_detached_once(self):
        self.procs.db_proxy.hold_commit(forward=True)
        started = time.monotonic()
        status, body, headers = self.procs.detach(self.server, self.volume)
        took = time.monotonic() - started
        self.assertTrue(self.procs.db_proxy.held.is_set())
        self.assertEqual(202, status, body)
        self.assertLess(took, self.BOUND)
        self.assertDetached(self.server, self.volume)
        self.assertEqual(
            [('Success', self.dep.host('compute-a'))],
            self.worker_events(self.server,
                               headers['x-openstack-request-id']))
        self.procs.wait_for_log('api', 'was recorded; going on')

    def test_commit_not_made_503_nothing_changed(self):
        before = self.dep.snapshot()
        self.procs.db_proxy.hold_commit(forward=False)
        status, body, _headers = self.procs.detach(self.server, self.volume)
        self.assertTrue(self.procs.db_proxy.held.is_set())
        self.assertEqual(503, status, body)
        self.assertEqual(
            {'serviceUnavailable': {
                'code': 503,
                'message': 'The compute database could not be reached; '
                           'nothing was changed.  Try again later.'}},
            json.loads(body))
        self.assertEqual(before, self.dep.snapshot())
        self.assertEqual(202, self.procs.detach(self.server,
                                                self.volume)[0])
        self.assertDetached(self.server, self.volume)
