"""The Cinder stage: detach_ext standalone against a real Keystone and a
real Cinder.

Run by ``.ci/cinder-stage`` with the project's virtualenv (``.venv``);
Keystone and Cinder run from virtualenvs of their own (``.keystone-venv``:
keystone==30.0.0, ``.cinder-venv``: cinder==29.0.0, each with gunicorn and
pymysql)::

    .venv/bin/python -m tests.cinder_stage.stage

What it builds, all of it removed at the end (also on failure):

* MariaDB: a database for Keystone, one for Cinder, one for detach_ext
  (Nova's tables: ``detach-ext-manage db sync --create-nova-schema``);
* RabbitMQ: a vhost for Cinder, one for detach_ext;
* Keystone (``keystone.wsgi.api`` under gunicorn; fernet and credential
  keys in the stage's folder; ``keystone-manage bootstrap``), with a
  catalog of identity, block-storage and volumev3 (cinder-api), compute
  (detach_ext's API);
* Cinder: cinder-api (``cinder.wsgi.api`` under gunicorn),
  cinder-scheduler, cinder-volume with a driver that needs no storage
  (tests/cinder_stage/driver), ``[keystone_authtoken]
  service_token_roles_required = true`` and ``[nova]`` pointing (through
  the catalog) at detach_ext's API, so Cinder's guard against deleting a
  connected attachment (bug #2004555) asks detach_ext's GET;
* detach_ext's API (``detach_ext.wsgi`` under gunicorn, the ``main``
  pipeline: keystonemiddleware against the Keystone) and a
  ``detach-ext-compute`` reference worker;
* servers and their mappings in detach_ext's database; their volumes
  created and attached through Cinder's API as Nova attaches them
  (attachment create with the server, update with a connector,
  complete).

Each check prints PASS or FAIL; the last line is ``N passed, N failed``.
"""

import argparse
from concurrent import futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import pymysql
import requests
import sqlalchemy as sa
from sqlalchemy import orm

from detach_ext.db import models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
KEYSTONE_BIN = os.path.join(ROOT, '.keystone-venv', 'bin')
CINDER_BIN = os.path.join(ROOT, '.cinder-venv', 'bin')
DRIVER_DIR = os.path.join(ROOT, 'tests', 'cinder_stage', 'driver')

HOST = 'compute-1'  # the detach-ext-compute worker's host
REGION = 'RegionOne'
PASSWORD = 'stage-%s' % uuid.uuid4().hex[:12]
VOLUME = 'volume 3.44'  # Nova's microversion for attachments
# The user token's life in the expired-token check (Keystone's [token]
# expiration while it runs): short enough to wait past.
SHORT_EXPIRATION = 30
WAIT = 60  # seconds for a worker to finish a detach
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


class Results:

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def record(self, name, ok, detail=''):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print('%s: %s%s' % ('PASS' if ok else 'FAIL', name,
                            (' -- ' + detail) if detail else ''),
              flush=True)


class Stage:

    def __init__(self, args):
        self.args = args
        # The prefix .ci/run sweeps vhosts by, should a run be killed.
        self.run_id = 'detach_ext_test_cinder_%s' % uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix='cinder-stage-')
        self.procs = {}
        self.databases = []
        self.vhosts = []
        self.results = Results()
        self.db = {name: '%s_%s' % (self.run_id, name)
                   for name in ('keystone', 'cinder', 'compute')}
        self.vhost = {name: '%s_%s' % (self.run_id, name)
                      for name in ('cinder', 'compute')}
        self.port = {name: free_port()
                     for name in ('keystone', 'cinder', 'api')}
        self.keystone = 'http://127.0.0.1:%d' % self.port['keystone']
        self.auth_url = self.keystone + '/v3'
        self.cinder = 'http://127.0.0.1:%d' % self.port['cinder']
        self.api = 'http://127.0.0.1:%d' % self.port['api']

    # -- plumbing -------------------------------------------------------

    def db_url(self, name):
        return '%s/%s?charset=utf8' % (self.args.db_url, self.db[name])

    def transport_url(self, name):
        return 'rabbit://%s/%s' % (self.args.rabbit, self.vhost[name])

    def sql(self, query, params=(), database='compute'):
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
        for name in list(reversed(list(self.procs))):
            try:
                self.stop(name)
            except Exception as exc:
                print('cleanup: stopping %s: %s' % (name, exc))
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
        if self.args.keep:
            print('logs and configuration kept in %s' % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

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
        # Who needs which role (the report of this stage):
        # cinder: its own keystone_authtoken validates tokens (service);
        # detach-ext: [service_user] and detach_ext's keystone_authtoken
        #   (service: Cinder's service_token_roles);
        # detach-ext-cinder: [cinder], calls without a user (admin);
        # service-only: the admin role's control, service alone.
        for name, project, role in (
                ('cinder', 'service', 'service'),
                ('detach-ext', 'service', 'service'),
                ('detach-ext-cinder', 'service', 'admin'),
                ('service-only', 'service', 'service'),
                ('demo', 'demo', 'member')):
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
                ('compute', 'nova', self.api + '/v2.1')):
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

    def detach_ext_conf(self, name, extra=''):
        return self.write(name, DETACH_EXT_CONF % {
            'transport_url': self.transport_url('compute'),
            'db': self.db_url('compute'), 'auth_url': self.auth_url,
            'password': PASSWORD} + extra)

    def setup_detach_ext(self):
        self.conf = self.detach_ext_conf('detach_ext.conf')
        self.run([os.path.join(BIN, 'detach-ext-manage'), '--config-file',
                  self.conf, 'db', 'sync', '--create-nova-schema'])
        self.engine = sa.create_engine(self.db_url('compute'))
        log('detach_ext database built (detach-ext-manage db sync '
            '--create-nova-schema)')

    def start_api(self, wait=True):
        self.start('api', [os.path.join(BIN, 'gunicorn'), '-w', '2', '-b',
                           '127.0.0.1:%d' % self.port['api'], '--timeout',
                           '60', '--access-logfile', '-',
                           'detach_ext.wsgi:application'],
                   env={'DETACH_EXT_CONFIG_FILE': self.conf})
        if wait:
            self.wait_http('api', self.api + '/')

    def start_worker(self, extra_conf=None, label='worker', wait=True):
        files = ['--config-file', self.conf]
        if extra_conf:
            files += ['--config-file', self.write(
                label + '.conf', extra_conf)]
        # Each worker run logs to a file of its own (label-N.log).
        self.worker_runs = getattr(self, 'worker_runs', 0) + 1
        self.worker_log = '%s-%d.log' % (label, self.worker_runs)
        self.start('worker', [os.path.join(BIN, 'detach-ext-compute')] +
                   files + ['--host', HOST], log_name=self.worker_log[:-4])
        if wait:
            self.wait_worker()

    def wait_worker(self):
        proc = self.procs['worker']

        def listening():
            if proc.poll() is not None:
                raise SystemExit('worker exited:\n%s'
                                 % self.log_tail(self.worker_log))
            return 'is listening' in self.log_text(self.worker_log)
        try:
            wait_for(listening, 60, 'detach-ext-compute')
        except SystemExit as exc:
            raise RuntimeError(str(exc))

    def setup(self):
        self.create_backing()
        # The three databases side by side, then every service starts
        # while Keystone is populated (they need it only for requests).
        with futures.ThreadPoolExecutor(3) as pool:
            for job in [pool.submit(step) for step in (
                    self.setup_keystone, self.setup_cinder,
                    self.setup_detach_ext)]:
                job.result()
        self.start_keystone(wait=False)
        self.start_cinder()
        self.start_api(wait=False)
        self.start_worker(wait=False)
        self.wait_http('keystone', self.auth_url)
        self.populate_keystone()
        self.wait_cinder()
        self.wait_http('api', self.api + '/')
        self.wait_worker()
        log('detach_ext API (gunicorn, main pipeline) and detach-ext-compute '
            '%s up' % HOST)

    # -- Cinder ---------------------------------------------------------

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

    def attach(self, volume_id, server_id, connector=True):
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
        if connector:
            info = self.demo.put('%s/%s' % (url, attachment['id']), json={
                'attachment': {'connector': dict(
                    CONNECTOR, mountpoint='/dev/vdb')}},
                headers=self.volume_headers()).json()['attachment'][
                'connection_info']
        self.demo.post('%s/%s/action' % (url, attachment['id']),
                       json={'os-complete': None},
                       headers=self.volume_headers())
        return attachment['id'], info

    # -- detach_ext's database ------------------------------------------

    def add_server(self, vm_state='active', host=HOST):
        server_id = str(uuid.uuid4())
        with orm.Session(self.engine) as s, s.begin():
            s.add(models.Instance(
                uuid=server_id, user_id=self.user['demo'],
                project_id=self.project['demo'], hostname='server',
                display_name='server', host=host, node=host,
                power_state=4 if vm_state == 'shelved_offloaded' else 1,
                vm_state=vm_state, task_state=None, locked=False,
                launched_at=sa.func.now(), root_device_name='/dev/vda',
                deleted=0))
        return server_id

    def add_mapping(self, server_id, volume_id, attachment_id, info,
                    root=False):
        with orm.Session(self.engine) as s, s.begin():
            s.add(models.BlockDeviceMapping(
                uuid=str(uuid.uuid4()), instance_uuid=server_id,
                volume_id=volume_id, attachment_id=attachment_id,
                device_name='/dev/vda' if root else '/dev/vdb',
                boot_index=0 if root else None, source_type='volume',
                destination_type='volume', delete_on_termination=False,
                connection_info=json.dumps(info) if info else None,
                deleted=0))

    def new_attached(self, vm_state='active', root=False, multiattach=None,
                     host=HOST):
        """A server with a volume attached at Cinder and mapped here.

        :param multiattach: a multiattach volume to attach again, or True
            for a new one.
        """
        server = {'uuid': self.add_server(vm_state, host)}
        if multiattach in (None, True):
            server['volume_id'] = self.create_volume(bool(multiattach))
        else:
            server['volume_id'] = multiattach
        server['attachment_id'], info = self.attach(
            server['volume_id'], server['uuid'],
            connector=vm_state != 'shelved_offloaded')
        self.add_mapping(server['uuid'], server['volume_id'],
                         server['attachment_id'], info, root)
        return server

    def mapping_deleted(self, server):
        rows = self.sql('SELECT deleted FROM block_device_mapping WHERE '
                        'instance_uuid=%s AND volume_id=%s',
                        (server['uuid'], server['volume_id']))
        return bool(rows) and all(r[0] for r in rows)

    def events(self, server):
        return self.sql('SELECT a.request_id, e.event, e.result FROM '
                        'instance_actions a LEFT JOIN '
                        'instance_actions_events e ON e.action_id = a.id '
                        'WHERE a.instance_uuid=%s AND '
                        "a.action='detach_volume'", (server['uuid'],))

    def state(self, server):
        """What a detach may change, to show nothing changed."""
        volume = self.volume(server['volume_id'])
        return {
            'status': volume['status'],
            'attachments': sorted(a['attachment_id']
                                  for a in volume['attachments']),
            'mappings': self.sql(
                'SELECT id, deleted FROM block_device_mapping WHERE '
                'instance_uuid=%s ORDER BY id', (server['uuid'],)),
            'actions': self.sql(
                'SELECT COUNT(*) FROM instance_actions WHERE '
                'instance_uuid=%s', (server['uuid'],))[0][0],
        }

    # -- detach ---------------------------------------------------------

    def token(self, user='demo', project='demo'):
        """A new token of ``user`` (never seen by detach_ext or Cinder)."""
        return self.session(user, project).get_token()

    def delete(self, server, token=None, version=None):
        headers = {'X-Auth-Token': token or self.demo.get_token(),
                   'Accept': 'application/json'}
        if version:
            headers['OpenStack-API-Version'] = 'compute %s' % version
        return requests.delete(
            '%s/v2.1/%s/servers/%s/os-volume_attachments/%s'
            % (self.api, self.project['demo'], server['uuid'],
               server['volume_id']), headers=headers, timeout=60)

    def finished(self, server, others=()):
        """What is still missing for a detach the worker finished (empty
        when done).

        :param others: attachment ids of other servers the volume keeps.
        """
        missing = []
        volume = self.volume(server['volume_id'])
        expected = 'in-use' if others else 'available'
        if volume['status'] != expected:
            missing.append('volume %s at Cinder, not %s'
                           % (volume['status'], expected))
        kept = sorted(a['attachment_id'] for a in volume['attachments'])
        if kept != sorted(others):
            missing.append('Cinder attachments %s, not %s'
                           % (kept, sorted(others)))
        if self.attachment_exists(server['attachment_id']):
            missing.append('attachment %s still at Cinder'
                           % server['attachment_id'])
        if not self.mapping_deleted(server):
            missing.append('mapping not soft-deleted')
        events = self.events(server)
        if not any(e[1] == 'compute_detach_volume' and e[2] == 'Success'
                   for e in events):
            missing.append('no compute_detach_volume Success (%s)'
                           % (events,))
        return missing

    def wait_finished(self, server, others=(), timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            missing = self.finished(server, others)
            if not missing or time.monotonic() > deadline or any(
                    e[2] == 'Error' for e in self.events(server)):
                return missing
            time.sleep(0.5)

    def check_202_finished(self, name, server, others=(), **kwargs):
        r = self.delete(server, **kwargs)
        if r.status_code != 202:
            self.results.record(name, False, 'answer %s %s'
                                % (r.status_code, r.text[:300]))
            return
        missing = self.wait_finished(server, others)
        if missing:
            missing.append('worker log: %s' % self.log_tail(
                self.worker_log, 15))
        self.results.record(name, not missing, '; '.join(missing) or
                            'request %s' % r.headers.get(
                                'x-openstack-request-id'))

    def check_refused(self, name, server, status, fault, **kwargs):
        before = self.state(server)
        r = self.delete(server, **kwargs)
        time.sleep(1)  # a cast, had there been one, would have been heard
        after = self.state(server)
        problems = []
        if r.status_code != status:
            problems.append('answer %s, not %s' % (r.status_code, status))
        try:
            body = r.json()
            if fault not in body:
                problems.append('fault %s, not %s' % (list(body), fault))
        except ValueError:
            problems.append('not JSON: %r' % r.text[:200])
        if after != before:
            problems.append('changed: %s -> %s' % (before, after))
        self.results.record(name, not problems, '; '.join(problems) or
                            '%s %s' % (r.status_code, r.text[:200]))
        return r

    # -- checks ---------------------------------------------------------

    def check_member_detach(self):
        server = self.new_attached()
        self.check_202_finished(
            "a member's detach: volume available at Cinder, attachment "
            'gone, mapping soft-deleted, compute_detach_volume Success',
            server)

    def check_multiattach(self):
        first = self.new_attached(multiattach=True)
        second = self.new_attached(multiattach=first['volume_id'])
        volume = self.volume(first['volume_id'])
        if not volume['multiattach'] or len(volume['attachments']) != 2:
            self.results.record('multiattach volume attached twice', False,
                                json.dumps(volume)[:300])
            return
        self.check_202_finished(
            'multiattach: one of two servers detached, the volume in-use '
            "with the other's attachment", first,
            others=[second['attachment_id']])
        self.results.record("multiattach: the other server's mapping is "
                            'kept', not self.mapping_deleted(second))

    def check_available(self):
        server = {'uuid': self.add_server()}
        server['volume_id'] = self.create_volume()
        server['attachment_id'] = str(uuid.uuid4())
        self.add_mapping(server['uuid'], server['volume_id'],
                         server['attachment_id'], None)
        self.check_refused('volume already available at Cinder: 400, '
                           'nothing changed', server, 400, 'badRequest')

    def check_root(self):
        server = self.new_attached(root=True)
        self.check_refused('root volume: 403, nothing changed', server, 403,
                           'forbidden')

    def check_shelved(self):
        server = self.new_attached(vm_state='shelved_offloaded', host=None)
        name = ('shelved_offloaded server at 2.20: finished in the API '
                '(Cinder available, attachment gone, mapping soft-deleted)')
        r = self.delete(server, version='2.20')
        missing = []
        if r.status_code != 202:
            missing.append('answer %s %s' % (r.status_code, r.text[:300]))
        else:
            volume = self.volume(server['volume_id'])
            if volume['status'] != 'available' or volume['attachments']:
                missing.append('volume %s at Cinder' % volume['status'])
            if self.attachment_exists(server['attachment_id']):
                missing.append('attachment still at Cinder')
            if not self.mapping_deleted(server):
                missing.append('mapping not soft-deleted')
            events = self.events(server)
            if not any(e[1] == 'api_detach_volume' and e[2] == 'Success'
                       for e in events):
                missing.append('no api_detach_volume Success (%s)'
                               % (events,))
        self.results.record(name, not missing, '; '.join(missing))

    def check_cinder_down(self):
        server = self.new_attached()
        before = self.state(server)
        token = self.demo.get_token()
        self.stop('cinder-api')
        try:
            r = self.delete(server, token=token)
        finally:
            self.start_cinder_api()
        after = self.state(server)
        problems = []
        if r.status_code != 503 or 'serviceUnavailable' not in r.text:
            problems.append('answer %s %s' % (r.status_code, r.text[:300]))
        if after != before:
            problems.append('changed: %s -> %s' % (before, after))
        self.results.record('cinder-api stopped: 503, nothing changed '
                            '(then started again)', not problems,
                            '; '.join(problems) or '%s %s' % (
                                r.status_code, r.text[:200]))
        # Cinder serves again: the same detach now goes through.
        self.check_202_finished('after cinder-api is back, the same detach '
                                'finishes', server)

    def check_negative_control(self):
        """Without a service token the real Cinder refuses the worker's
        attachment delete (bug #2004555): proves this stage can fail."""
        server = self.new_attached()
        self.stop('worker')
        self.start_worker('[service_user]\nsend_service_user_token = '
                          'false\n', label='worker-no-service-token')
        try:
            r = self.delete(server)
            problems = []
            if r.status_code != 202:
                problems.append('answer %s %s' % (r.status_code,
                                                  r.text[:300]))

            def settled():
                return any(e[2] == 'Error' for e in self.events(server))
            try:
                wait_for(settled, WAIT, 'the worker to give up')
            except RuntimeError as exc:
                problems.append(str(exc))
            volume = self.volume(server['volume_id'])
            if volume['status'] != 'in-use':
                problems.append('volume %s, not back in-use'
                                % volume['status'])
            if not self.attachment_exists(server['attachment_id']):
                problems.append('attachment gone at Cinder')
            if self.mapping_deleted(server):
                problems.append('mapping deleted')
            cinder_log = self.cinder_logs()
            guard = 'Attachment connected to vm %s' % server['uuid']
            asked = 'GET /v2.1/servers/%s/os-volume_attachments/%s' % (
                server['uuid'], server['volume_id'])
            if guard not in cinder_log or 'Bug #2004555' not in cinder_log:
                problems.append("Cinder's guard did not log %r and its "
                                'refusal' % guard)
            if asked not in self.log_text('api.log'):
                problems.append("detach_ext's API got no %r" % asked)
            faults = self.sql('SELECT message FROM instance_faults WHERE '
                              'instance_uuid=%s', (server['uuid'],))
            if not faults:
                problems.append('no instance fault recorded')
            print("INFO: the worker's fault: %s"
                  % (faults[0][0][:300] if faults else None))
            self.results.record(
                'negative control: [service_user] send_service_user_token '
                '= false: Cinder refuses the attachment delete (409) after '
                "asking detach_ext's GET, the volume back in-use",
                not problems, '; '.join(problems))
        finally:
            self.stop('worker')
            self.start_worker()

    def check_roles(self):
        """Which role [cinder] credentials need: a service-only user
        cannot see another project's volume, an admin can."""
        volume_id = self.create_volume()
        answers = {}
        for user in ('service-only', 'detach-ext-cinder'):
            sess = self.session(user, 'service')
            r = sess.get('%s/volumes/%s' % (
                self.volumes_url(self.project['service']), volume_id),
                headers=self.volume_headers(), raise_exc=False)
            answers[user] = r.status_code
        self.results.record(
            "[cinder] credentials need the admin role: another project's "
            'volume is 404 to a service-only user, 200 to an admin',
            answers == {'service-only': 404, 'detach-ext-cinder': 200},
            'answers %s' % answers)

    def check_repair(self):
        """A detach left half-done at Cinder (detaching, instance action
        recorded, the cast lost): a worker's start-up repair finishes it
        with the [cinder] credentials and a service token."""
        server = self.new_attached()
        self.stop('worker')
        r = self.delete(server)
        problems = []
        if r.status_code != 202:
            self.results.record('repair', False, 'answer %s %s'
                                % (r.status_code, r.text[:300]))
            self.start_worker()
            return
        self.rabbitmqctl('purge_queue', '-p', self.vhost['compute'],
                         'compute.%s' % HOST)
        volume = self.volume(server['volume_id'])
        if volume['status'] != 'detaching':
            problems.append('volume %s before the repair'
                            % volume['status'])
        time.sleep(2)  # older than the repair worker's repair_age
        self.start_worker('[compute_worker]\nrepair_age = 1\n'
                          'repair_interval = 0\n', label='worker-repair')
        missing = self.wait_finished(server)
        if 'finishing the detach' not in self.log_text(self.worker_log):
            missing.append('the repair did not log finishing it')
        self.results.record(
            "repair: a detach left detaching at Cinder (queue purged) "
            "finished by a worker's start-up repair", not (
                problems + missing), '; '.join(problems + missing))
        self.stop('worker')
        self.start_worker()

    def check_keystone_down(self):
        server = self.new_attached()
        before = self.state(server)
        # Never validated anywhere: keystonemiddleware must ask Keystone.
        token = self.token()
        self.stop('keystone')
        try:
            r = self.delete(server, token=token)
            problems = []
            if r.status_code != 503:
                problems.append('answer %s' % r.status_code)
            try:
                body = r.json()
                if 'serviceUnavailable' not in body:
                    problems.append('fault %s' % list(body))
            except ValueError:
                problems.append('not JSON: %r' % r.text[:200])
        finally:
            self.start_keystone()
        after = self.state(server)
        if after != before:
            problems.append('changed: %s -> %s' % (before, after))
        self.results.record(
            'Keystone stopped: a JSON 503 from keystonemiddleware, nothing '
            'changed', not problems, '; '.join(problems) or '%s %s' % (
                r.status_code, r.text[:200]))
        return server

    def check_expired_token(self):
        """The user's token expires while the cast waits for a worker:
        Cinder accepts it next to a valid service token (allow_expired)."""
        self.stop('keystone')
        self.keystone_conf_path = self.keystone_conf(SHORT_EXPIRATION)
        self.start_keystone()
        server = self.new_attached()
        self.stop('worker')
        token = self.token()
        r = self.delete(server, token=token)
        problems = []
        if r.status_code != 202:
            problems.append('answer %s %s' % (r.status_code, r.text[:300]))
        else:
            log('waiting %d s for the user token to expire'
                % (SHORT_EXPIRATION + 3))
            time.sleep(SHORT_EXPIRATION + 3)
            check = self.admin.get(self.auth_url + '/auth/tokens',
                                   headers={'X-Subject-Token': token},
                                   raise_exc=False)
            if check.status_code != 404:
                problems.append('the token is still valid (%s)'
                                % check.status_code)
            self.start_worker()
            missing = self.wait_finished(server)
            if missing:
                missing.append('worker log: %s' % self.log_tail(
                    self.worker_log, 15))
            if 'finishing the detach' in self.log_text(self.worker_log):
                missing.append('finished by the repair, not the message')
            problems += missing
        self.results.record(
            "expired token: a detach queued while the user's token expired "
            'is finished by the worker (expired user token + service '
            'token)', not problems, '; '.join(problems))

    def run_checks(self):
        for check in (self.check_member_detach, self.check_multiattach,
                      self.check_available, self.check_root,
                      self.check_shelved, self.check_cinder_down,
                      self.check_negative_control, self.check_roles,
                      self.check_repair, self.check_keystone_down,
                      self.check_expired_token):
            started = time.monotonic()
            try:
                check()
            except Exception:
                traceback.print_exc()
                self.results.record(check.__name__, False,
                                    traceback.format_exc().splitlines()[-1])
            log('%s took %.1f s' % (check.__name__,
                                    time.monotonic() - started))


CONNECTOR = {'host': HOST, 'ip': '127.0.0.1', 'platform': 'x86_64',
             'os_type': 'linux', 'multipath': False,
             'initiator': 'iqn.2026-11.org.detach-ext:%s' % HOST}

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

DETACH_EXT_CONF = """\
[DEFAULT]
transport_url = %(transport_url)s

[database]
connection = %(db)s

[api]
paste_pipeline = main

[keystone_authtoken]
www_authenticate_uri = %(auth_url)s
auth_url = %(auth_url)s
auth_type = password
username = detach-ext
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default
service_token_roles_required = true

[volume]
backend = cinder

[cinder]
auth_type = password
auth_url = %(auth_url)s
username = detach-ext-cinder
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default

[service_user]
send_service_user_token = true
auth_type = password
auth_url = %(auth_url)s
username = detach-ext
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default

[compute_rpc]
cast_retry = 2

[compute_worker]
# The message, not the repair, finishes detaches here (the repair check
# starts a worker of its own).
repair_age = 600
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--db-url',
                        default='mysql+pymysql://root@127.0.0.1:3306')
    parser.add_argument('--rabbit', default='guest:guest@127.0.0.1:5672',
                        help='user:password@host:port, or a rabbit:// URL')
    parser.add_argument('--keep', action='store_true',
                        help='keep the logs and configuration files')
    parser.add_argument('--venv-seconds', type=int, default=0,
                        help='seconds .ci/cinder-stage spent on the '
                             'virtualenvs (for the timings printed)')
    args = parser.parse_args()
    args.rabbit = args.rabbit.replace('rabbit://', '').rstrip('/')
    hostport = args.db_url.split('@', 1)[1]
    args.db_host, _, port = hostport.partition(':')
    args.db_port = int(port or 3306)
    args.db_user = args.db_url.split('//', 1)[1].split('@')[0].split(':')[0]

    stage = Stage(args)

    def terminate(signum, frame):
        raise SystemExit('stopped by signal %d' % signum)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    try:
        stage.setup()
        log('stack up')
        stage.run_checks()
    except BaseException as exc:
        stage.results.record('stage infrastructure', False, str(exc)[:3000])
        if not isinstance(exc, (SystemExit, KeyboardInterrupt)):
            traceback.print_exc()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stage.cleanup()
    log('Cinder stage done')
    stage_seconds = time.monotonic() - START
    print('timings: virtualenvs %d s, stage %.0f s, total %.0f s'
          % (args.venv_seconds, stage_seconds,
             args.venv_seconds + stage_seconds))
    print('%d passed, %d failed' % (stage.results.passed,
                                    stage.results.failed))
    return 1 if stage.results.failed else 0


if __name__ == '__main__':
    sys.exit(main())
