#!/usr/bin/env python3
"""Benchmark: detach_ext against the same work with no framework, as deployed.

On this machine's database server and RabbitMQ, in one run:

1. seeds a Nova-shaped cell database in bulk (Nova 34's tables; per
   server 12 system_metadata rows, an info cache, an instance_extra row, a
   root and a data volume mapping; tools/detach_bench/seed.py);
2. serves three WSGI apps, each under gunicorn with 2 sync workers:
   detach_ext (``detach_ext.wsgi:application``, the noauth2 pipeline,
   casting on RabbitMQ), the same work with no framework
   (tools/detach_bench/samework.py: 1 SELECT, 1 UPDATE + 1 INSERT in one
   transaction, 1 publish with confirms of a Nova-shaped cast) and a bare
   app answering 202;
3. drives each with wrk (a new connection per request, as the issue's
   figures), at each concurrency, ``--repeat`` times, the targets
   interleaved, and prints req/s, p50/p99, API CPU per request (gunicorn
   workers, /proc), database server CPU and RabbitMQ CPU per request, the
   database's own statement counters per request, every ratio, and the
   goals of issue 10 as met / not met;
4. queues ``--worker-casts`` detaches, then starts one detach-ext-compute
   and prints completed detaches/s and its CPU per detach;
5. with ``--scale 1000,1000000``: a database of each size (servers, so
   twice as many mappings), detach_ext's latency at concurrency 1 on each.

Nobody consumes the casts while the API is measured (as in the issue);
they stay queued in a RabbitMQ vhost of this run.  Prints figures and
asserts nothing; drops its databases and vhost, stops its processes.

    .venv/bin/python tools/bench_detach.py \\
        [--db mysql+pymysql://root@127.0.0.1:3306] \\
        [--bus rabbit://guest:guest@127.0.0.1:5672/] \\
        [--servers 50000] [--duration 10] [--repeat 2] [--scale 1000,1000000]

Needs wrk (``apt-get install wrk``) and rabbitmqctl.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kombu  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from detach_bench import seed  # noqa: E402

BIN = os.path.dirname(sys.executable)
LUA = os.path.join(HERE, 'detach_bench', 'wrk_detach.lua')
TICK = os.sysconf('SC_CLK_TCK')
COUNTERS = ('Questions', 'Com_select', 'Com_insert', 'Com_update',
            'Com_commit', 'Com_rollback', 'Com_set_option')
TARGETS = ('detach_ext', 'same work', 'bare 202')
DB_COMMS = ('mariadbd', 'mysqld', 'postgres')

# Goals of issue 10.
API_CPU_MS = 4.0
DB_CPU_MS = 1.5
THROUGHPUT_RATIO = 0.5
P99_MS = 100.0
SCALE_SPREAD = 0.20
# The machine the goals were set on, as the issue measured the same-work
# function there (midpoints): API CPU, DB CPU per request, and req/s at
# c=16.  Machines differ (the same work has cost twice as much CPU on
# another machine of this kind), so each absolute goal is also printed
# scaled by what the same work costs in this run.
ISSUE_SAME_WORK_API_MS = 2.05
ISSUE_SAME_WORK_DB_MS = 0.95
ISSUE_SAME_WORK_C16_RATE = 413.0


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def proc_cpu(pid):
    """utime + stime of one process, seconds (0 if it is gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def children(pid):
    out = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def pids_named(names):
    """Processes whose command name is one of ``names`` (read from /proc;
    the database server and broker are measured, never signalled)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/comm' % entry) as f:
                    if f.read().strip() in names:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def cpu_of(pids):
    return sum(proc_cpu(p) for p in pids)


def wait_http(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), 1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError('nothing listens on port %s' % port)


def _ms(text):
    value, unit = re.match(r'([\d.]+)(us|ms|s|m)', text).groups()
    return float(value) * {'us': 0.001, 'ms': 1, 's': 1000,
                           'm': 60000}[unit]


def wrk(port, clients, duration, paths_file, token):
    """Run wrk; returns dict(requests, seconds, rate, p50, p99, non2xx,
    errors)."""
    threads = min(clients, 2)
    env = dict(os.environ, BENCH_PATHS=paths_file, BENCH_TOKEN=token,
               BENCH_THREADS=str(threads))
    out = subprocess.run(
        ['wrk', '-t', str(threads), '-c', str(clients), '-d',
         '%ds' % duration, '--timeout', '10s', '--latency', '-s', LUA,
         'http://127.0.0.1:%d' % port], env=env, capture_output=True,
        text=True, check=True).stdout
    result = {'non2xx': 0, 'errors': 0}
    m = re.search(r'(\d+) requests in ([\d.]+)(\w+)', out)
    result['requests'] = int(m.group(1))
    result['rate'] = float(re.search(r'Requests/sec:\s+([\d.]+)',
                                     out).group(1))
    for pct in ('50', '99'):
        result['p' + pct] = _ms(re.search(r'\s%s%%\s+(\S+)' % pct,
                                          out).group(1))
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if m:
        result['non2xx'] = int(m.group(1))
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), '
                  r'timeout (\d+)', out)
    if m:
        result['errors'] = sum(int(g) for g in m.groups())
    return result


class Services:
    """The database server and the broker: CPU and statement counters."""

    def __init__(self, admin_engine):
        self.admin = admin_engine
        self.mysql = admin_engine.dialect.name != 'postgresql'
        self.db_pids = pids_named(DB_COMMS)
        self.bus_pids = pids_named(('beam.smp',))

    def snapshot(self, database):
        snap = {'db_cpu': cpu_of(self.db_pids + (
            [] if self.mysql else pids_named(('postgres',)))),
            'bus_cpu': cpu_of(self.bus_pids)}
        with self.admin.connect() as c:
            if self.mysql:
                for name, value in c.exec_driver_sql(
                        'SHOW GLOBAL STATUS WHERE Variable_name IN (%s)' %
                        ','.join("'%s'" % n for n in COUNTERS)):
                    snap[name] = int(value)
            else:
                row = c.exec_driver_sql(
                    "SELECT xact_commit, xact_rollback, tup_fetched "
                    "FROM pg_stat_database WHERE datname = '%s'"
                    % database).first()
                snap.update(Com_commit=row[0], Com_rollback=row[1])
        return snap


class Gunicorn:
    def __init__(self, app, env, logfile):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [os.path.join(BIN, 'gunicorn'), '-w', '2', '-k', 'sync',
             '-b', '127.0.0.1:%d' % self.port, '--log-level', 'warning',
             app], env=env, stdout=logfile, stderr=logfile)
        wait_http(self.port)

    def workers_cpu(self):
        # The workers' own CPU, as the issue counts it (not the arbiter).
        return cpu_of(children(self.proc.pid))


def rabbitmqctl(*args, check=True):
    return subprocess.run(['rabbitmqctl'] + list(args), check=check,
                          capture_output=True, text=True).stdout


def queue_depth(vhost, queue):
    for line in rabbitmqctl('list_queues', '-p', vhost, '-q', 'name',
                            'messages').splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    return None


class Run:
    """One benchmark run: its database(s), vhost, config and processes."""

    def __init__(self, args):
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.workdir = tempfile.mkdtemp(prefix='detach-bench-')
        self.procs = []
        self.databases = []
        self.count = 0
        self.url = sa.engine.make_url(args.db)
        self.postgres = self.url.get_backend_name() == 'postgresql'
        if not self.postgres:
            self.url = self.url.update_query_dict({'charset': 'utf8mb4'})
        self.admin = sa.create_engine(
            self.url.set(database='postgres' if self.postgres else None),
            isolation_level='AUTOCOMMIT', poolclass=sa.pool.NullPool)
        self.services = Services(self.admin)
        bus = urllib.parse.urlsplit(args.bus)
        self.vhost = 'detach_ext_bench_%s' % self.tag
        rabbitmqctl('add_vhost', self.vhost)
        rabbitmqctl('set_permissions', '-p', self.vhost,
                    bus.username or 'guest', '.*', '.*', '.*')
        self.bus_url = urllib.parse.urlunsplit(bus._replace(
            path='/' + self.vhost))
        # The same broker and vhost, as kombu spells it.
        self.amqp_url = urllib.parse.urlunsplit(bus._replace(
            scheme='amqp', path='/' + self.vhost))
        self.log = open(os.path.join(self.workdir, 'processes.log'), 'w')

    # databases

    def create_database(self, servers, targets, full=None):
        self.count += 1
        name = 'detach_ext_bench_%s_%d' % (self.tag, self.count)
        with self.admin.connect() as c:
            c.exec_driver_sql('CREATE DATABASE %s%s' % (
                name, '' if self.postgres else ' CHARACTER SET utf8'))
        self.databases.append(name)
        url = self.url.set(database=name).render_as_string(
            hide_password=False)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        seed.create_schema(engine)
        conf = self.write_conf(url, name)
        subprocess.run([os.path.join(BIN, 'detach-ext-manage'),
                        '--config-file', conf, 'db', 'sync'], check=True,
                       stdout=self.log, stderr=self.log)
        salt = uuid.uuid4().hex[:8]
        took = seed.seed(engine, servers, targets, salt, full=full,
                         log=lambda *a: None)
        print('seeded %s: %d servers (%d mappings), %d of them the '
              'benchmark\'s, in %.1f s'
              % (name, servers, 2 * servers, targets, took), flush=True)
        paths = os.path.join(self.workdir, name + '.paths')
        with open(paths, 'w') as f:
            for server, volume in seed.targets(salt, targets):
                f.write('/v2/%s/servers/%s/os-volume_attachments/%s\n'
                        % (seed.PROJECT, server, volume))
        return {'name': name, 'url': url, 'engine': engine, 'conf': conf,
                'paths': paths}

    def write_conf(self, url, name):
        path = os.path.join(self.workdir, name + '.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = %s\ncontrol_exchange = nova\n'
                    '[oslo_messaging_rabbit]\namqp_auto_delete = false\n'
                    '[api]\npaste_pipeline = noauth2\n'
                    '[database]\nconnection = %s\n' % (self.bus_url, url))
        return path

    def detach_ext_env(self, db):
        return dict(os.environ, DETACH_EXT_CONFIG_FILE=db['conf'],
                    PYTHONWARNINGS='ignore::DeprecationWarning')

    def start(self, cmd, env):
        proc = subprocess.Popen(cmd, env=env, stdout=self.log,
                                stderr=self.log)
        self.procs.append(proc)
        return proc

    def gunicorn(self, app, env):
        g = Gunicorn(app, env, self.log)
        self.procs.append(g.proc)
        return g

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self, keep_log=False):
        """Stop the processes, drop the databases and the vhost; remove
        the working folder unless its log is wanted."""
        for proc in self.procs:
            self.stop(proc)
        rabbitmqctl('delete_vhost', self.vhost, check=False)
        with self.admin.connect() as c:
            for name in self.databases:
                c.exec_driver_sql('DROP DATABASE IF EXISTS %s%s' % (
                    name, ' WITH (FORCE)' if self.postgres else ''))
        self.log.close()
        if keep_log:
            print('processes\' log: %s' % self.log.name, file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # measurements

    def measure(self, name, server, db, clients, duration=None):
        duration = duration or self.args.duration
        # wrk abandons the requests in flight when a run ends; the server
        # still finishes them.  Let them end before the volumes are put
        # back in use, or one may mark a volume detaching afterwards (and
        # its next DELETE answer 400).
        time.sleep(1)
        seed.rearm(db['engine'])
        before = self.services.snapshot(db['name'])
        cpu = server.workers_cpu()
        result = wrk(server.port, clients, duration, db['paths'],
                     'bench:' + seed.PROJECT)
        result['api_cpu'] = server.workers_cpu() - cpu
        result['seconds'] = duration
        after = self.services.snapshot(db['name'])
        for key in after:
            result[key] = after[key] - before[key]
        with db['engine'].connect() as c:
            result['detaching'] = c.exec_driver_sql(
                "SELECT count(*) FROM detach_ext_volumes "
                "WHERE status = 'detaching'").scalar()
        n = max(result['requests'], 1)
        print('  %-10s c=%-3d %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  '
              'API CPU %6.2f ms  DB CPU %5.2f ms  bus CPU %5.2f ms  '
              'non-2xx %d  errors %d  volumes detaching %d' % (
                  name, clients, result['rate'], result['p50'],
                  result['p99'], 1000 * result['api_cpu'] / n,
                  1000 * result['db_cpu'] / n, 1000 * result['bus_cpu'] / n,
                  result['non2xx'], result['errors'], result['detaching']),
              flush=True)
        return result


def per_request(results, key, scale=1000.0):
    return [scale * r[key] / max(r['requests'], 1) for r in results]


def span(values, fmt='%.2f'):
    lo, hi = min(values), max(values)
    return fmt % lo if fmt % lo == fmt % hi else (fmt + '-' + fmt) % (lo, hi)


def verdict(ok):
    return 'met' if ok else 'NOT MET'


def api_phase(run, db, clients_list):
    args = run.args
    env = run.detach_ext_env(db)
    # The compute worker declares its queue and binding, then stops: the
    # casts of the measurements wait there, nobody consuming them.
    worker = run.start([os.path.join(BIN, 'detach-ext-compute'),
                        '--config-file', db['conf'], '--host',
                        seed.HOST], env)
    deadline = time.monotonic() + 60
    while queue_depth(run.vhost, 'compute.' + seed.HOST) is None:
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError('detach-ext-compute did not start; see %s'
                               % run.log.name)
        time.sleep(0.5)
    run.stop(worker)
    with kombu.Connection(run.amqp_url) as conn:
        exchange = kombu.Exchange('nova', type='topic', passive=True)
        kombu.Queue('compute.samework', exchange,
                    routing_key='compute.samework', durable=False,
                    auto_delete=False)(conn.default_channel).declare()
    servers = {
        'detach_ext': run.gunicorn('detach_ext.wsgi:application', env),
        'same work': run.gunicorn('detach_bench.samework:application', dict(
            os.environ, PYTHONPATH=HERE, BENCH_DB_URL=db['url'],
            BENCH_BUS_URL=run.amqp_url, BENCH_EXCHANGE='nova',
            BENCH_ROUTING_KEY='compute.samework')),
        'bare 202': run.gunicorn('detach_bench.bare:application',
                                 dict(os.environ, PYTHONPATH=HERE)),
    }
    # Warm each worker process (imports, pools, connections).
    for server in servers.values():
        wrk(server.port, 2, 2, db['paths'], 'bench:' + seed.PROJECT)
    results = {(t, c): [] for t in TARGETS for c in clients_list}
    for rep in range(args.repeat):
        print('repetition %d/%d (%d s per measurement)' % (
            rep + 1, args.repeat, args.duration), flush=True)
        for clients in clients_list:
            for target in TARGETS:
                results[target, clients].append(run.measure(
                    target, servers[target], db, clients))
    message_sizes = {}
    with kombu.Connection(run.amqp_url) as conn:
        for target, queue in (('detach_ext', 'compute.' + seed.HOST),
                              ('same work', 'compute.samework')):
            message = conn.default_channel.basic_get(queue, no_ack=True)
            if message is not None:
                message_sizes[target] = len(message.body)
    for server in servers.values():
        run.stop(server.proc)
    return results, message_sizes


def summary(results, clients_list, message_sizes, mysql):
    print('\nSummary (%s: median req/s and latency over repetitions; CPU '
          'per request as min-max)' % ', '.join(
              'c=%d' % c for c in clients_list))
    print('| target | c | req/s | p50 ms | p99 ms | API CPU ms/req | '
          'DB CPU ms/req (raw) | bus CPU ms/req |')
    print('|---|---|---|---|---|---|---|---|')
    # The database server also works for other clients of this machine:
    # its CPU while the bare app runs (which sends it nothing) is taken as
    # the background and subtracted, per second, from the others.
    bare = [r for c in clients_list for r in results['bare 202', c]]
    background = statistics.median(r['db_cpu'] / r['seconds']
                                   for r in bare)
    for rs in results.values():
        for r in rs:
            r['db_net'] = max(r['db_cpu'] - background * r['seconds'], 0)
    med = {}
    for clients in clients_list:
        for target in TARGETS:
            rs = results[target, clients]
            med[target, clients] = {
                'rate': statistics.median(r['rate'] for r in rs),
                'p50': statistics.median(r['p50'] for r in rs),
                'p99': statistics.median(r['p99'] for r in rs),
                'api': per_request(rs, 'api_cpu'),
                'db': per_request(rs, 'db_net'),
                'db_raw': per_request(rs, 'db_cpu'),
            }
            m = med[target, clients]
            if any(r['non2xx'] > 0.01 * r['requests'] for r in rs):
                target += ' (over 1% non-2xx: not all detaches)'
            print('| %s | %d | %.1f | %.1f | %.1f | %s | %s (%s) | %s |' % (
                target, clients, m['rate'], m['p50'], m['p99'],
                span(m['api']), span(m['db']), span(m['db_raw']),
                span(per_request(rs, 'bus_cpu'))))
    print('DB CPU less the background of other clients: %.3f CPU-s/s '
          '(measured during the bare app\'s runs)' % background)
    print('\nRatios (median req/s, same run):')
    for clients in clients_list:
        d = med['detach_ext', clients]['rate']
        s = med['same work', clients]['rate']
        b = med['bare 202', clients]['rate']
        print('  c=%-3d detach_ext / same work %.3f   detach_ext / bare '
              '%.4f   same work / bare %.3f' % (clients, d / s, d / b, s / b))
    for target in ('detach_ext', 'same work'):
        rs = [r for c in clients_list for r in results[target, c]]
        if mysql:
            parts = ['%s %.2f' % (k.replace('Com_', ''),
                                  statistics.median(per_request(rs, k, 1)))
                     for k in COUNTERS]
        else:
            parts = ['%s %.2f' % (k.replace('Com_', ''),
                                  statistics.median(per_request(rs, k, 1)))
                     for k in ('Com_commit', 'Com_rollback')]
        print('  %s, database server counters per request (whole server):'
              ' %s' % (target, ', '.join(parts)))
    if message_sizes:
        print('  cast size: %s' % ', '.join(
            '%s %d bytes' % kv for kv in message_sizes.items()))
    return med


def worker_phase(run, db, casts):
    """Queue ``casts`` detaches through detach_ext, then time one
    detach-ext-compute draining them."""
    env = run.detach_ext_env(db)
    rabbitmqctl('purge_queue', '-p', run.vhost, 'compute.' + seed.HOST)
    seed.rearm(db['engine'])
    api = run.gunicorn('detach_ext.wsgi:application', env)
    with open(db['paths']) as f:
        paths = f.read().split()[:casts]
    batch = db['paths'] + '.worker'
    with open(batch, 'w') as f:
        f.write('\n'.join(paths) + '\n')
    # wrk repeats the list once it is done: stop when every volume is
    # detaching (the repeats answer 400 and cast nothing).
    seconds = 5
    while True:
        wrk(api.port, 8, seconds, batch, 'bench:' + seed.PROJECT)
        with db['engine'].connect() as c:
            queued = c.exec_driver_sql(
                "SELECT count(*) FROM detach_ext_volumes "
                "WHERE status = 'detaching'").scalar()
        if queued >= len(paths) or seconds > 40:
            break
        seconds *= 2
    run.stop(api.proc)
    depth = queue_depth(run.vhost, 'compute.' + seed.HOST)
    worker = run.start([os.path.join(BIN, 'detach-ext-compute'),
                        '--config-file', db['conf'], '--host',
                        seed.HOST], env)
    first = first_cpu = None
    done = 0
    deadline = time.monotonic() + 300
    with db['engine'].connect() as c:
        while time.monotonic() < deadline:
            done = c.exec_driver_sql(
                "SELECT count(*) FROM detach_ext_volumes "
                "WHERE status = 'available'").scalar()
            c.rollback()
            now = time.monotonic()
            if done and first is None:
                first, first_done = now, done
                first_cpu = proc_cpu(worker.pid)
            if done >= queued:
                break
            time.sleep(0.05)
    last_cpu = proc_cpu(worker.pid)
    run.stop(worker)
    if first is None or done <= first_done:
        print('\nworker: no detach completed (%d queued); see %s'
              % (depth or 0, run.log.name))
        return None
    rate = (done - first_done) / (now - first)
    cpu = 1000 * (last_cpu - first_cpu) / (done - first_done)
    print('\nWorker (one detach-ext-compute, %d casts queued): %d '
          'completed, %.1f detaches/s, %.2f ms CPU per detach (from its '
          'first completion on)' % (depth or queued, done, rate, cpu))
    return rate, cpu


def scale_phase(run, sizes):
    """detach_ext's median p50 at concurrency 1 on a database of each
    size; short measurements, so that each detaches distinct volumes even
    on the smallest."""
    latencies = {}
    for size in sizes:
        targets = min(size, 4000)
        db = run.create_database(size, targets, full=targets)
        env = run.detach_ext_env(db)
        api = run.gunicorn('detach_ext.wsgi:application', env)
        wrk(api.port, 2, 2, db['paths'], 'bench:' + seed.PROJECT)
        latencies[size] = statistics.median(
            run.measure('detach_ext', api, db, 1, duration=3)['p50']
            for _ in range(max(run.args.repeat, 3)))
        run.stop(api.proc)
        db['engine'].dispose()
        with run.admin.connect() as c:
            c.exec_driver_sql('DROP DATABASE %s%s' % (
                db['name'], ' WITH (FORCE)' if run.postgres else ''))
        run.databases.remove(db['name'])
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', default='mysql+pymysql://root@127.0.0.1:3306',
                        help='database server URL without a database')
    parser.add_argument('--bus', default='rabbit://guest:guest@127.0.0.1:'
                        '5672/', help='rabbit:// URL of the broker')
    parser.add_argument('--servers', type=int, default=50000,
                        help='servers in the database (default 50000)')
    parser.add_argument('--targets', type=int,
                        help='servers the benchmark detaches from (default:'
                        ' all; a measurement detaches each volume at most '
                        'once, more requests answer 400 and are counted as '
                        'non-2xx)')
    parser.add_argument('--duration', type=int, default=10,
                        help='seconds per measurement (the issue: 15)')
    parser.add_argument('--repeat', type=int, default=2,
                        help='repetitions (the issue: 3)')
    parser.add_argument('--clients', default='1,16')
    parser.add_argument('--worker-casts', type=int, default=500)
    parser.add_argument('--scale', default='',
                        help='server counts to compare detach_ext latency '
                        'at, e.g. 1000,1000000')
    args = parser.parse_args()
    if shutil.which('wrk') is None:
        sys.exit('wrk is needed: apt-get install wrk')
    clients_list = [int(c) for c in args.clients.split(',')]
    sizes = [int(s) for s in args.scale.split(',') if s]

    run = Run(args)
    failed = True
    try:
        db = run.create_database(args.servers, min(
            args.targets or args.servers, args.servers))
        results, sizes_of_casts = api_phase(run, db, clients_list)
        med = summary(results, clients_list, sizes_of_casts,
                      not run.postgres)
        worker = worker_phase(run, db, args.worker_casts)
        db['engine'].dispose()
        latencies = scale_phase(run, sizes) if sizes else {}
        failed = False
    finally:
        run.close(keep_log=failed)

    if latencies:
        print('\nScale (detach_ext, c=1, p50): ' + ', '.join(
            '%d servers %.1f ms' % kv for kv in latencies.items()))
    print('\nGoals of issue 10 (this run):')
    api = [v for c in clients_list for v in med['detach_ext', c]['api']]
    dbc = [v for c in clients_list for v in med['detach_ext', c]['db']]
    same_api = statistics.median(
        v for c in clients_list for v in med['same work', c]['api'])
    same_db = statistics.median(
        v for c in clients_list for v in med['same work', c]['db'])
    top = max(clients_list)
    # How much slower than the issue's machine this one ran the same work.
    slower = {'api': same_api / ISSUE_SAME_WORK_API_MS,
              'db': same_db / ISSUE_SAME_WORK_DB_MS,
              'rate': ISSUE_SAME_WORK_C16_RATE /
              med['same work', top]['rate']}
    print('  (this machine ran the same work %.2fx the API CPU, %.2fx the '
          'DB CPU and %.2fx the c=%d time of the machine the goals were '
          'set on; "scaled" goals are the goals times that)'
          % (slower['api'], slower['db'], slower['rate'], top))
    print('  1. API CPU <= %.0f ms/detach: %s (%s); scaled <= %.2f ms: %s'
          % (API_CPU_MS, verdict(max(api) <= API_CPU_MS), span(api),
             API_CPU_MS * slower['api'],
             verdict(max(api) <= API_CPU_MS * slower['api'])))
    print('     DB CPU <= %.1f ms/detach: %s (%s); scaled <= %.2f ms: %s'
          % (DB_CPU_MS, verdict(max(dbc) <= DB_CPU_MS), span(dbc),
             DB_CPU_MS * slower['db'],
             verdict(max(dbc) <= DB_CPU_MS * slower['db'])))
    # The machine's speed drifts (a VM's neighbours): each detach_ext
    # measurement against the same work's of the same repetition, the
    # two run back to back; the goals as ratios to the issue's same work.
    for key, goal, issue, name in (
            ('api', API_CPU_MS, ISSUE_SAME_WORK_API_MS, 'API'),
            ('db', DB_CPU_MS, ISSUE_SAME_WORK_DB_MS, 'DB')):
        ratios = [d / w for c in clients_list for d, w in zip(
            med['detach_ext', c][key], med['same work', c][key]) if w]
        if ratios:
            print('     %s CPU paired with the same work of the same '
                  'repetition: %s times it (median %.2f); goal <= %.2f '
                  '(%.1f / %.2f ms): %s' % (
                      name, span(ratios), statistics.median(ratios),
                      goal / issue, goal, issue,
                      verdict(statistics.median(ratios) <= goal / issue)))
    for clients in clients_list:
        ratio = (med['detach_ext', clients]['rate'] /
                 med['same work', clients]['rate'])
        print('  2. c=%d throughput >= %.0f%% of the same work: %s (%.1f%%)'
              % (clients, 100 * THROUGHPUT_RATIO,
                 verdict(ratio >= THROUGHPUT_RATIO), 100 * ratio))
    p99 = med['detach_ext', top]['p99']
    print('     c=%d p99 <= %.0f ms: %s (%.1f ms); scaled <= %.0f ms: %s'
          % (top, P99_MS, verdict(p99 <= P99_MS), p99,
             P99_MS * slower['rate'],
             verdict(p99 <= P99_MS * slower['rate'])))
    print('  3. statements and commits: judged by '
          'tests/functional/test_sql_count.py (server counters above)')
    if len(latencies) >= 2:
        lo, hi = min(latencies.values()), max(latencies.values())
        print('  4. latency spread over %s servers < %.0f%%: %s (%.1f%%)'
              % ('/'.join(str(s) for s in latencies),
                 100 * SCALE_SPREAD, verdict((hi - lo) / lo < SCALE_SPREAD),
                 100 * (hi - lo) / lo))
    else:
        print('  4. scale: not measured (--scale 1000,1000000); query '
              'plans: tests/functional/test_sql_count.py')
    if worker:
        print('  5. worker: %.1f detaches/s, %.2f ms CPU per detach '
              '(figures, no goal)' % worker)


if __name__ == '__main__':
    main()
