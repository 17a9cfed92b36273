"""The pool settings detach_ext gives the engines oslo.db creates
(detach_ext.db.pool).  What reaches a real server: tests/functional/
test_pool.py and test_sql_count.py."""

import sys
import types
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.pool import base as pool_base
import testtools

from detach_ext.db import pool


class TestTune(testtools.TestCase):

    def _engine(self, url):
        # create_engine() does not connect.
        engine = sa.create_engine(url, pool_pre_ping=True)
        self.addCleanup(engine.dispose)
        return engine

    def test_server_pool_pings_when_idle_and_resets_what_is_open(self):
        engine = self._engine('mysql+pymysql://nobody@127.0.0.1:1/none')
        pool.tune(1.0)(engine)
        # The attributes SQLAlchemy reads on each checkout and return:
        # renamed in a later SQLAlchemy, this fails (and tune() leaves
        # the pool as SQLAlchemy made it).
        self.assertIs(False, engine.pool._pre_ping)
        self.assertIs(pool_base.reset_none, engine.pool._reset_on_return)
        self.assertTrue(engine.pool.dispatch.checkout)
        self.assertTrue(engine.pool.dispatch.reset)

    def test_ping_after_idle_0_keeps_pre_ping(self):
        engine = self._engine('postgresql+psycopg2://nobody@127.0.0.1:1/x')
        pool.tune(0)(engine)
        self.assertIs(True, engine.pool._pre_ping)
        self.assertIs(pool_base.reset_none, engine.pool._reset_on_return)

    def test_sqlite_untouched(self):
        engine = self._engine('sqlite://')
        reset = engine.pool._reset_on_return
        pool.tune(1.0)(engine)
        self.assertIs(True, engine.pool._pre_ping)
        self.assertIs(reset, engine.pool._reset_on_return)
        self.assertFalse(engine.pool.dispatch.reset)


class TestThreadCheckin(testtools.TestCase):

    def _eventlet(self, patched):
        patcher = types.ModuleType('eventlet.patcher')
        patcher.is_monkey_patched = lambda module: patched
        patch = mock.patch.dict(sys.modules, {'eventlet.patcher': patcher})
        patch.start()
        self.addCleanup(patch.stop)

    def test_off_with_os_threads(self):
        self._eventlet(False)
        self.assertFalse(pool.thread_checkin())

    def test_off_without_eventlet(self):
        with mock.patch.dict(sys.modules):
            sys.modules.pop('eventlet.patcher', None)
            self.assertFalse(pool.thread_checkin())

    def test_on_under_eventlet(self):
        self._eventlet(True)
        self.assertTrue(pool.thread_checkin())
