"""Statements compiled once (detach_ext.db.prepared) write what SQLAlchemy's
own execution of the same statement writes."""

import datetime

import sqlalchemy as sa
import testtools

from detach_ext.db import prepared

_metadata = sa.MetaData()
_things = sa.Table(
    'things', _metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('name', sa.String(20)), sa.Column('status', sa.String(20)),
    sa.Column('at', sa.DateTime), sa.Column('deleted', sa.Integer))

_SWAP = sa.update(_things).where(
    _things.c.name == sa.bindparam('thing'),
    _things.c.status == sa.bindparam('expected'),
    _things.c.deleted == 0,
).values(status=sa.bindparam('new'), at=sa.bindparam('now'))
_INSERT = sa.insert(_things).values(
    name=sa.bindparam('thing'), status='new', at=sa.bindparam('now'),
    deleted=0)


class TestPrepared(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = sa.create_engine('sqlite://')
        _metadata.create_all(self.engine)
        self.addCleanup(self.engine.dispose)
        self.now = datetime.datetime(2026, 12, 1, 22, 30, 0)

    def _rows(self, conn):
        return [tuple(r) for r in conn.execute(
            sa.select(_things).order_by(_things.c.id))]

    def test_insert_then_swap_as_sqlalchemy_writes_them(self):
        dialect = self.engine.dialect
        insert = prepared.Prepared(prepared.returning_id(
            _INSERT, _things, dialect), dialect, ('thing', 'now'))
        swap = prepared.Prepared(_SWAP, dialect,
                                 ('thing', 'expected', 'new', 'now'))
        with self.engine.begin() as conn:
            first = prepared.inserted_id(insert.execute(
                conn, {'thing': 'a', 'now': self.now}))
            second = prepared.inserted_id(insert.execute(
                conn, {'thing': 'b', 'now': self.now}))
            self.assertEqual((1, 2), (first, second))
            self.assertEqual(1, swap.execute(conn, {
                'thing': 'a', 'expected': 'new', 'new': 'done',
                'now': self.now + datetime.timedelta(seconds=1)}).rowcount)
            # Its condition holds no more: nothing changes.
            self.assertEqual(0, swap.execute(conn, {
                'thing': 'a', 'expected': 'new', 'new': 'again',
                'now': self.now}).rowcount)
            mine = self._rows(conn)
        other = sa.create_engine('sqlite://')
        self.addCleanup(other.dispose)
        _metadata.create_all(other)
        with other.begin() as conn:
            for thing in ('a', 'b'):
                conn.execute(_INSERT, {'thing': thing, 'now': self.now})
            conn.execute(_SWAP, {
                'thing': 'a', 'expected': 'new', 'new': 'done',
                'now': self.now + datetime.timedelta(seconds=1)})
            self.assertEqual(self._rows(conn), mine)
        # Datetimes in SQLAlchemy's SQLite text form (read back as such).
        self.assertEqual(datetime.datetime(2026, 12, 1, 22, 30, 1),
                         mine[0][3])

    def test_runs_parameters_of_its_own_only(self):
        swap = prepared.Prepared(_SWAP, self.engine.dialect,
                                 ('thing', 'expected', 'new', 'now'))
        with self.engine.begin() as conn:
            self.assertRaises(KeyError, swap.execute, conn,
                              {'thing': 'a', 'expected': 'new'})
