"""Keystone and Cinder for the CI stages, from virtualenvs of their own.

``.keystone-venv`` (keystone==30.0.0) and ``.cinder-venv``
(cinder==29.0.0), each with gunicorn and pymysql, built by
``.ci/cinder-stage``.  :class:`KeystoneCinder` makes their databases (on
MariaDB) and Cinder's RabbitMQ vhost, runs Keystone (``keystone.wsgi.api``
under gunicorn, fernet and credential keys in the stage's folder,
``keystone-manage bootstrap``) and Cinder (``cinder.wsgi.api`` under
gunicorn, cinder-scheduler, cinder-volume with a driver that needs no
storage: tests/cinder_stage/driver), fills Keystone with the projects,
users and catalog a stage needs, and removes all of it again.
"""

import os
import signal
import socket
import subprocess
import time
import uuid

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import pymysql
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KEYSTONE_BIN = os.path.join(ROOT, '.keystone-venv', 'bin')
CINDER_BIN = os.path.join(ROOT, '.cinder-venv', 'bin')
DRIVER_DIR = os.path.join(ROOT, 'tests', 'cinder_stage', 'driver')

REGION = 'RegionOne'
PASSWORD = 'stage-%s' % uuid.uuid4().hex[:12]
VOLUME = 'volume 3.44'  # Nova's microversion for attachments
START = time.monotonic()


def log(msg):
    print('[%6.1f] %s' % (time.monotonic() - START, msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # not there yet
            last = exc
            value = None
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError('timed out after %ss waiting for %s (%s)'
                       % (timeout, what, last))


# (user, project, role) made in Keystone; every password is PASSWORD.
USERS = (
    # Cinder's keystone_authtoken: validating tokens needs the service
    # role (Keystone's identity:validate_token).
    ('cinder', 'service', 'service'),
    # detach_ext's [service_user] and keystone_authtoken: service is one
    # of Cinder's service_token_roles.
    ('detach-ext', 'service', 'service'),
    # detach_ext's [cinder]: calls without a user (the repair) must see
    # and change every project's volumes: admin.
    ('detach-ext-cinder', 'service', 'admin'),
    # The control of the one above: service alone.
    ('service-only', 'service', 'service'),
    # Nova's [service_user] and keystone_authtoken (the Nova stage).
    ('nova', 'service', 'service'),
    ('demo', 'demo', 'member'),
)


def connector(host):
    """The connector a compute host gives Cinder (as the reference
    driver's)."""
    return {'host': host, 'ip': '127.0.0.1', 'platform': 'x86_64',
            'os_type': 'linux', 'multipath': False,
            'initiator': 'iqn.2026-11.org.detach-ext:%s' % host}


class KeystoneCinder:
    """Keystone and Cinder of one stage run, and the plumbing to run them.

    :param args: ``db_url`` (a MariaDB server URL without database),
        ``db_host``, ``db_port``, ``db_user`` and ``rabbit``
        (``user:password@host:port``).
    :param directory: the stage's folder (configuration, keys, logs).
    :param run_id: the prefix of the databases and vhosts made (one
        ``.ci/run`` sweeps vhosts by).
    :param compute_url: the compute endpoint of the catalog (Cinder's
        guard of connected attachments asks it).
    """

    def __init__(self, args, directory, run_id, compute_url):
        self.args = args
        self.dir = directory
        self.run_id = run_id
        self.compute_url = compute_url
        self.procs = {}
        self.databases = []
        self.vhosts = []
        self.db = {name: '%s_%s' % (run_id, name)
                   for name in ('keystone', 'cinder')}
        self.vhost = {'cinder': '%s_cinder' % run_id}
        self.port = {name: free_port() for name in ('keystone', 'cinder')}
        self.keystone = 'http://127.0.0.1:%d' % self.port['keystone']
        self.auth_url = self.keystone + '/v3'
        self.cinder = 'http://127.0.0.1:%d' % self.port['cinder']

    # -- plumbing -------------------------------------------------------

    def db_url(self, name):
        return '%s/%s?charset=utf8' % (self.args.db_url, self.db[name])

    def transport_url(self, name):
        return 'rabbit://%s/%s' % (self.args.rabbit, self.vhost[name])

    def sql(self, query, params=(), database=None):
        conn = pymysql.connect(host=self.args.db_host,
                               port=self.args.db_port,
                               user=self.args.db_user, password='',
                               database=self.db[database] if database
                               else None, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()

    def rabbitmqctl(self, *args):
        subprocess.run(['rabbitmqctl', '-q'] + list(args), check=True,
                       stdout=subprocess.DEVNULL, timeout=60)

    def start(self, name, argv, env=None, cwd=ROOT, log_name=None):
        logf = open(os.path.join(self.dir, (log_name or name) + '.log'),
                    'ab')
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=cwd, env=dict(os.environ, **(env or {})),
                                start_new_session=True)
        logf.close()
        self.procs[name] = proc
        return proc

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def run(self, argv, timeout=300, env=None):
        result = subprocess.run(argv, cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout,
                                env=dict(os.environ, **(env or {})))
        if result.returncode:
            raise RuntimeError('%s failed (%s):\n%s%s' % (
                ' '.join(argv), result.returncode, result.stdout[-3000:],
                result.stderr[-3000:]))
        return result.stdout

    def log_text(self, name):
        try:
            with open(os.path.join(self.dir, name), 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def cinder_logs(self):
        folder = os.path.join(self.dir, 'cinder-logs')
        return ''.join(self.log_text(os.path.join('cinder-logs', name))
                       for name in sorted(os.listdir(folder)))

    def log_tail(self, name, lines=40):
        return '\n'.join(self.log_text(name).splitlines()[-lines:])

    def cleanup(self):
        """Stop the processes, drop the databases, delete the vhosts (the
        folder is its owner's)."""
        # All at once: SIGTERM to each, then one deadline for them all.
        procs, self.procs = self.procs, {}
        for name, proc in procs.items():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for name, proc in procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print('cleanup: %s ignored SIGTERM for 10 s: killed' % name)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        for name in self.databases:
            try:
                self.sql('DROP DATABASE IF EXISTS `%s`' % self.db[name],
                         database=None)
            except Exception as exc:
                print('cleanup: dropping %s: %s' % (self.db[name], exc))
        for name in self.vhosts:
            try:
                self.rabbitmqctl('delete_vhost', self.vhost[name])
            except Exception as exc:
                print('cleanup: vhost %s: %s' % (self.vhost[name], exc))

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def gunicorn(self, name, bin_dir, conf, env=None):
        """Start gunicorn of ``bin_dir`` in a folder of its own whose
        gunicorn.conf.py is ``conf``: Keystone and Cinder parse sys.argv
        as their own command line (oslo.config), so gunicorn gets no
        arguments."""
        state = os.path.join(self.dir, name)
        self.write(os.path.join(name, 'gunicorn.conf.py'), conf)
        return self.start(name, [os.path.join(bin_dir, 'gunicorn')],
                          env=env, cwd=state)

    def wait_http(self, name, url, timeout=120):
        proc = self.procs[name]

        def up():
            if proc.poll() is not None:
                raise SystemExit('%s exited:\n%s' % (
                    name, self.log_tail(name + '.log')))
            return requests.get(url, timeout=5).status_code < 500
        try:
            wait_for(up, timeout, name)
        except SystemExit as exc:
            raise RuntimeError(str(exc))

    # -- setup: databases, Keystone -------------------------------------

    def create_backing(self):
        for name in self.db:
            self.sql('CREATE DATABASE `%s` CHARACTER SET utf8'
                     % self.db[name], database=None)
            self.databases.append(name)
        for name in self.vhost:
            self.rabbitmqctl('add_vhost', self.vhost[name])
            self.vhosts.append(name)
            self.rabbitmqctl('set_permissions', '-p', self.vhost[name],
                             self.args.rabbit.split(':')[0],
                             '.*', '.*', '.*')
        log('databases %s and vhosts %s created'
            % (', '.join(self.db.values()), ', '.join(self.vhost.values())))

    def keystone_conf(self, expiration=3600):
        state = os.path.join(self.dir, 'keystone')
        return self.write('keystone/keystone.conf', KEYSTONE_CONF % {
            'db': self.db_url('keystone'), 'state': state,
            'expiration': expiration})

    def keystone_manage(self, *args):
        return [os.path.join(KEYSTONE_BIN, 'keystone-manage'),
                '--config-file', self.keystone_conf_path] + list(args)

    def setup_keystone(self):
        self.keystone_conf_path = self.keystone_conf()
        self.run(self.keystone_manage('db_sync'))
        for command in ('fernet_setup', 'credential_setup'):
            self.run(self.keystone_manage(command, '--keystone-user', 'root',
                                          '--keystone-group', 'root'))
        self.run(self.keystone_manage(
            'bootstrap', '--bootstrap-password', PASSWORD,
            '--bootstrap-region-id', REGION,
            '--bootstrap-public-url', self.auth_url,
            '--bootstrap-internal-url', self.auth_url))
        log('Keystone database built, fernet and credential keys made, '
            'bootstrap done')

    def start_keystone(self, wait=True):
        self.gunicorn('keystone', KEYSTONE_BIN, GUNICORN_CONF % {
            'app': 'keystone.wsgi.api:application',
            'port': self.port['keystone'], 'workers': 2, 'argv': '[]'},
            env={'OS_KEYSTONE_CONFIG_FILES': self.keystone_conf_path})
        if wait:
            self.wait_http('keystone', self.auth_url)

    def session(self, user, project):
        return ks_session.Session(auth=v3.Password(
            auth_url=self.auth_url, username=user, password=PASSWORD,
            user_domain_id='default', project_name=project,
            project_domain_id='default'))

    def populate_keystone(self):
        """Projects, users, roles and the catalog."""
        self.admin = self.session('admin', 'admin')
        ks = self.keystone + '/v3'
        roles = {r['name']: r['id'] for r in
                 self.admin.get(ks + '/roles').json()['roles']}
        self.project = {}
        for name in ('service', 'demo'):
            self.project[name] = self.admin.post(ks + '/projects', json={
                'project': {'name': name, 'domain_id': 'default'}}).json()[
                'project']['id']
        self.user = {}
        for name, project, role in USERS:
            user = self.admin.post(ks + '/users', json={'user': {
                'name': name, 'password': PASSWORD,
                'domain_id': 'default'}}).json()['user']['id']
            self.user[name] = user
            self.admin.put('%s/projects/%s/users/%s/roles/%s'
                           % (ks, self.project[project], user, roles[role]))
        for service_type, name, url in (
                ('block-storage', 'cinder', self.cinder +
                 '/v3/%(project_id)s'),
                ('volumev3', 'cinderv3', self.cinder + '/v3/%(project_id)s'),
                ('compute', 'nova', self.compute_url)):
            service = self.admin.post(ks + '/services', json={'service': {
                'type': service_type, 'name': name}}).json()['service']['id']
            for interface in ('public', 'internal'):
                self.admin.post(ks + '/endpoints', json={'endpoint': {
                    'service_id': service, 'interface': interface,
                    'url': url, 'region_id': REGION}})
        self.demo = self.session('demo', 'demo')
        log('Keystone: projects service and demo, users %s; catalog '
            'identity, block-storage, volumev3, compute'
            % ', '.join(sorted(self.user)))

    # -- setup: Cinder --------------------------------------------------

    def setup_cinder(self):
        state = os.path.join(self.dir, 'cinder-state')
        os.makedirs(os.path.join(state, 'locks'), exist_ok=True)
        os.makedirs(os.path.join(self.dir, 'cinder-logs'), exist_ok=True)
        self.cinder_conf = self.write('cinder/cinder.conf', CINDER_CONF % {
            'transport_url': self.transport_url('cinder'),
            'db': self.db_url('cinder'), 'state': state,
            'log_dir': os.path.join(self.dir, 'cinder-logs'),
            'auth_url': self.auth_url,
            'password': PASSWORD, 'region': REGION,
            'etc': os.path.join(ROOT, '.cinder-venv', 'etc', 'cinder')})
        self.run([os.path.join(CINDER_BIN, 'cinder-manage'),
                  '--config-file', self.cinder_conf, 'db', 'sync'])
        log('Cinder database built (cinder-manage db sync)')

    def start_cinder_api(self, wait=True):
        self.gunicorn('cinder-api', CINDER_BIN, GUNICORN_CONF % {
            'app': 'cinder.wsgi.api:application',
            'port': self.port['cinder'], 'workers': 2,
            'argv': repr(['--config-file', self.cinder_conf])})
        if wait:
            self.wait_http('cinder-api', self.cinder + '/')

    def start_cinder(self):
        self.start_cinder_api(wait=False)
        self.start('cinder-scheduler', [
            os.path.join(CINDER_BIN, 'cinder-scheduler'), '--config-file',
            self.cinder_conf])
        self.start('cinder-volume', [
            os.path.join(CINDER_BIN, 'cinder-volume'), '--config-file',
            self.cinder_conf], env={'PYTHONPATH': DRIVER_DIR})

    def wait_cinder(self):
        self.wait_http('cinder-api', self.cinder + '/')

        def volume_up():
            for name in ('cinder-scheduler', 'cinder-volume'):
                if self.procs[name].poll() is not None:
                    raise SystemExit('%s exited:\n%s' % (
                        name, self.log_tail(name + '.log') +
                        self.log_tail(os.path.join('cinder-logs',
                                                   name + '.log'))))
            # Up, and the scheduler knows the backend's pool (it reports
            # its capabilities at start and every periodic_interval).
            return self.admin.get(
                '%s/v3/%s/scheduler-stats/get_pools' % (
                    self.cinder, self.admin.get_project_id()),
                headers={'OpenStack-API-Version': VOLUME}).json()['pools']
        try:
            wait_for(volume_up, 120, 'cinder-scheduler and cinder-volume')
        except SystemExit as exc:
            raise RuntimeError(str(exc))
        ks = self.cinder + '/v3/' + self.admin.get_project_id()
        # The stage makes more volumes than the default quota's 10.
        self.admin.put('%s/os-quota-sets/%s' % (ks, self.project['demo']),
                       json={'quota_set': {'volumes': -1, 'gigabytes': -1}})
        self.multiattach_type = self.admin.post(ks + '/types', json={
            'volume_type': {'name': 'multiattach', 'extra_specs': {
                'multiattach': '<is> True'}}}).json()['volume_type']['id']
        log('Cinder up: cinder-api (gunicorn), cinder-scheduler, '
            'cinder-volume (no storage); volume type multiattach')

    # -- setup: detach_ext ----------------------------------------------
    # -- volumes --------------------------------------------------------

    def volumes_url(self, project=None):
        return '%s/v3/%s' % (self.cinder, project or self.project['demo'])

    def create_volume(self, multiattach=False):
        body = {'size': 1, 'name': 'stage-%s' % uuid.uuid4().hex[:6]}
        if multiattach:
            body['volume_type'] = self.multiattach_type
        volume = self.demo.post(self.volumes_url() + '/volumes', json={
            'volume': body}, headers=self.volume_headers()).json()['volume']
        wait_for(lambda: self.volume(volume['id'])['status'] == 'available',
                 60, 'volume %s available' % volume['id'])
        return volume['id']

    def volume_headers(self):
        return {'OpenStack-API-Version': VOLUME}

    def admin_url(self):
        """The admin's block storage URL: Cinder answers 400 to a URL
        whose project is not the token's, admins' too (an admin sees every
        project's volumes under its own)."""
        return self.volumes_url(self.admin.get_project_id())

    def volume(self, volume_id):
        """The volume as the admin sees it (any status), or None."""
        r = self.admin.get(
            '%s/volumes/%s' % (self.admin_url(), volume_id),
            headers=self.volume_headers(), raise_exc=False)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()['volume']

    def attachment_exists(self, attachment_id):
        r = self.admin.get(
            '%s/attachments/%s' % (self.admin_url(), attachment_id),
            headers=self.volume_headers(), raise_exc=False)
        if r.status_code not in (200, 404):
            r.raise_for_status()
        return r.status_code == 200

    def attach(self, volume_id, server_id, host):
        """Attach as Nova does: attachment create with the server, update
        with the compute host's connector (Cinder returns the connection
        info), complete.  A shelved offloaded server has no host: Nova
        completes its attachment without a connector.

        :returns: (attachment id, connection info).
        """
        url = self.volumes_url() + '/attachments'
        attachment = self.demo.post(url, json={'attachment': {
            'volume_uuid': volume_id, 'instance_uuid': server_id}},
            headers=self.volume_headers()).json()['attachment']
        info = None
        if host:
            info = self.demo.put('%s/%s' % (url, attachment['id']), json={
                'attachment': {'connector': dict(
                    connector(host), mountpoint='/dev/vdb')}},
                headers=self.volume_headers()).json()['attachment'][
                'connection_info']
        self.demo.post('%s/%s/action' % (url, attachment['id']),
                       json={'os-complete': None},
                       headers=self.volume_headers())
        return attachment['id'], info


GUNICORN_CONF = """\
import sys

# The app parses sys.argv as its own command line (oslo.config): it gets
# only what it needs.
sys.argv[1:] = %(argv)s
wsgi_app = '%(app)s'
bind = '127.0.0.1:%(port)d'
workers = %(workers)d
timeout = 120
control_socket_disable = True
"""

KEYSTONE_CONF = """\
[DEFAULT]
log_file = %(state)s/keystone.log

[database]
connection = %(db)s

[token]
provider = fernet
expiration = %(expiration)d

[fernet_tokens]
key_repository = %(state)s/fernet-keys

[fernet_receipts]
key_repository = %(state)s/fernet-keys

[credential]
key_repository = %(state)s/credential-keys

[cache]
enabled = false

[identity]
# bcrypt's fewest rounds: the stage's passwords guard nothing, and the
# default (12) costs about 3 s of CPU per user created or authenticated.
password_hash_rounds = 4
"""

CINDER_CONF = """\
[DEFAULT]
transport_url = %(transport_url)s
auth_strategy = keystone
enabled_backends = fake
state_path = %(state)s
log_dir = %(log_dir)s
my_ip = 127.0.0.1
host = cinder-stage
debug = false
# cinder-volume reports its pool to the scheduler this often (60 s by
# default): a report the starting scheduler missed is soon repeated.
periodic_interval = 10
graceful_shutdown_timeout = 5
# Shipped by the wheel in the virtualenv's etc/cinder.
api_paste_config = %(etc)s/api-paste.ini
resource_query_filters_file = %(etc)s/resource_filters.json

[database]
connection = %(db)s
max_retries = 3

[fake]
volume_driver = stage_volume_driver.MultiattachFakeDriver
volume_backend_name = fake

[keystone_authtoken]
www_authenticate_uri = %(auth_url)s
auth_url = %(auth_url)s
auth_type = password
username = cinder
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default
# As deployments set them: a service token counts only with the service
# role (Cinder's guard of connected attachments trusts these requests).
service_token_roles = service
service_token_roles_required = true

[nova]
# Cinder's guard asks the compute API of the catalog (detach_ext's) with
# the user's token.
interface = public
region_name = %(region)s

[oslo_concurrency]
lock_path = %(state)s/locks

[oslo_messaging_notifications]
driver = noop
"""
