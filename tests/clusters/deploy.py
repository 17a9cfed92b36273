"""detach_ext deployed on the clusters: its processes, a load of detaches,
and every answer classified against the database afterwards.

Shared by the cluster stage (:mod:`tests.clusters.stage`) and the cluster
soak (``tools/cluster_soak.py``).
"""

import collections
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
import uuid

import sqlalchemy as sa

from detach_ext.db import models
from tests.functional import fixtures as ff
from tests.functional import rows
from tests.functional import test_processes

# The documented bound of an answer (README, Faults).
BOUND = 20.0

# The worker's repair in these deployments: every 2 s, of what was left
# for longer than any answer may take.
REPAIR_INTERVAL = 2
REPAIR_AGE = 25


class ClusterProcesses(test_processes.Processes):
    """gunicorn and compute workers of a deployment on the clusters, each
    role with its own database URL (a Galera node or the balancer); no
    proxies.

    :param dep: a :class:`tests.functional.fixtures.Deployment`.
    :param db_port: the port of the database its in-process runtime uses
        (the balancer's); processes may be pointed elsewhere.
    :param rabbit: the :class:`tests.clusters.rabbit.Cluster`, to see a
        worker's queue consumed.
    :param vhost: the deployment's RabbitMQ vhost.
    :param label: names this set of processes (logs, config file).
    """

    def __init__(self, dep, db_port, rabbit, vhost, extra_conf='',
                 label='services'):
        super().__init__(dep, extra_conf)
        self.db_port = db_port
        self.rabbit = rabbit
        self.vhost = vhost
        self.label = label

    def _setUp(self):
        self.procs = {}
        self.texts = {}
        self.conf_path = self.write_conf(self.label, self.db_port)

    def write_conf(self, name, db_port):
        """A configuration file of these processes whose database is at
        ``db_port``; returns its path."""
        text = self.dep.conf_text().replace(
            '127.0.0.1:%d/' % self.db_port, '127.0.0.1:%d/' % db_port)
        path = os.path.join(self.dep.dir, '%s.conf' % name)
        with open(path, 'w') as f:
            f.write(text)
            f.write('\n[api]\npaste_pipeline = noauth2\n%s\n'
                    % self.extra_conf)
        return path

    def _spawn(self, name, args):
        return super()._spawn('%s-%s' % (self.label, name), args)

    def log(self, name):
        return super().log('%s-%s' % (self.label, name))

    def consumers(self, queue):
        for found in self.rabbit.queues(self.vhost, 'name', 'consumers'):
            if found[0] == queue and found[-1].strip().isdigit():
                return int(found[-1])
        return 0

    def start_api(self, workers=2, timeout=30, threads=None):
        """gunicorn (sync workers, or ``threads`` threads each)."""
        self.port = test_processes._free_port()
        args = [os.path.join(test_processes.BIN, 'gunicorn'), '-w',
                str(workers), '-b', '127.0.0.1:%s' % self.port,
                '--graceful-timeout', '5', '--timeout', str(timeout)]
        if threads:
            args += ['-k', 'gthread', '--threads', str(threads)]
        self.procs['api'] = self._spawn('api', args + [
            'detach_ext.wsgi:application'])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                self.request('/', 'GET')
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError('gunicorn did not start:\n' + self.log('api'))

    def start_worker(self, host, name=None, conf_path=None):
        name = name or 'worker-' + host
        proc = super().start_worker(host, name, conf_path)
        self.procs[name] = proc
        return proc

    def timed_out_requests(self):
        """Request ids of the API whose statement met the database's
        silence for query_timeout (PyMySQL's read timeout), from its
        log."""
        return set(re.findall(
            r'\[None (req-[0-9a-f-]+) [^\n]*during query \(timed out\)',
            self.log('api')))

    def repaired_requests(self):
        """Request ids whose detach a worker's repair finished (from the
        workers' logs)."""
        found = set()
        for name in self.procs:
            if name.startswith('worker'):
                found.update(re.findall(
                    r'was left detaching by request (req-[0-9a-f-]+)'
                    r'[^;\n]*; finishing the detach', self.log(name)))
        return found


def make_deployment(db_url, transport_url, quorum=True, extra=''):
    """A deployment (database made on ``db_url``, schema, the in-process
    runtime) on the clusters; call ``setUp()``/``cleanUp()``."""
    ff.DB_SERVER_URL = db_url
    conf = ('[oslo_messaging_rabbit]\nrabbit_quorum_queue = %s\n'
            '[compute_worker]\nrepair_interval = %d\nrepair_age = %d\n%s'
            % (str(quorum).lower(), REPAIR_INTERVAL, REPAIR_AGE, extra))
    return ff.Deployment(transport_url=transport_url, auto_delete=False,
                         extra_conf=conf)


def seed(dep, count, host='compute-a', per_server=5):
    """``count`` attached volumes on servers of ``host``, in bulk;
    returns [(server, volume)]."""
    servers = [dep.add_server(host=host)
               for _ in range(max(1, count // per_server))]
    pairs = [(servers[i % len(servers)], str(uuid.uuid4()))
             for i in range(count)]
    with dep.db.engine.begin() as conn:
        conn.execute(sa.insert(models.Volume.__table__), [
            {'id': v, 'project_id': ff.PROJECT, 'status': 'in-use'}
            for _s, v in pairs])
        conn.execute(sa.insert(models.BlockDeviceMapping.__table__), [
            {'uuid': str(uuid.uuid4()), 'instance_uuid': s,
             'volume_id': v, 'attachment_id': str(uuid.uuid4()),
             'device_name': '/dev/vdb', 'source_type': 'volume',
             'destination_type': 'volume', 'connection_info': '{}',
             'deleted': 0, 'delete_on_termination': False}
            for s, v in pairs])
    return pairs


Answer = collections.namedtuple(
    'Answer', 'server volume status name message request_id elapsed '
              'started')


def detach(port, server, volume):
    """One DELETE; an :class:`Answer` (status None: the answer was
    lost)."""
    req = urllib.request.Request(
        'http://127.0.0.1:%d/v2/%s/servers/%s/os-volume_attachments/%s'
        % (port, ff.PROJECT, server, volume), method='DELETE',
        headers={'X-Auth-Token': 'demo:' + ff.PROJECT,
                 'Accept': 'application/json'})
    started = time.monotonic()
    status = body = rid = None
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, body = response.status, response.read()
            rid = response.headers.get('x-openstack-request-id')
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
        rid = error.headers.get('x-openstack-request-id')
    except OSError:
        pass
    elapsed = time.monotonic() - started
    name = message = None
    if body:
        try:
            name, = json.loads(body)
            message = json.loads(body)[name]['message']
        except (ValueError, TypeError, KeyError):
            name, message = 'not JSON', body[:200].decode('utf-8',
                                                          'replace')
    return Answer(server, volume, status, name, message, rid, elapsed,
                  started)


def run_parallel(funcs, timeout=120):
    """Call each of ``funcs`` in a thread of its own, all released at the
    same instant (a barrier); returns their results in order."""
    barrier = threading.Barrier(len(funcs))
    results = [None] * len(funcs)

    def _run(i):
        barrier.wait()
        results[i] = funcs[i]()
    threads = [threading.Thread(target=_run, args=(i,), daemon=True)
               for i in range(len(funcs))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    return results


class Load:
    """Detach the given volumes, one DELETE each, from ``threads``
    threads, until they run out or :meth:`stop`; every answer kept."""

    def __init__(self, ports, pairs, threads=6, pause=0.0):
        self.ports = ports
        self.todo = list(pairs)
        self.threads = threads
        self.pause = pause
        self.answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    @property
    def sent(self):
        return len(self.answers)

    def start(self):
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _run(self, i):
        port = self.ports[i % len(self.ports)]
        while not self._stop.is_set():
            with self._lock:
                if not self.todo:
                    return
                server, volume = self.todo.pop()
            answer = detach(port, server, volume)
            with self._lock:
                self.answers.append(answer)
            if self.pause:
                self._stop.wait(self.pause)

    def stop(self):
        self._stop.set()

    def join(self, timeout=300):
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0, deadline - time.monotonic()))


# A 503 that says it cannot tell whether the detach was begun: either
# end is true.
EITHER = 'attached or detached'

# What each 503 claims, by its message (README, Faults): the state its
# volume ends in.  A 503 with another message is untruthful or unknown.
# (The outcome "left detaching until an administrator sets it back" is
# Cinder's alone; the local volume backend of these deployments never
# says it.)
CLAIMS = [
    ('whether the detach was recorded before it went is unknown', EITHER),
    ('nothing was changed', rows.ATTACHED),
    ('until the repair of its compute host does it', rows.ATTACHED),
    ('the compute host will finish it', rows.DETACHED),
]


def claimed(message):
    for text, state in CLAIMS:
        if message and text in message:
            return state
    return None


def settle(engine, volumes, timeout):
    """Wait (bounded) until none of ``volumes`` is detaching; returns the
    rows and the seconds waited."""
    started = time.monotonic()
    while True:
        state = rows.read(engine)
        left = [v for v in volumes if state['volumes'].get(v) == 'detaching']
        if not left or time.monotonic() - started > timeout:
            return state, time.monotonic() - started
        time.sleep(1)


class Verdict:
    """Every answer of a load classified against the rows.

    ``counts``: answers by status (``lost`` for none); ``accepted``,
    ``finished`` (202s detached exactly once); ``stuck`` (volumes still
    detaching); ``problems``: sentences, each a broken promise.
    """

    def __init__(self, state, answers, untouched=()):
        self.counts = collections.Counter()
        self.problems = []
        self.accepted = self.finished = self.lost = 0
        self.stuck = []
        self.slowest = max((a.elapsed for a in answers), default=0.0)
        self.messages = collections.Counter()
        by_volume = collections.defaultdict(list)
        for a in answers:
            by_volume[(a.server, a.volume)].append(a)
        for (server, volume), asked in by_volume.items():
            self._volume(state, server, volume, asked)
        for server, volume in untouched:
            if rows.verdict(state, server, volume) != rows.ATTACHED:
                self.problems.append('%s changed without a request'
                                     % volume)
        if self.slowest > BOUND:
            self.problems.append('an answer took %.1f s (bound %.0f s)'
                                 % (self.slowest, BOUND))

    def _volume(self, state, server, volume, asked):
        ok = [a.request_id for a in asked if a.status == 202]
        found = rows.verdict(state, server, volume, ok)
        if state['volumes'].get(volume) == 'detaching':
            self.stuck.append(volume)
        for a in asked:
            key = 'lost' if a.status is None else a.status
            self.counts[key] += 1
            if a.status is not None and a.status >= 400:
                self.messages['%s %s' % (a.status, a.message)] += 1
        self.accepted += len(ok)
        if ok:
            if found == rows.DETACHED:
                self.finished += 1
            else:
                self.problems.append('%s answered 202: %s' % (volume, found))
            return
        if found not in (rows.ATTACHED, rows.DETACHED):
            self.problems.append(found)
            return
        # No 202: what was said must be what happened.
        for a in asked:
            if a.status is None:
                self.lost += 1
                continue  # either end is allowed: the answer was lost
            if a.status >= 500 and a.name != 'serviceUnavailable':
                self.problems.append('%s answered %s %s: %s' % (
                    volume, a.status, a.name, a.message))
                continue
            if a.status == 503:
                claim = claimed(a.message)
                if claim is None:
                    self.problems.append('%s answered 503 with a message '
                                         'that claims nothing known: %s'
                                         % (volume, a.message))
                elif claim != found and claim != EITHER:
                    self.problems.append('%s answered 503 "%s" but is %s'
                                         % (volume, a.message, found))
                continue
            if found != rows.ATTACHED and not any(
                    b.status is None or
                    claimed(b.message) in (rows.DETACHED, EITHER)
                    for b in asked):
                self.problems.append('%s answered %s but is %s' % (
                    volume, a.status, found))

    def summary(self):
        return ('answers %s; accepted %d, finished %d, stuck %d, slowest '
                '%.1f s' % (
                    ', '.join('%s x%d' % kv for kv in sorted(
                        self.counts.items(), key=lambda kv: str(kv[0]))),
                    self.accepted, self.finished, len(self.stuck),
                    self.slowest))
