#!/usr/bin/env python3
"""A soak of detach_ext as deployed, with faults during the run.

gunicorn (two workers) and two detach-ext-compute processes on a database
server and RabbitMQ, each reached through a TCP proxy, on loopback only.
Sends REQUESTS mixed requests from a few threads (detaches of distinct
attachments and of ones asked before, GETs, bad requests, other methods);
during the run it kills one compute worker with SIGKILL (and starts it
again) and stalls the broker for a few seconds.  Then it waits, bounded,
for every detach to settle (the workers' repair finishes the detaches a
killed worker lost) and checks every volume row by row:

* a DELETE answered 202: detached exactly once (volume available, its
  mapping soft-deleted, one action of that request with one finished
  compute_detach_volume Success event);
* no 202: still attached (volume in-use, mapping live) -- or detached if
  an answer was lost (the connection closed before an answer came);
* no answer slower than the documented bound (doc/source/admin/faults.rst).

Prints requests sent, accepted, completed, failed by code, stuck (must be
0), the processes' memory before and after, and the times; exits 1 if a
volume is stuck or the invariant breaks.  Creates its own database and
RabbitMQ vhost and removes them (and its processes) at the end.

    .venv/bin/python tools/soak.py [--db-url URL] [--rabbit URL]
        [--requests 10000] [--threads 8]
"""

import argparse
import collections
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The documented bound of an answer (doc/source/admin/faults.rst): with
# the default timeouts a detach answers within about 20 s whatever stalls.
BOUND = 20.0
SERVERS_PER_HOST = 50
HOSTS = ('compute-a', 'compute-b')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db-url',
                        default='mysql+pymysql://root@127.0.0.1:3306',
                        help='a database server, without a database name')
    parser.add_argument('--rabbit',
                        default='rabbit://guest:guest@127.0.0.1:5672/')
    parser.add_argument('--requests', type=int, default=10000)
    parser.add_argument('--threads', type=int, default=8)
    # Longer than [compute_rpc] cast_timeout (8 s): casts meet it (503).
    parser.add_argument('--stall', type=float, default=12.0,
                        help='seconds the broker stalls')
    parser.add_argument('--settle', type=float, default=120.0,
                        help='seconds to wait at most for the detaches to '
                             'settle after the run')
    parser.add_argument('--seed', type=int, default=1)
    return parser.parse_args()


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def memory(procs):
    """RSS in MiB: the API (gunicorn master and workers) and each compute
    worker."""
    api = procs.procs['api'].pid
    figures = {'api': sum(rss_kib(p) for p in [api] + children(api))}
    for name, proc in procs.procs.items():
        if name.startswith('worker') and proc.poll() is None:
            figures[name] = rss_kib(proc.pid)
    return ', '.join('%s %.0f MiB' % (k, v / 1024.0)
                     for k, v in sorted(figures.items()))


def seed(dep, ff, models, sa, count):
    """``count`` attached volumes over the servers of both hosts; returns
    [(server, volume)]."""
    servers = [dep.add_server(host=host) for host in HOSTS
               for _ in range(SERVERS_PER_HOST)]
    pairs = [(servers[i % len(servers)], str(uuid.uuid4()))
             for i in range(count)]
    with dep.db.engine.begin() as conn:
        conn.execute(sa.insert(models.Volume.__table__), [
            {'id': v, 'project_id': ff.PROJECT, 'status': 'in-use'}
            for _s, v in pairs])
        conn.execute(sa.insert(models.BlockDeviceMapping.__table__), [
            {'uuid': str(uuid.uuid4()), 'instance_uuid': s, 'volume_id': v,
             'attachment_id': str(uuid.uuid4()), 'device_name': '/dev/vdb',
             'source_type': 'volume', 'destination_type': 'volume',
             'connection_info': '{}', 'deleted': 0,
             'delete_on_termination': False}
            for s, v in pairs])
    return servers, pairs


class Client:
    """Sends the mixed requests and records every answer."""

    def __init__(self, port, ff, servers, pairs, total, rnd):
        self.base = 'http://127.0.0.1:%d' % port
        self.ff = ff
        self.servers = servers
        self.fresh = list(pairs)
        rnd.shuffle(self.fresh)
        self.asked = []
        self.total = total
        self.rnd = rnd
        self.lock = threading.Lock()
        self.sent = 0
        self.codes = collections.Counter()
        self.slowest = 0.0
        # volume -> [(status or None, request id)]
        self.detaches = collections.defaultdict(list)
        self.where = {}

    def _send(self, path, method, token):
        headers = {'Accept': 'application/json'}
        if token:
            headers['X-Auth-Token'] = token
        req = urllib.request.Request(self.base + path, method=method,
                                     headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                response.read()
                status, rid = response.status, response.headers.get(
                    'x-openstack-request-id')
        except urllib.error.HTTPError as error:
            error.read()
            status, rid = error.code, error.headers.get(
                'x-openstack-request-id')
        except OSError:
            status, rid = None, None  # the answer was lost
        elapsed = time.monotonic() - started
        with self.lock:
            self.codes[status] += 1
            self.slowest = max(self.slowest, elapsed)
        return status, rid

    def _item(self, project, server, volume):
        return '/v2/%s/servers/%s/os-volume_attachments/%s' % (
            project, server, volume)

    def one(self):
        """Send one request of the mix; False when all are sent."""
        ff = self.ff
        token = 'demo:' + ff.PROJECT
        with self.lock:
            if self.sent >= self.total:
                return False
            self.sent += 1
            roll = self.rnd.random()
            pair = None
            if roll < 0.5 and self.fresh:
                pair = self.fresh.pop()
                self.asked.append(pair)
            elif roll < 0.65 and self.asked:
                pair = self.rnd.choice(self.asked)
            server = self.rnd.choice(self.servers)
            kind = self.rnd.random()
        if pair is not None:
            server, volume = pair
            self.where[volume] = server
            status, rid = self._send(self._item(ff.PROJECT, server, volume),
                                     'DELETE', token)
            with self.lock:
                self.detaches[volume].append((status, rid))
            return True
        if roll < 0.8:  # reads
            path = ('/v2/%s/servers/%s/os-volume_attachments' % (
                ff.PROJECT, server) if kind < 0.6 else
                '/v2.1' if kind < 0.8 else '/')
            self._send(path, 'GET', token)
        elif roll < 0.9:  # bad requests
            choices = [
                (self._item(ff.PROJECT, 'not-a-uuid', uuid.uuid4()), token),
                (self._item(ff.PROJECT, uuid.uuid4(), uuid.uuid4()), token),
                (self._item(ff.OTHER_PROJECT, server, uuid.uuid4()), token),
                (self._item(ff.PROJECT, server, uuid.uuid4()), token),
                (self._item(ff.PROJECT, server, uuid.uuid4()), None),
            ]
            path, tok = choices[int(kind * len(choices))]
            self._send(path, 'DELETE', tok)
        else:  # other methods on the item
            method = ('PUT', 'POST', 'PATCH')[int(kind * 3)]
            self._send(self._item(ff.PROJECT, server, uuid.uuid4()), method,
                       token)
        return True


def main():
    args = parse_args()
    os.environ['DETACH_EXT_TEST_DB_URL'] = args.db_url
    os.environ['DETACH_EXT_TEST_TRANSPORT_URL'] = args.rabbit
    sys.path.insert(0, ROOT)
    import sqlalchemy as sa

    from detach_ext.db import models
    from tests.functional import fixtures as ff
    from tests.functional import rows
    from tests.functional import test_processes

    rnd = random.Random(args.seed)
    vhost = ff.RabbitVhost()
    vhost.setUp()
    try:
        dep = ff.Deployment(transport_url=vhost.url, auto_delete=False)
        dep.setUp()
        try:
            procs = test_processes.Processes(dep, extra_conf=(
                '[reference_driver]\ndetach_delay = 0.2\n'
                '[compute_worker]\nrepair_interval = 2\n'
                # Above the longest time a detach in flight can take before
                # its action is recorded and its cast sent (BOUND).
                'repair_age = 30\n'))
            procs.setUp()
            try:
                return soak(args, rnd, dep, procs, ff, rows, models, sa)
            finally:
                procs.cleanUp()
        finally:
            dep.cleanUp()
    finally:
        vhost.cleanUp()


def soak(args, rnd, dep, procs, ff, rows, models, sa):
    started = time.monotonic()
    servers, pairs = seed(dep, ff, models, sa, args.requests * 6 // 10)
    procs.start_api(workers=2)
    for host in HOSTS:
        procs.start_worker(host)
    print('seeded %d attached volumes on %d servers in %.0f s'
          % (len(pairs), len(servers), time.monotonic() - started),
          flush=True)
    mem_before = memory(procs)
    client = Client(procs.port, ff, servers, pairs, args.requests, rnd)

    def faults():
        # Kill compute-a's worker a quarter of the way in, start it again
        # three seconds later; stall the broker half way.
        while client.sent < args.requests // 4:
            time.sleep(0.05)
        victim = procs.procs['worker-compute-a']
        victim.kill()
        victim.wait(10)
        print('killed worker-compute-a (pid %d) after %d requests'
              % (victim.pid, client.sent), flush=True)
        time.sleep(3)
        procs.start_worker('compute-a', name='worker-compute-a-2')
        while client.sent < args.requests // 2:
            time.sleep(0.05)
        print('broker stalled after %d requests' % client.sent, flush=True)
        procs.bus_proxy.stall()
        time.sleep(args.stall)
        procs.bus_proxy.resume()
        print('broker resumed after %d requests' % client.sent, flush=True)

    def sender():
        while client.one():
            pass

    run_started = time.monotonic()
    threads = [threading.Thread(target=faults, daemon=True)] + [
        threading.Thread(target=sender) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join()
    threads[0].join(60)
    run_time = time.monotonic() - run_started

    # Settle: nothing left detaching (bounded).
    settle_started = time.monotonic()
    asked = set(client.detaches)
    while time.monotonic() - settle_started < args.settle:
        state = rows.read(dep.db.engine)
        if not any(state['volumes'][v] == 'detaching' for v in asked):
            break
        time.sleep(1)
    settle_time = time.monotonic() - settle_started
    state = rows.read(dep.db.engine)

    accepted = completed = lost_detached = 0
    stuck = []
    broken = []
    for volume, answers in client.detaches.items():
        server = client.where[volume]
        ok = [rid for status, rid in answers if status == 202]
        accepted += len(ok)
        found = rows.verdict(state, server, volume, ok)
        if found == rows.DETACHED:
            if ok:
                completed += 1
            elif any(status is None for status, _rid in answers):
                lost_detached += 1
            else:
                broken.append('%s detached without a 202: %r'
                              % (volume, answers))
        elif found == rows.ATTACHED:
            if ok:
                broken.append('%s still attached after a 202' % volume)
        elif state['volumes'].get(volume) == 'detaching':
            stuck.append(volume)
        else:
            broken.append(found)
    # Volumes no request named are untouched.
    for server, volume in pairs:
        if volume not in asked and rows.verdict(
                state, server, volume) != rows.ATTACHED:
            broken.append('%s changed without a request' % volume)
    actions = sum(len(a) for a in state['actions'].values())
    if actions != accepted + lost_detached:
        broken.append('%d instance actions for %d accepted detaches'
                      % (actions, accepted + lost_detached))
    if client.slowest > BOUND:
        broken.append('an answer took %.1f s (bound %.0f s)'
                      % (client.slowest, BOUND))
    failed = {code: n for code, n in client.codes.items()
              if code is None or code >= 400}
    print('requests sent: %d in %.0f s (%.0f/s, %d threads); slowest '
          'answer %.1f s (bound %.0f s)' % (
              client.sent, run_time, client.sent / run_time, args.threads,
              client.slowest, BOUND))
    print('answers: %s' % ', '.join(
        '%s x%d' % (code or 'lost', n) for code, n in sorted(
            client.codes.items(), key=lambda kv: kv[0] or 0)))
    print('accepted (202): %d' % accepted)
    print('completed (detached, row by row): %d (+%d whose answer was lost)'
          % (completed, lost_detached))
    print('failed: %s' % (', '.join('%s x%d' % (code or 'lost', n)
                                    for code, n in sorted(
                                        failed.items(),
                                        key=lambda kv: kv[0] or 0)) or '0'))
    print('stuck: %d (settled in %.0f s)' % (len(stuck), settle_time))
    print('invariant: %s' % ('holds for %d volumes asked, %d not asked'
                             % (len(asked), len(pairs) - len(asked))
                             if not broken else 'BROKEN'))
    for line in broken[:20]:
        print('  ' + line)
    print('memory before: %s' % mem_before)
    print('memory after:  %s' % memory(procs))
    print('total time: %.0f s' % (time.monotonic() - started), flush=True)
    return 1 if stuck or broken else 0


if __name__ == '__main__':
    sys.exit(main())
