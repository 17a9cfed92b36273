#!/usr/bin/env python3
"""Benchmark: detaches per second and API CPU per detach, as deployed.

Runs the API under gunicorn (2 sync workers) and one detach-ext-compute
against a real database server and RabbitMQ on this machine, seeds one
attached volume per request, and drives DELETEs from 1 and from 16
clients over keep-alive HTTP.  The same gunicorn serving a bare WSGI app
that answers 202 is measured for comparison.  Prints figures; asserts
nothing.

    .venv/bin/python tools/bench_detach.py \\
        --db mysql+pymysql://root@127.0.0.1:3306 \\
        --bus rabbit://guest:guest@127.0.0.1:5672/ [--requests 600]

It creates its own database and exchange, drops the database after, and
its queues and exchange are deleted when its processes stop.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa

from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext.db import api as db_api
from detach_ext.db import migration
from detach_ext.db import models

BIN = os.path.dirname(sys.executable)
PROJECT = 'b7a7b63e92174a95a999c95da856f143'
BARE_APP = '''
def application(environ, start_response):
    start_response('202 Accepted', [('Content-Length', '0')])
    return [b'']
'''


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process and its children (from /proc)."""
    total = 0.0
    pids = [pid] + [int(p) for p in subprocess.run(
        ['pgrep', '-P', str(pid)], capture_output=True,
        text=True).stdout.split()]
    tick = os.sysconf('SC_CLK_TCK')
    for p in pids:
        try:
            with open('/proc/%d/stat' % p) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def wait_http(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), 1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError('nothing listens on %s' % port)


def drive(port, paths, clients, token):
    """DELETE each path once, from ``clients`` threads; returns
    (seconds, latencies, statuses)."""
    queue = list(paths)
    lock = threading.Lock()
    latencies, statuses = [], {}

    def client():
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                path = queue.pop()
            start = time.perf_counter()
            conn.request('DELETE', path, headers={'X-Auth-Token': token})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(
                    response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, statuses


def report(name, clients, seconds, latencies, statuses, cpu):
    count = len(latencies)
    latencies.sort()
    print('%-34s clients=%-3d %7.1f req/s  p50 %6.1f ms  p95 %6.1f ms  '
          'API CPU %5.2f ms/req  %s' % (
              name, clients, count / seconds,
              1000 * statistics.median(latencies),
              1000 * latencies[int(0.95 * (count - 1))],
              1000 * cpu / count, json.dumps(statuses)), flush=True)


def gunicorn(port, app, env, workers=2):
    return subprocess.Popen(
        [os.path.join(BIN, 'gunicorn'), '-w', str(workers), '-b',
         '127.0.0.1:%d' % port, '--log-level', 'warning', app],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def count_round_trips(conf, server, volume):
    """Database statements of one detach, in process (same code path)."""
    from detach_ext import deploy
    from detach_ext import runtime
    import webob
    rt = runtime.Runtime(conf)
    app = deploy.loadapp(rt)
    engine = rt.db.engine
    statements = []
    sa.event.listen(engine, 'before_cursor_execute',
                    lambda *a: statements.append(a[2]))
    # The first request loads schema reflection: measure the second.
    try:
        for i, (s, v) in enumerate(((server[0], volume[0]),
                                    (server[1], volume[1]))):
            del statements[:]
            req = webob.Request.blank(
                '/v2/%s/servers/%s/os-volume_attachments/%s'
                % (PROJECT, s, v),
                method='DELETE', headers={'X-Auth-Token': 'demo:' + PROJECT})
            status = req.get_response(app).status_int
    finally:
        # Its pools let go before the DROP.
        deploy.release(rt)
    return status, len(statements)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', required=True,
                        help='database server URL without a database')
    parser.add_argument('--bus', required=True, help='rabbit:// URL')
    parser.add_argument('--requests', type=int, default=600)
    args = parser.parse_args()

    url = sa.engine.make_url(args.db)
    name = 'detach_ext_bench_%s' % uuid.uuid4().hex[:8]
    postgres = url.get_backend_name() == 'postgresql'
    admin = sa.create_engine(url.set(database='postgres' if postgres
                                     else None),
                             isolation_level='AUTOCOMMIT')
    with admin.connect() as c:
        c.execute(sa.text('CREATE DATABASE %s' % name))
    db_url = url.set(database=name).render_as_string(hide_password=False)
    workdir = tempfile.mkdtemp(prefix='detach-bench-')
    conf_path = os.path.join(workdir, 'detach_ext.conf')
    with open(conf_path, 'w') as f:
        # Queues and exchange go away with the processes.
        f.write('[DEFAULT]\ntransport_url = %s\ncontrol_exchange = %s\n'
                '[oslo_messaging_rabbit]\namqp_auto_delete = true\n'
                '[api]\npaste_pipeline = noauth2\n'
                '[database]\nconnection = %s\n' % (args.bus, name, db_url))
    procs = []
    try:
        conf = detach_conf.load(config_files=[conf_path])
        db = db_api.Database(conf)
        migration.db_sync(db.engine, create_nova=True)
        ctx = detach_context.get_admin_context()
        total = args.requests * 3 + 2
        servers, volumes = [], []
        with db.ctxmgr.writer.using(ctx) as session:
            for _ in range(total):
                servers.append(str(uuid.uuid4()))
                volumes.append(str(uuid.uuid4()))
                session.add(models.Instance(
                    uuid=servers[-1], project_id=PROJECT, user_id='demo',
                    host='bench', vm_state='active', locked=False,
                    deleted=0))
            session.flush()
            for sid, vid in zip(servers, volumes):
                session.add(models.BlockDeviceMapping(
                    instance_uuid=sid, volume_id=vid, device_name='/dev/vdb',
                    source_type='volume', destination_type='volume',
                    deleted=0))
                session.add(models.Volume(id=vid, project_id=PROJECT,
                                          status='in-use'))
        status, statements = count_round_trips(conf, servers[-2:],
                                               volumes[-2:])
        print('database statements per detach (warm): %d (answer %d)'
              % (statements, status))
        paths = ['/v2/%s/servers/%s/os-volume_attachments/%s'
                 % (PROJECT, s, v) for s, v in zip(servers, volumes)]
        env = dict(os.environ, DETACH_EXT_CONFIG_FILE=conf_path,
                   PYTHONWARNINGS='ignore::DeprecationWarning')
        worker = subprocess.Popen(
            [os.path.join(BIN, 'detach-ext-compute'), '--config-file',
             conf_path, '--host', 'bench'], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(worker)
        port = free_port()
        api = gunicorn(port, 'detach_ext.wsgi:application', env)
        procs.append(api)
        wait_http(port)
        token = 'demo:' + PROJECT
        drive(port, paths[:20], 2, token)  # warm both workers
        batches = {1: paths[20:20 + args.requests],
                   16: paths[20 + args.requests:20 + 2 * args.requests]}
        for clients, batch in batches.items():
            before = cpu_seconds(api.pid)
            seconds, latencies, statuses = drive(port, batch, clients,
                                                 token)
            report('detach_ext (gunicorn -w 2)', clients, seconds,
                   latencies, statuses, cpu_seconds(api.pid) - before)
        with open(os.path.join(workdir, 'bare.py'), 'w') as f:
            f.write(BARE_APP)
        bare_port = free_port()
        bare = gunicorn(bare_port, 'bare:application',
                        dict(env, PYTHONPATH=workdir))
        procs.append(bare)
        wait_http(bare_port)
        for clients in (1, 16):
            before = cpu_seconds(bare.pid)
            seconds, latencies, statuses = drive(
                bare_port, paths[:args.requests * 2], clients, token)
            report('bare WSGI 202 (gunicorn -w 2)', clients, seconds,
                   latencies, statuses, cpu_seconds(bare.pid) - before)
        with db.engine.connect() as c:
            done = c.execute(sa.text(
                "SELECT count(*) FROM detach_ext_volumes WHERE status = "
                "'available'")).scalar()
        print('volumes the worker finished: %d' % done)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        if 'db' in locals():
            db.dispose()
        with admin.connect() as c:
            c.execute(sa.text('DROP DATABASE %s%s' % (
                name, ' WITH (FORCE)' if postgres else '')))


if __name__ == '__main__':
    main()
