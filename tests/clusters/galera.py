"""A three-node MariaDB Galera cluster on loopback, for the cluster stage
and the cluster soak.

Each node is a ``mariadbd`` of its own (the machine's binary, Debian's
``galera-4`` provider) with its own data directory, client port, group
communication (gcomm) port, IST port and SST port, all under one base
folder.  The first node bootstraps the cluster from a data directory made
by ``mariadb-install-db``; the others start empty and receive a state
snapshot (rsync SST).  Nothing here touches the machine's own MariaDB.

Every process started is recorded in ``<base>/pids`` so that a wrapper
script can end exactly these processes if the harness itself dies.
"""

import os
import shutil
import signal
import subprocess
import time

import pymysql

from tests.clusters import ports

PROVIDER = '/usr/lib/galera/libgalera_smm.so'

_CNF = """\
[mariadbd]
datadir = {datadir}
socket = {dir}/mysqld.sock
pid-file = {dir}/mysqld.pid
log-error = {dir}/error.log
port = {port}
bind-address = 127.0.0.1
user = mysql
skip-name-resolve
max_connections = 400
innodb_buffer_pool_size = 64M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 2
innodb_autoinc_lock_mode = 2
binlog_format = ROW
default_storage_engine = InnoDB
character-set-server = utf8mb4
wsrep_on = ON
wsrep_provider = {provider}
wsrep_cluster_name = {cluster}
wsrep_cluster_address = gcomm://{members}
wsrep_node_name = {name}
wsrep_node_address = 127.0.0.1
wsrep_provider_options = "base_port={gcomm}; \
gmcast.listen_addr=tcp://127.0.0.1:{gcomm}; \
ist.recv_addr=127.0.0.1:{ist}; gcache.size=64M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:{sst}
wsrep_slave_threads = 2
"""


def admin_connect(port, timeout=3):
    """A pymysql connection as root to a node's client port."""
    return pymysql.connect(host='127.0.0.1', port=port, user='root',
                           connect_timeout=timeout, read_timeout=timeout,
                           write_timeout=timeout, autocommit=True)


class Node:
    """One mariadbd of the cluster."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = '%s-%d' % (cluster.name, index + 1)
        self.dir = os.path.join(cluster.base, 'node%d' % (index + 1))
        self.datadir = os.path.join(self.dir, 'data')
        self.port = ports.free_port()
        self.gcomm = ports.free_port()
        self.ist = ports.free_port()
        self.sst = ports.free_port()
        self.proc = None

    @property
    def url(self):
        """The SQLAlchemy URL of this node, without a database name."""
        return 'mysql+pymysql://root@127.0.0.1:%d' % self.port

    @property
    def cnf(self):
        return os.path.join(self.dir, 'my.cnf')

    def write_config(self):
        os.makedirs(self.datadir, exist_ok=True)
        # mariadbd runs as mysql, not root: the rsync daemon of an SST
        # started by root would switch to nobody and fail to write.
        for path in (self.dir, self.datadir):
            shutil.chown(path, 'mysql', 'mysql')
        members = ','.join('127.0.0.1:%d' % n.gcomm
                           for n in self.cluster.nodes)
        with open(self.cnf, 'w') as f:
            f.write(_CNF.format(
                datadir=self.datadir, dir=self.dir, port=self.port,
                provider=PROVIDER, cluster=self.cluster.name,
                members=members, name=self.name, gcomm=self.gcomm,
                ist=self.ist, sst=self.sst))

    def install(self):
        """A fresh data directory (the bootstrap node's)."""
        subprocess.run(
            ['mariadb-install-db', '--defaults-file=' + self.cnf,
             '--user=mysql', '--auth-root-authentication-method=normal',
             '--skip-test-db'],
            check=True, capture_output=True)

    def spawn(self, bootstrap=False):
        args = ['mariadbd', '--defaults-file=' + self.cnf]
        if bootstrap:
            args.append('--wsrep-new-cluster')
        log = open(os.path.join(self.dir, 'stdout.log'), 'ab')
        self.proc = subprocess.Popen(args, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.cluster.record_pid(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self, timeout=2):
        """This node's wsrep status variables (name -> value), or None
        when it does not answer."""
        try:
            conn = admin_connect(self.port, timeout)
        except pymysql.MySQLError:
            return None
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep%%'")
                return dict(cur.fetchall())
        except pymysql.MySQLError:
            return None
        finally:
            conn.close()

    def synced(self):
        found = self.status()
        return bool(found and found.get('wsrep_local_state_comment') ==
                    'Synced' and found.get('wsrep_ready') == 'ON' and
                    found.get('wsrep_cluster_status') == 'Primary')

    def wait_synced(self, timeout=120):
        if ports.wait_until(lambda: self.synced() or not self.alive(),
                            timeout, 0.3) and self.synced():
            return
        raise RuntimeError('galera node %s is not synced (alive: %s):\n%s'
                           % (self.name, self.alive(), self.log_tail()))

    def log_tail(self, size=3000):
        try:
            with open(os.path.join(self.dir, 'error.log'), 'rb') as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - size))
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def kill(self):
        """``kill -9``: the node is lost mid-whatever."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout=60):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, timeout=180):
        """Start a node that was killed or stopped again; it rejoins
        (IST, or SST when its state is unusable) and is synced."""
        self.spawn()
        self.wait_synced(timeout)

    def execute(self, sql, timeout=5):
        conn = admin_connect(self.port, timeout)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()

    def isolate(self, on=True):
        """Cut this node off the group (``gmcast.isolate``): it stays up
        and answers clients, without quorum (a non-Primary component)."""
        self.execute("SET GLOBAL wsrep_provider_options='gmcast.isolate=%d'"
                     % (1 if on else 0))


class Cluster:
    """Three (or ``size``) Galera nodes under ``base``.

    :param base: a folder of its own (made, and removed by
        :meth:`destroy`).
    :param name: the cluster name (also in the node names).
    """

    def __init__(self, base, name, size=3):
        self.base = base
        self.name = name
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        self.nodes = [Node(self, i) for i in range(size)]

    def record_pid(self, pid):
        with open(os.path.join(self.base, 'pids'), 'a') as f:
            f.write('%d\n' % pid)

    def start(self):
        """Bootstrap the first node, then join the others one by one."""
        started = time.monotonic()
        for node in self.nodes:
            node.write_config()
        first = self.nodes[0]
        first.install()
        first.spawn(bootstrap=True)
        first.wait_synced()
        # Clients connect over TCP as root from 127.0.0.1 (the machine's
        # own server allows the same); replicated to the joiners by SST.
        first.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
        first.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' "
                      "WITH GRANT OPTION")
        for node in self.nodes[1:]:
            node.spawn()
            node.wait_synced()
        return time.monotonic() - started

    def size(self):
        """The cluster size as each live node sees it."""
        return {n.name: (n.status() or {}).get('wsrep_cluster_size')
                for n in self.nodes if n.alive()}

    def wait_size(self, size, timeout=60):
        """Until every live node sees ``size`` members and is synced."""
        def done():
            live = [n for n in self.nodes if n.alive()]
            return all(
                (n.status() or {}).get('wsrep_cluster_size') == str(size)
                and n.synced() for n in live)
        if not ports.wait_until(done, timeout, 0.3):
            raise RuntimeError('galera cluster did not settle at %d nodes: '
                               '%r' % (size, self.size()))

    def conflicts(self):
        """Certification failures and brute-force aborts each live node
        counted so far (both reach a client as a deadlock, 1213)."""
        found = {}
        for node in self.nodes:
            status = node.status() or {}
            found[node.name] = (int(status.get('wsrep_local_cert_failures',
                                               0)),
                                int(status.get('wsrep_local_bf_aborts',
                                               0)))
        return found

    def destroy(self, remove=True):
        """Stop every node (kill -9 after a short wait) and remove the
        base folder."""
        for node in self.nodes:
            if node.alive():
                node.proc.terminate()
        for node in self.nodes:
            if node.alive():
                try:
                    node.proc.wait(20)
                except subprocess.TimeoutExpired:
                    node.kill()
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)
