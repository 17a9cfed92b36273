"""The cluster stage: detach_ext on a three-node Galera cluster (behind a
failover balancer) and a three-node RabbitMQ cluster (quorum queues),
with the faults operators' clusters have.

    python -m tests.clusters.stage [--only NAME] [--keep]

Starts every node it uses (in a folder of its own under /tmp, on free
loopback ports) and removes them all at the end, also on failure.  Each
check prints PASS or FAIL with its figures; the last line is
``N passed, N failed``.  See ``.ci/cluster-stage``.
"""

import argparse
import collections
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid

from tests.clusters import balancer as balancer_mod
from tests.clusters import deploy
from tests.clusters import galera as galera_mod
from tests.clusters import ports
from tests.clusters import rabbit as rabbit_mod
from tests.functional import rows


class CheckFailed(Exception):
    pass


def expect(condition, text):
    if not condition:
        raise CheckFailed(text)


class Stage:
    """The two clusters and the balancer, shared by the checks."""

    def __init__(self, base, name, keep=False):
        self.base = base
        self.name = name
        self.keep = keep
        self.galera = galera_mod.Cluster(os.path.join(base, 'galera'),
                                         name + 'g')
        self.rabbit = rabbit_mod.Cluster(os.path.join(base, 'rabbit'),
                                         name + 'r')
        self.balancer = None

    def start(self):
        times = {}
        errors = []

        def _start(what, cluster):
            try:
                times[what] = cluster.start()
            except Exception as exc:
                errors.append('%s: %s' % (what, exc))
        threads = [threading.Thread(target=_start, args=args) for args in
                   (('galera', self.galera), ('rabbitmq', self.rabbit))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError('; '.join(errors))
        self.balancer = balancer_mod.Balancer(
            [(n.name, n.port, n.synced) for n in self.galera.nodes]).start()
        print('clusters up: galera %.0f s, rabbitmq %.0f s (started side '
              'by side); balancer on port %d'
              % (times['galera'], times['rabbitmq'], self.balancer.port),
              flush=True)

    def destroy(self, keep=False):
        if self.balancer is not None:
            self.balancer.stop()
        self.galera.destroy(remove=not keep)
        self.rabbit.destroy(remove=not keep)

    def heal(self):
        """Every node up again and in its cluster (after a check that
        failed half-way)."""
        for node in self.galera.nodes:
            if not node.alive():
                node.restart()
        for node in self.galera.nodes:
            if node.status() and node.status().get(
                    'wsrep_cluster_status') != 'Primary':
                node.isolate(False)
        self.galera.wait_size(len(self.galera.nodes), 120)
        for node in self.rabbit.nodes:
            if not node.alive():
                node.restart()
        self.rabbit.wait_running(len(self.rabbit.nodes))
        ports.wait_until(lambda: self.balancer.active() ==
                         self.galera.nodes[0].name, 10)

    # a deployment per check

    def deployment(self, label, extra=''):
        """(dep, vhost): a database through the balancer and a vhost of
        this check's own, with detach_ext's schema."""
        vhost = '%s_%s' % (label, uuid.uuid4().hex[:8])
        self.rabbit.add_vhost(vhost)
        dep = deploy.make_deployment(self.balancer.url,
                                     self.rabbit.transport_url(vhost),
                                     extra=extra)
        dep.setUp()
        return dep, vhost

    def processes(self, dep, vhost, label='services', extra=''):
        procs = deploy.ClusterProcesses(dep, self.balancer.port,
                                        self.rabbit, vhost, extra, label)
        procs.setUp()
        return procs

    def release(self, vhost, *fixtures):
        if self.keep:
            # The processes' logs and configuration, before the
            # deployment's folder goes.
            logs = os.path.join(self.base, 'logs', vhost)
            dep = fixtures[-1]
            shutil.copytree(dep.dir, logs, ignore=shutil.ignore_patterns(
                '*.sqlite'), dirs_exist_ok=True)
        for fixture in fixtures:
            try:
                fixture.cleanUp()
            except Exception:
                traceback.print_exc()
        try:
            next(n for n in self.rabbit.nodes if n.alive()).ctl(
                'delete_vhost', vhost, check=False)
        except StopIteration:
            pass


def _messages(verdict):
    return '; '.join('%s x%d' % kv for kv in verdict.messages.most_common(4))


def check_rabbit_quorum_leader_killed(stage):
    """RabbitMQ, quorum queues: the node leading the worker's queue is
    killed (kill -9) under load; every 202 is finished by the worker
    (nothing lost, no repair), every other answer is true."""
    # No periodic repair: a cast lost would show as a volume left
    # detaching.
    dep, vhost = stage.deployment(
        'rq', '[compute_worker]\nrepair_interval = 0\n')
    procs = stage.processes(dep, vhost)
    try:
        pairs = deploy.seed(dep, 120)
        procs.start_api(workers=2)
        procs.start_worker('compute-a')
        queue = 'compute.%s' % dep.host('compute-a')
        info = {q[0]: q for q in stage.rabbit.queues(
            vhost, 'name', 'type', 'leader')}
        expect(queue in info and info[queue][1] == 'quorum',
               'queue %s is not a quorum queue: %r' % (queue, info))
        leader = stage.rabbit.node_named(info[queue][2])
        load = deploy.Load([procs.port], pairs, threads=6,
                           pause=0.05).start()
        ports.wait_until(lambda: load.sent >= 40, 60)
        leader.kill()
        killed_at = load.sent
        load.join()
        state, waited = deploy.settle(dep.db.engine,
                                      [v for _s, v in pairs], 90)
        verdict = deploy.Verdict(state, load.answers)
        repaired = procs.repaired_requests()
        leader.restart()
        new_leader = {q[0]: q for q in stage.rabbit.queues(
            vhost, 'name', 'leader')}.get(queue, ['', '?'])[1]
        print('  killed leader %s after %d answers; new leader %s; %s; '
              'settled in %.0f s; finished by the repair: %d; refusals: %s'
              % (leader.nodename, killed_at, new_leader, verdict.summary(),
                 waited, len(repaired), _messages(verdict) or 'none'))
        expect(not verdict.problems, '; '.join(verdict.problems[:5]))
        expect(verdict.accepted and verdict.finished == verdict.accepted,
               '%d accepted, %d finished' % (verdict.accepted,
                                             verdict.finished))
        expect(not repaired, 'casts lost: %d detaches finished by the '
                             'repair' % len(repaired))
    finally:
        stage.release(vhost, procs, dep)
    stage.rabbit.wait_running(3)


def check_galera_node_killed_under_load(stage, query_timeout=None):
    """Galera: the node the balancer sends writes to is killed (kill -9)
    under load; every answer is classified against the database: a 202
    detached exactly once, a 503 true to its message, none over the
    bound, no 500.

    :param query_timeout: ``[detach_ext_database] query_timeout``; when
        given (above Galera's stall), no statement of the API may time
        out: the stall is waited out, and no answer says its outcome is
        unknown.  (A COMMIT sent to the node as it dies is still lost
        with its connection, and answered from what is read back.)
    """
    extra = ''
    if query_timeout:
        extra = '[detach_ext_database]\nquery_timeout = %s\n' % (
            query_timeout)
    dep, vhost = stage.deployment('gk', extra)
    procs = stage.processes(dep, vhost)
    try:
        pairs = deploy.seed(dep, 160)
        procs.start_api(workers=2)
        procs.start_worker('compute-a')
        victim = stage.galera.nodes[0]
        ports.wait_until(lambda: stage.balancer.active() == victim.name, 10)
        expect(stage.balancer.active() == victim.name,
               'the balancer writes to %s' % stage.balancer.active())
        before = stage.galera.conflicts()
        load = deploy.Load([procs.port], pairs, threads=8,
                           pause=0.1).start()
        ports.wait_until(lambda: load.sent >= 40, 60)
        victim.kill()
        killed_at = load.sent
        kill_time = time.monotonic()
        load.join()
        # The answers of requests begun within 10 s of the kill.
        after_kill = [a for a in load.answers
                      if kill_time - 1 <= a.started <= kill_time + 10]
        victim.restart()
        state, waited = deploy.settle(
            dep.db.engine, [v for _s, v in pairs],
            deploy.REPAIR_AGE + deploy.REPAIR_INTERVAL + 60)
        verdict = deploy.Verdict(state, load.answers)
        repaired = procs.repaired_requests()
        timed_out = procs.timed_out_requests()
        stage.galera.wait_size(3, 120)
        after = stage.galera.conflicts()
        print('  killed %s after %d answers; around the kill: %s; %s; '
              'settled in %.0f s; finished by the repair: %d; requests '
              'whose statement timed out: %d; refusals: %s; conflicts '
              '(cert failures, bf aborts) %r -> %r'
              % (victim.name, killed_at, dict(collections.Counter(
                  a.status for a in after_kill)), verdict.summary(), waited,
                 len(repaired), len(timed_out), _messages(verdict) or 'none',
                 before, after))
        expect(not verdict.problems, '; '.join(verdict.problems[:5]))
        expect(verdict.accepted, 'nothing accepted')
        if query_timeout:
            expect(not timed_out, '%d requests met a statement timeout '
                                  'with query_timeout %s' % (
                                      len(timed_out), query_timeout))
            unknown = [m for m in verdict.messages
                       if deploy.claimed(m) == deploy.EITHER]
            expect(not unknown, 'outcomes unknown: %r' % unknown)
    finally:
        stage.release(vhost, procs, dep)


def check_galera_node_killed_query_timeout_above_stall(stage):
    """The same with query_timeout = 10 s, above Galera's stall (5-6 s),
    as the operators' page advises: every request waits the stall
    out."""
    check_galera_node_killed_under_load(stage, query_timeout=10)


def check_galera_isolated_node(stage):
    """Galera: the node an API process uses is cut off the group
    (gmcast.isolate) under load: its answers are JSON 503s, never 500,
    each true to its message; after it rejoins detaches go through."""
    dep, vhost = stage.deployment('gi')
    procs = stage.processes(dep, vhost)
    node = stage.galera.nodes[2]
    isolated = False
    try:
        pairs = deploy.seed(dep, 80)
        # The API on node 3 directly; the worker through the balancer.
        api_conf = procs.write_conf('services-api-node3', node.port)
        procs.conf_path, worker_conf = api_conf, procs.conf_path
        procs.start_api(workers=2)
        procs.conf_path = worker_conf
        procs.start_worker('compute-a')
        load = deploy.Load([procs.port], pairs, threads=4,
                           pause=0.2).start()
        ports.wait_until(lambda: load.sent >= 10, 60)
        node.isolate()
        isolated = True
        cut_time = time.monotonic()
        lost_quorum = ports.wait_until(lambda: (node.status() or {}).get(
            'wsrep_cluster_status') not in (None, 'Primary'), 30)
        time.sleep(8)
        node.isolate(False)
        isolated = False
        back_time = time.monotonic()
        load.join()
        stage.galera.wait_size(3, 120)
        state, waited = deploy.settle(
            dep.db.engine, [v for _s, v in pairs],
            deploy.REPAIR_AGE + deploy.REPAIR_INTERVAL + 60)
        verdict = deploy.Verdict(state, load.answers)
        during = collections.Counter(
            a.status for a in load.answers
            if cut_time <= a.started and a.started + a.elapsed <= back_time)
        print('  %s isolated for %.0f s (non-Primary seen: %s); answers '
              'while cut off: %s; %s; settled in %.0f s; refusals: %s'
              % (node.name, back_time - cut_time, bool(lost_quorum),
                 dict(during), verdict.summary(), waited,
                 _messages(verdict) or 'none'))
        expect(lost_quorum, 'the node never left the Primary component')
        expect(not verdict.problems, '; '.join(verdict.problems[:5]))
        expect(during.get(503), 'no 503 while the node was cut off')
        expect(set(during) <= {503}, 'answers while cut off: %r'
               % dict(during))
    finally:
        if isolated:
            node.isolate(False)
        stage.release(vhost, procs, dep)


def check_galera_exactly_once_two_nodes(stage, rounds=6, callers=100):
    """Galera: 100 DELETEs of one attachment released at one instant
    (a barrier), half to an API on node 1, half to one on node 2: one
    202, one detach; the certification conflicts (deadlocks at COMMIT)
    of the two nodes writing at once are counted."""
    dep, vhost = stage.deployment('eo')
    procs_a = stage.processes(dep, vhost, 'node1')
    procs_b = stage.processes(dep, vhost, 'node2')
    try:
        for procs, node in ((procs_a, stage.galera.nodes[0]),
                            (procs_b, stage.galera.nodes[1])):
            procs.conf_path = procs.write_conf(procs.label, node.port)
            procs.start_api(workers=1, threads=50)
        procs_a.conf_path = procs_a.write_conf('worker', stage.balancer.port)
        procs_a.start_worker('compute-a')
        server = dep.add_server(host='compute-a')
        # Warm both APIs (database pools, broker connections).
        for procs in (procs_a, procs_b):
            warm = deploy.run_parallel(
                [lambda p=procs: deploy.detach(p.port, server,
                                               dep.add_volume(server))
                 for _ in range(8)])
            expect({a.status for a in warm} == {202}, 'warm-up: %r' % [
                (a.status, a.message) for a in warm])
        before = stage.galera.conflicts()
        codes = collections.Counter()
        bad = []
        for _ in range(rounds):
            volume = dep.add_volume(server)
            answers = deploy.run_parallel(
                [lambda i=i: deploy.detach(
                    (procs_a, procs_b)[i % 2].port, server, volume)
                 for i in range(callers)])
            codes.update(a.status for a in answers)
            accepted = [a.request_id for a in answers if a.status == 202]
            others = collections.Counter(
                a.status for a in answers if a.status != 202)
            state, _waited = deploy.settle(dep.db.engine, [volume], 60)
            found = rows.verdict(state, server, volume, accepted)
            if len(accepted) != 1 or found != rows.DETACHED or set(
                    others) - {400, 404}:
                bad.append('volume %s: %d accepted, %s, others %r %r' % (
                    volume, len(accepted), found, dict(others), sorted({
                        a.message for a in answers
                        if a.status not in (202, 400, 404)})[:3]))
        after = stage.galera.conflicts()
        conflicts = sum(after[n][0] - before[n][0] + after[n][1] -
                        before[n][1] for n in after)
        per_node = {n: (after[n][0] - before[n][0],
                        after[n][1] - before[n][1]) for n in after}
        print('  %d rounds of %d callers over 2 nodes: answers %s; '
              'certification conflicts seen: %d (per node, cert failures '
              'and bf aborts: %r)' % (rounds, callers, dict(codes),
                                      conflicts, per_node))
        expect(not bad, '; '.join(bad[:3]))
        expect(conflicts, 'no certification conflict: the two nodes did '
                          'not write at once')
    finally:
        stage.release(vhost, procs_a, procs_b, dep)


CHECKS = [
    ('rabbitmq quorum queues, leader killed under load: every 202 '
     'finished', check_rabbit_quorum_leader_killed),
    ('galera node killed under load: every answer classified',
     check_galera_node_killed_under_load),
    ('galera node killed under load, query_timeout 10 s: the stall '
     'waited out',
     check_galera_node_killed_query_timeout_above_stall),
    ('galera node isolated: JSON 503, never 500',
     check_galera_isolated_node),
    ('galera exactly once at 100-way through two nodes',
     check_galera_exactly_once_two_nodes),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', action='append',
                        help='run only the checks whose function name '
                             'contains this')
    parser.add_argument('--keep', action='store_true',
                        help='keep the folder of logs (nodes are stopped)')
    parser.add_argument('--base',
                        help='an empty folder for the nodes (default: a '
                             'new one under the temporary folder)')
    args = parser.parse_args(argv)
    # Stopped (CI's timeout, ^C): the nodes are removed on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    started = time.monotonic()
    base = args.base or tempfile.mkdtemp(prefix='detach-ext-clusters-')
    # The Galera nodes run as mysql and must reach their folders.
    os.chmod(base, 0o755)
    print('cluster stage in %s' % base, flush=True)
    stage = Stage(base, 'dxc%d' % os.getpid(), args.keep)
    passed = failed = 0
    try:
        stage.start()
    except Exception as exc:
        print('FAIL starting the clusters: %s' % exc)
        stage.destroy(args.keep)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        print('0 passed, %d failed' % len(CHECKS))
        return 1
    try:
        for title, check in CHECKS:
            if args.only and not any(o in check.__name__
                                     for o in args.only):
                continue
            t = time.monotonic()
            try:
                check(stage)
            except Exception as exc:
                failed += 1
                detail = (str(exc) if isinstance(exc, CheckFailed)
                          else traceback.format_exc())
                print('FAIL %s (%.0f s): %s' % (title, time.monotonic() - t,
                                                detail), flush=True)
                try:
                    stage.heal()
                except Exception as heal_exc:
                    print('  could not heal the clusters: %s' % heal_exc)
            else:
                passed += 1
                print('PASS %s (%.0f s)' % (title, time.monotonic() - t),
                      flush=True)
    finally:
        stage.destroy(args.keep)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print('cluster stage took %.0f s' % (time.monotonic() - started))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
