"""A three-node RabbitMQ cluster on loopback, for the cluster stage and
the cluster soak.

Each node is the machine's RabbitMQ (Debian's 3.10) started as a process
of its own: its own node name, AMQP port, distribution port, data
(``RABBITMQ_MNESIA_BASE``) and log folders, no plugins (so no management
or prometheus listener), and an environment file of its own instead of
``/etc/rabbitmq/rabbitmq-env.conf`` (which names the machine's node).  The
nodes share one Erlang cookie in the base folder (``HOME`` of the nodes
and of the ``rabbitmqctl`` calls) and the machine's ``epmd``.  The second
and third nodes join the first with ``rabbitmqctl join_cluster``.

Every process group started is recorded in ``<base>/pids`` (as a
negative number) so a wrapper script can end exactly these.
"""

import os
import secrets
import shutil
import signal
import subprocess
import time

from tests.clusters import ports

LIBEXEC = '/usr/lib/rabbitmq/bin'


class Node:
    """One RabbitMQ node of the cluster."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.nodename = '%s-%d@localhost' % (cluster.name, index + 1)
        self.dir = os.path.join(cluster.base, 'node%d' % (index + 1))
        self.port = ports.free_port()
        self.dist_port = ports.free_port()
        self.proc = None

    def env(self):
        env = dict(self.cluster.env())
        env.update({
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': os.path.join(self.dir, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.dir, 'log'),
            'RABBITMQ_PID_FILE': os.path.join(self.dir, 'pid'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(
                self.dir, 'enabled_plugins'),
            'RABBITMQ_CONFIG_FILE': os.path.join(self.dir, 'rabbitmq.conf'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(
                self.dir, 'advanced.config'),
        })
        return env

    def write_config(self):
        os.makedirs(os.path.join(self.dir, 'log'), exist_ok=True)
        with open(os.path.join(self.dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(self.dir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.default = 127.0.0.1:%d\n'
                    'loopback_users = none\n'
                    # Disk alarms of a busy shared machine would block
                    # publishers for reasons unrelated to the test.
                    'disk_free_limit.absolute = 1MB\n'
                    'vm_memory_high_watermark.relative = 0.8\n'
                    'cluster_partition_handling = pause_minority\n'
                    % self.port)

    def spawn(self):
        log = open(os.path.join(self.dir, 'stdout.log'), 'ab')
        self.proc = subprocess.Popen(
            [os.path.join(LIBEXEC, 'rabbitmq-server')], env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
            start_new_session=True)
        log.close()
        self.cluster.record_pid(-self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ctl(self, *args, timeout=60, check=True):
        """``rabbitmqctl -n <this node> args``; returns its stdout."""
        done = subprocess.run(
            [os.path.join(LIBEXEC, 'rabbitmqctl'), '-n', self.nodename] +
            list(args), env=self.cluster.env(), capture_output=True,
            text=True, timeout=timeout)
        if check and done.returncode:
            raise RuntimeError('rabbitmqctl %s on %s failed: %s%s' % (
                ' '.join(args), self.nodename, done.stdout, done.stderr))
        return done.stdout

    def wait_started(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                break
            try:
                self.ctl('await_startup', '--timeout', '30', timeout=40)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(1)
        raise RuntimeError('rabbitmq node %s did not start:\n%s'
                           % (self.nodename, self.log_tail()))

    def log_tail(self, size=3000):
        texts = []
        for path in (os.path.join(self.dir, 'stdout.log'),
                     os.path.join(self.dir, 'log',
                                  self.nodename + '.log')):
            try:
                with open(path, 'rb') as f:
                    f.seek(0, 2)
                    f.seek(max(0, f.tell() - size))
                    texts.append(f.read().decode('utf-8', 'replace'))
            except OSError:
                pass
        return '\n'.join(texts)

    def kill(self):
        """``kill -9`` of the node (its whole process group: the start
        script, the Erlang VM and its helpers)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout=60):
        if self.alive():
            try:
                self.ctl('stop', timeout=timeout)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def restart(self, timeout=120):
        """Start a killed node again; it rejoins the cluster it was in."""
        self.spawn()
        self.wait_started(timeout)

    def transport_host(self, user='guest', password='guest'):
        return '%s:%s@127.0.0.1:%d' % (user, password, self.port)


class Cluster:
    """Three (or ``size``) RabbitMQ nodes under ``base``.

    :param base: a folder of its own (made, and removed by
        :meth:`destroy`).
    :param name: prefix of the node names (unique on this machine).
    """

    def __init__(self, base, name, size=3):
        self.base = base
        self.name = name
        os.makedirs(base, exist_ok=True)
        self.nodes = [Node(self, i) for i in range(size)]
        cookie = os.path.join(base, '.erlang.cookie')
        if not os.path.exists(cookie):
            with open(cookie, 'w') as f:
                f.write(secrets.token_hex(20).upper())
            os.chmod(cookie, 0o400)
        empty = os.path.join(base, 'rabbitmq-env.conf')
        with open(empty, 'w') as f:
            f.write('# The nodes of this cluster read no machine-wide '
                    'environment file.\n')

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update({
            'HOME': self.base,
            'RABBITMQ_CONF_ENV_FILE': os.path.join(self.base,
                                                   'rabbitmq-env.conf'),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
            'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8',
        })
        return env

    def record_pid(self, pid):
        with open(os.path.join(self.base, 'pids'), 'a') as f:
            f.write('%d\n' % pid)

    def start(self):
        """Start every node, then join the others to the first."""
        started = time.monotonic()
        for node in self.nodes:
            node.write_config()
            node.spawn()
        for node in self.nodes:
            node.wait_started()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl('stop_app')
            node.ctl('reset')
            node.ctl('join_cluster', first.nodename)
            node.ctl('start_app')
        self.wait_running(len(self.nodes))
        return time.monotonic() - started

    def running(self, via=None):
        """The node names the cluster reports running (asked of ``via``,
        else the first live node)."""
        via = via or next((n for n in self.nodes if n.alive()), None)
        if via is None:
            return []
        try:
            out = via.ctl('eval',
                          'rabbit_nodes:all_running().', timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            return []
        return sorted(n.strip().strip("'") for n in
                      out.strip().strip('[]').split(',') if n.strip())

    def wait_running(self, count, timeout=120):
        if not ports.wait_until(lambda: len(self.running()) == count,
                                timeout, 1):
            raise RuntimeError('rabbitmq cluster does not run %d nodes: %r'
                               % (count, self.running()))

    def transport_url(self, vhost=''):
        """An oslo.messaging URL naming every node."""
        return 'rabbit://%s/%s' % (
            ','.join(n.transport_host() for n in self.nodes), vhost)

    def add_vhost(self, name):
        node = next(n for n in self.nodes if n.alive())
        node.ctl('add_vhost', name)
        node.ctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*')

    def queues(self, vhost, *items):
        """Rows of ``rabbitmqctl list_queues`` (tab-separated items)."""
        node = next(n for n in self.nodes if n.alive())
        out = node.ctl('list_queues', '-q', '--no-table-headers', '-p',
                       vhost, *items)
        return [line.split('\t') for line in out.splitlines()
                if line.strip()]

    def node_named(self, nodename):
        return next(n for n in self.nodes if n.nodename == nodename)

    def destroy(self, remove=True):
        """Kill every node and remove the base folder."""
        for node in self.nodes:
            node.kill()
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)
