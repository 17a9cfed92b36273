"""The pool settings detach_ext gives the engines oslo.db creates
(detach_ext.db.pool, a SQLAlchemy plugin).  What reaches a real server:
tests/functional/test_pool.py and test_sql_count.py."""

import sys
import types
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.pool import base as pool_base
import testtools

from detach_ext.db import pool


class TestPoolPlugin(testtools.TestCase):
    """The pool settings reach SQLAlchemy through its public plugin hook,
    named in the URL (as detach_ext.db.api.engine_options names it)."""

    def _engine(self, url, ping_after_idle=1.0):
        # create_engine() does not connect.  oslo.db asks for pre-ping.
        engine = sa.create_engine(
            '%s?%s' % (url, pool.url_parameters(ping_after_idle)),
            pool_pre_ping=True)
        self.addCleanup(engine.dispose)
        return engine

    def test_server_pool_pings_when_idle_and_resets_what_is_open(self):
        engine = self._engine('mysql+pymysql://nobody@127.0.0.1:1/none')
        # What the pool was made with (read back from SQLAlchemy's private
        # attributes only here, to see that the public hook took effect;
        # the round trips themselves: tests/functional/test_sql_count.py).
        self.assertIs(False, engine.pool._pre_ping)
        self.assertIs(pool_base.reset_none, engine.pool._reset_on_return)
        self.assertTrue(engine.pool.dispatch.checkout)
        self.assertTrue(engine.pool.dispatch.reset)

    def test_the_driver_never_sees_the_plugins_parameters(self):
        engine = self._engine('mysql+pymysql://nobody@127.0.0.1:1/none')
        self.assertEqual({}, dict(engine.url.query))
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self.assertNotIn(pool.PING_AFTER_IDLE, kwargs)
        self.assertNotIn('plugin', kwargs)

    def test_ping_after_idle_0_keeps_pre_ping(self):
        engine = self._engine('postgresql+psycopg2://nobody@127.0.0.1:1/x',
                              ping_after_idle=0)
        self.assertIs(True, engine.pool._pre_ping)
        self.assertIs(pool_base.reset_none, engine.pool._reset_on_return)

    def test_sqlite_untouched(self):
        engine = self._engine('sqlite://')
        self.assertIs(True, engine.pool._pre_ping)
        self.assertIsNot(pool_base.reset_none, engine.pool._reset_on_return)
        self.assertFalse(engine.pool.dispatch.reset)

    def test_no_private_attribute_of_sqlalchemy_is_set(self):
        with open(pool.__file__) as f:
            source = f.read()
        for name in ('._pre_ping', '._reset_on_return', 'pool_base'):
            self.assertNotIn(name, source)


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
