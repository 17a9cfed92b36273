"""The helpers the concurrency tests rely on fail loudly, not later."""

import threading

import testtools

from tests.functional import fixtures as ff


class TestRunConcurrently(testtools.TestCase):

    def test_every_result_returned(self):
        counter = iter(range(100))
        lock = threading.Lock()

        def _next():
            with lock:
                return next(counter)
        self.assertEqual([0, 1, 2, 3],
                         sorted(ff.run_concurrently(4, _next)))

    def test_call_not_returning_fails_clearly(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        error = self.assertRaises(AssertionError, ff.run_concurrently, 3,
                                  lambda: gate.wait(30), timeout=0.2)
        self.assertEqual('3 of 3 concurrent calls had not returned after '
                         '0.2 s', str(error))

    def test_call_raising_fails_clearly(self):
        def _fail():
            raise ValueError('boom')
        error = self.assertRaises(AssertionError, ff.run_concurrently, 2,
                                  _fail)
        self.assertIn("raised ValueError('boom')", str(error))
        self.assertIsInstance(error.__cause__, ValueError)
