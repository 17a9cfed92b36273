#!/usr/bin/env python3
"""A long soak of detach_ext on a Galera and a RabbitMQ cluster, a node of
each killed every minute.

Starts the clusters of the cluster stage (tests/clusters: three Galera
nodes behind a failover balancer, three RabbitMQ nodes, quorum queues),
gunicorn (two workers) and one detach-ext-compute per host on them, and
sends detaches of distinct attachments at a steady rate from a few
threads.  Every ``--kill-every`` seconds it kills (``kill -9``) one node
of each cluster, in turn, and starts it again ``--down`` seconds later,
so one node of each is lost every minute and the clusters keep their
quorum.  Then it waits, bounded, for the detaches to settle and
classifies every answer against the database (see
tests/clusters/deploy.py): a 202 detached exactly once, a 503 true to its
message, no 500, none over the bound.

Prints: accepted, finished by the worker, finished by the repair,
refused (by answer), answers lost, stuck, slowest answer; exits 1 if the
invariant breaks or a volume is stuck.  Removes every node at the end.

    .venv/bin/python tools/cluster_soak.py [--duration 1800]
        [--kill-every 60] [--rate 15] [--threads 6]
"""

import argparse
import collections
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = ('compute-a', 'compute-b')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--duration', type=float, default=1800,
                        help='seconds of load (default: 30 minutes)')
    parser.add_argument('--kill-every', type=float, default=60)
    parser.add_argument('--down', type=float, default=20,
                        help='seconds a killed node stays down')
    parser.add_argument('--rate', type=float, default=15,
                        help='detaches per second asked (at most)')
    parser.add_argument('--threads', type=int, default=6)
    parser.add_argument('--wsrep-sync-wait', type=int,
                        help="[database] mysql_wsrep_sync_wait of the "
                             "deployment (Galera's causality checks; 1: "
                             "reads see every commit of the cluster)")
    parser.add_argument('--keep', action='store_true',
                        help='keep the folder of logs (nodes are stopped)')
    return parser.parse_args()


class Killer:
    """Kills a node of each cluster every ``every`` seconds, in turn, and
    starts it again ``down`` seconds later."""

    def __init__(self, stage, every, down):
        self.stage = stage
        self.every = every
        self.down = down
        self.kills = collections.Counter()
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(300)

    def _run(self):
        turn = 0
        started = time.monotonic()
        # A kill every ``every`` seconds from the start, whatever the
        # restarts in between took.
        while not self._stop.wait(max(0, started + self.every * (turn + 1) -
                                      time.monotonic())):
            g = self.stage.galera.nodes[turn % 3]
            r = self.stage.rabbit.nodes[(turn + 1) % 3]
            turn += 1
            g.kill()
            r.kill()
            self.kills['galera'] += 1
            self.kills['rabbitmq'] += 1
            print('%5.0f s: killed %s and %s' % (
                time.monotonic() - started, g.name, r.nodename), flush=True)
            self._stop.wait(self.down)
            for node in (g, r):
                try:
                    node.restart()
                except Exception as exc:
                    self.errors.append('%s did not come back: %s' % (
                        getattr(node, 'name', None) or node.nodename, exc))
                    print('  ' + self.errors[-1], flush=True)
            print('%5.0f s: %s and %s back' % (
                time.monotonic() - started, g.name, r.nodename), flush=True)


def main():
    args = parse_args()
    # Stopped: the nodes are removed on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    sys.path.insert(0, ROOT)
    from tests.clusters import deploy
    from tests.clusters import stage as stage_mod

    base = tempfile.mkdtemp(prefix='detach-ext-cluster-soak-')
    os.chmod(base, 0o755)
    stage = stage_mod.Stage(base, 'dxs%d' % os.getpid(), args.keep)
    try:
        stage.start()
        return soak(args, stage, deploy)
    finally:
        stage.destroy(args.keep)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def soak(args, stage, deploy):
    started = time.monotonic()
    extra = ''
    if args.wsrep_sync_wait is not None:
        extra = '[database]\nmysql_wsrep_sync_wait = %d\n' % (
            args.wsrep_sync_wait)
    dep, vhost = stage.deployment('soak', extra)
    procs = stage.processes(dep, vhost)
    try:
        count = int(args.rate * args.duration * 1.05) + 100
        pairs = []
        for host in HOSTS:
            share = count // len(HOSTS)
            for chunk in range(0, share, 2000):
                pairs += deploy.seed(dep, min(2000, share - chunk),
                                     host=host)
        procs.start_api(workers=2)
        for host in HOSTS:
            procs.start_worker(host)
        print('seeded %d attached volumes; processes up in %.0f s'
              % (len(pairs), time.monotonic() - started), flush=True)
        random.Random(1).shuffle(pairs)
        load = deploy.Load([procs.port], pairs, threads=args.threads,
                           pause=args.threads / args.rate)
        killer = Killer(stage, args.kill_every, args.down)
        run_started = time.monotonic()
        load.start()
        killer.start()
        while time.monotonic() - run_started < args.duration:
            time.sleep(max(0.1, min(30, args.duration - (
                time.monotonic() - run_started))))
            answers = list(load.answers)
            print('%5.0f s: %d answers %s; slowest %.1f s' % (
                time.monotonic() - run_started, len(answers),
                dict(collections.Counter(a.status for a in answers)),
                max((a.elapsed for a in answers), default=0)), flush=True)
        load.stop()
        load.join()
        killer.stop()
        run_time = time.monotonic() - run_started
        stage.heal()
        asked = {a.volume for a in load.answers}
        state, waited = deploy.settle(
            dep.db.engine, asked,
            deploy.REPAIR_AGE + deploy.REPAIR_INTERVAL + 120)
        untouched = [p for p in pairs if p[1] not in asked]
        verdict = deploy.Verdict(state, load.answers, untouched)
        repaired = procs.repaired_requests()
        accepted_ids = {a.request_id for a in load.answers
                        if a.status == 202}
        by_repair = len(accepted_ids & repaired)
        refused = collections.Counter(
            '%s %s' % (a.status, a.message) for a in load.answers
            if a.status is not None and a.status != 202)
        print('duration: %.0f s of load (%d kills of a Galera node, %d of '
              'a RabbitMQ node, every %.0f s, each down %.0f s)' % (
                  run_time, killer.kills['galera'], killer.kills['rabbitmq'],
                  args.kill_every, args.down))
        print('requests: %d (%.1f/s)' % (len(load.answers),
                                         len(load.answers) / run_time))
        print('accepted (202): %d' % verdict.accepted)
        print('finished by the worker: %d' % (verdict.finished - by_repair))
        print('finished by the repair: %d (+%d detaches whose 202 was not '
              'given)' % (by_repair, len(repaired) - by_repair))
        print('refused: %d' % sum(refused.values()))
        for text, n in refused.most_common():
            print('  %d x %s' % (n, text))
        print('answers lost: %d' % verdict.counts.get('lost', 0))
        print('stuck: %d (settled in %.0f s)' % (len(verdict.stuck), waited))
        print('slowest answer: %.1f s (bound %.0f s)' % (verdict.slowest,
                                                         deploy.BOUND))
        problems = verdict.problems
        print('invariant: %s' % ('holds for %d volumes asked, %d not asked'
                                 % (len(asked), len(untouched))
                                 if not problems else 'BROKEN'))
        kinds = collections.Counter(
            'a 503 that claims another end' if 'answered 503' in line else
            'a 202 whose rows are not one detach' if 'answered 202' in line
            else 'other' for line in problems)
        for kind, n in kinds.most_common():
            print('  %d x %s' % (n, kind))
        for line in problems[:20]:
            print('  ' + line)
        # The soak's own failures (a node that did not rejoin) are not
        # detach_ext's, but the run is not a clean one either.
        print('soak errors: %d' % len(killer.errors))
        for line in killer.errors[:20]:
            print('  ' + line)
        print('total time: %.0f s' % (time.monotonic() - started),
              flush=True)
        return 1 if problems or killer.errors or verdict.stuck else 0
    finally:
        stage.release(vhost, procs, dep)


if __name__ == '__main__':
    sys.exit(main())
