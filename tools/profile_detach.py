#!/usr/bin/env python3
"""Profile one detach in process and list what it sends to the database.

Seeds a Nova-shaped database (tools/detach_bench/seed.py) on a real
server, loads the shipped api-paste.ini (noauth2) with the in-process
``fake://`` message bus, sends DELETEs through the paste app, and prints:

* every statement of one warm detach (SQLAlchemy ``before_cursor_execute``),
  with the transactions' COMMITs and ROLLBACKs (engine events);
* on MariaDB, every round trip PyMySQL makes (COM_QUERY, COM_PING ...),
  which also shows what oslo.db and the pool add: pre-ping, reset on
  return, session settings;
* the top functions of cProfile over ``--requests`` detaches, by own
  time and by cumulative time.

    .venv/bin/python tools/profile_detach.py \\
        --db mysql+pymysql://root@127.0.0.1:3306 [--servers 20000]

Prints figures; asserts nothing.  Drops its database afterwards.
"""

import argparse
import collections
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from paste import deploy as paste_deploy  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import webob  # noqa: E402

from detach_bench import seed  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASTE_INI = os.path.join(REPO, 'etc', 'detach_ext', 'api-paste.ini')


class Recorder:
    """What reaches the database: statements, transaction ends, and (for
    PyMySQL) every command on the wire."""

    def __init__(self):
        self.events = []
        self.on = False
        sa.event.listen(sa.engine.Engine, 'before_cursor_execute',
                        self._statement)
        sa.event.listen(sa.engine.Engine, 'commit', self._commit)
        sa.event.listen(sa.engine.Engine, 'rollback', self._rollback)
        self._patch_pymysql()

    def _statement(self, conn, cursor, statement, params, context, many):
        if self.on:
            self.events.append(('sql', ' '.join(statement.split())))

    def _commit(self, conn):
        if self.on:
            self.events.append(('sql', 'COMMIT (engine event)'))

    def _rollback(self, conn):
        if self.on:
            self.events.append(('sql', 'ROLLBACK (engine event)'))

    def _patch_pymysql(self):
        try:
            from pymysql import connections
        except ImportError:
            return
        names = {v: k for k, v in vars(connections.COMMAND).items()
                 if k.startswith('COM_')}
        real = connections.Connection._execute_command
        recorder = self

        def _execute_command(conn, command, sql):
            if recorder.on:
                text = sql.decode() if isinstance(sql, bytes) else sql
                recorder.events.append(
                    ('wire', '%s %s' % (names.get(command, command),
                                        ' '.join(text.split())[:150])))
            return real(conn, command, sql)
        connections.Connection._execute_command = _execute_command

    def take(self):
        events, self.events = self.events, []
        return events


def by_package(stats):
    """Own time of the profiled functions summed by installed package
    (builtins by name)."""
    totals = collections.Counter()
    for (path, _, func), (_, _, own, _, _) in stats.stats.items():
        if 'site-packages/' in path:
            key = path.split('site-packages/')[1].split('/')[0]
        elif '/detach_ext/' in path:
            key = 'detach_ext'
        elif path == '~':
            key = func
        else:
            key = 'stdlib ' + os.path.basename(path)
        totals[key] += own
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', required=True,
                        help='database server URL without a database')
    parser.add_argument('--servers', type=int, default=20000)
    parser.add_argument('--requests', type=int, default=500)
    parser.add_argument('--top', type=int, default=30)
    parser.add_argument('--pstats', help='also save the profile here')
    args = parser.parse_args()

    url = sa.engine.make_url(args.db)
    postgres = url.get_backend_name() == 'postgresql'
    if not postgres:
        url = url.update_query_dict({'charset': 'utf8mb4'})
    admin = sa.create_engine(url.set(database='postgres' if postgres
                                     else None),
                             isolation_level='AUTOCOMMIT',
                             poolclass=sa.pool.NullPool)
    name = 'detach_ext_prof_%s' % uuid.uuid4().hex[:8]
    with admin.connect() as c:
        c.exec_driver_sql('CREATE DATABASE %s' % name)
    db_url = url.set(database=name).render_as_string(hide_password=False)
    workdir = tempfile.mkdtemp(prefix='detach-profile-')
    conf_path = os.path.join(workdir, 'detach_ext.conf')
    with open(conf_path, 'w') as f:
        f.write('[DEFAULT]\ntransport_url = fake://\n'
                '[database]\nconnection = %s\n' % db_url)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        from detach_ext.db import migration
        seed.create_schema(engine)
        migration.db_sync(engine)
        salt = uuid.uuid4().hex[:8]
        count = args.requests + 3
        took = seed.seed(engine, args.servers, count, salt,
                         log=lambda *a: None)
        print('seeded %d Nova-shaped servers in %.1f s'
              % (args.servers, took))
        app = paste_deploy.loadapp('config:' + PASTE_INI, name='noauth2',
                                   global_conf={'config_file': conf_path})
        token = 'bench:' + seed.PROJECT
        targets = iter(seed.targets(salt, count))

        def detach():
            server, volume = next(targets)
            req = webob.Request.blank(
                '/v2/%s/servers/%s/os-volume_attachments/%s' % (
                    seed.PROJECT, server, volume),
                method='DELETE', headers={'X-Auth-Token': token})
            return req.get_response(app).status_int

        recorder = Recorder()
        statuses = collections.Counter([detach(), detach()])  # warm up
        recorder.on = True
        statuses[detach()] += 1
        recorder.on = False
        events = recorder.take()
        sql = [text for kind, text in events if kind == 'sql']
        wire = [text for kind, text in events if kind == 'wire']
        print('\nOne warm detach (answer %s):' % dict(statuses))
        print('  SQLAlchemy statements and transaction ends: %d' % len(sql))
        for text in sql:
            print('    ' + text[:160])
        if wire:
            kinds = collections.Counter(
                'COM_QUERY ' + t.split()[1].upper()
                if t.startswith('COM_QUERY') else t.split()[0]
                for t in wire)
            print('  PyMySQL round trips: %d %s' % (len(wire), dict(kinds)))
            for text in wire:
                print('    ' + text)

        start = time.process_time()
        wall = time.perf_counter()
        half = args.requests // 2
        for _ in range(half):
            statuses[detach()] += 1
        print('\n%d detaches in process, no profiler: %.2f ms CPU and '
              '%.2f ms wall per detach' % (
                  half, 1000 * (time.process_time() - start) / half,
                  1000 * (time.perf_counter() - wall) / half))
        # CPU time, not wall time: waiting for the database is not a cost
        # of this process.
        profile = cProfile.Profile(time.process_time)
        start = time.process_time()
        wall = time.perf_counter()
        profile.enable()
        for _ in range(args.requests - half):
            statuses[detach()] += 1
        profile.disable()
        profiled = args.requests - half
        cpu = time.process_time() - start
        print('%d detaches under cProfile (CPU timer): %.2f ms CPU per '
              'detach; answers %s' % (profiled, 1000 * cpu / profiled,
                                      dict(statuses)))
        stats = pstats.Stats(profile)
        print('\nOwn CPU time by package, ms per detach:')
        for package, seconds in by_package(stats).most_common(
                args.top // 2):
            print("  %-34s %6.2f" % (package, 1000 * seconds / profiled))
        if args.pstats:
            stats.dump_stats(args.pstats)
        stats.sort_stats('tottime').print_stats(args.top)
        stats.sort_stats('cumulative').print_stats(args.top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql('DROP DATABASE %s%s' % (
                name, ' WITH (FORCE)' if postgres else ''))


if __name__ == '__main__':
    main()
