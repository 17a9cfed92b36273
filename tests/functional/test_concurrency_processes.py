"""Concurrent detaches through gunicorn (two workers) and one
detach-ext-compute, on a database server and RabbitMQ, checked row by row
afterwards.

Skipped without DETACH_EXT_TEST_DB_URL and a rabbit://
DETACH_EXT_TEST_TRANSPORT_URL, as the other process tests.
"""

import collections
import json

from tests.functional import fixtures as ff
from tests.functional import rows
from tests.functional import test_processes

CALLERS = 100


class TestConcurrentDetaches(test_processes.ProcessTestCase):

    def setUp(self):
        super().setUp()
        self.procs.start_api(workers=2)
        self.procs.start_worker('compute-a')

    def _settled(self, pairs):
        """Wait (bounded) until no volume of ``pairs`` is detaching and the
        worker has nothing left in hand, then read the rows."""
        def settled():
            state = rows.read(self.dep.db.engine)
            return all(state['volumes'][v] != 'detaching'
                       for _s, v in pairs)
        self.assertTrue(self.dep.wait_for(settled, timeout=60),
                        'volumes still detaching')
        return rows.read(self.dep.db.engine)

    def test_delete_one_attachment_100_callers_one_202(self):
        server = self.dep.add_server(host='compute-a')
        volume = self.dep.add_volume(server)
        answers = ff.run_concurrently(
            CALLERS, lambda: self.procs.detach(server, volume))
        codes = collections.Counter(status for status, _b, _h in answers)
        self.assertEqual(1, codes[202], codes)
        # The losers are told the volume is busy (400, row 12, while it is
        # detaching), already detached (400, row 11: the worker finished
        # between their lookup and their compare-and-swap) or, once the
        # worker finished, that it is not attached (404, row 6): as Nova
        # answers.
        self.assertEqual(CALLERS - 1, codes[400] + codes[404], codes)
        for status, body, headers in answers:
            self.assertTrue(headers['x-openstack-request-id'])
            if status == 400:
                self.assertIn(
                    json.loads(body)['badRequest']['message'],
                    ("Invalid volume: volume %s is 'detaching', not "
                     "'in-use'" % volume, 'Invalid volume: already detached'))
            elif status == 404:
                self.assertEqual(
                    'Instance %s is not attached to volume %s'
                    % (server, volume),
                    json.loads(body)['itemNotFound']['message'])
        accepted = [h['x-openstack-request-id'] for status, _b, h in answers
                    if status == 202]
        state = self._settled([(server, volume)])
        self.assertEqual(rows.DETACHED,
                         rows.verdict(state, server, volume, accepted))
        # Row by row: one action (of the 202), one worker event, the
        # mapping soft-deleted once, the volume available, no fault.
        self.assertEqual('available', state['volumes'][volume])
        self.assertEqual(1, len(state['bdms'][volume]))
        instance, deleted = state['bdms'][volume][0]
        self.assertEqual(server, instance)
        self.assertNotEqual(0, deleted)
        self.assertEqual(
            [(accepted[0], [('compute_detach_volume', 'Success', True)])],
            state['actions'][server])
        self.assertEqual({}, dict(state['faults']))
        self.assertEqual(1, self.procs.log('worker-compute-a').count(
            'Detached volume %s' % volume))

    def test_delete_100_attachments_100_callers_all_202(self):
        # Twenty servers with five volumes each.
        pairs = []
        for _ in range(CALLERS // 5):
            server = self.dep.add_server(host='compute-a')
            pairs += [(server, self.dep.add_volume(server))
                      for _ in range(5)]
        slots = iter(range(CALLERS))

        def detach():
            server, volume = pairs[next(slots)]
            return (server, volume) + self.procs.detach(server, volume)

        answers = ff.run_concurrently(CALLERS, detach)
        self.assertEqual([202] * CALLERS, [a[2] for a in answers],
                         [a[3] for a in answers if a[2] != 202][:3])
        self.assertEqual(sorted(pairs), sorted(a[:2] for a in answers))
        state = self._settled(pairs)
        per_server = collections.Counter()
        for server, volume, _status, _body, headers in answers:
            per_server[server] += 1
            self.assertEqual(
                rows.DETACHED, rows.verdict(
                    state, server, volume,
                    [headers['x-openstack-request-id']]))
            self.assertEqual([(server, state['bdms'][volume][0][1])],
                             state['bdms'][volume])
        # One action per request, each with exactly one event, finished
        # with Success; nothing else.
        for server, count in per_server.items():
            actions = state['actions'][server]
            self.assertEqual(count, len(actions))
            for _request_id, events in actions:
                self.assertEqual(
                    [('compute_detach_volume', 'Success', True)], events)
        self.assertEqual({'available'}, set(state['volumes'].values()))
        self.assertEqual({}, dict(state['faults']))
