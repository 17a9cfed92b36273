"""The Nova stage: detach_ext inside Nova 34's own API, against real
nova-compute services.

Run by ``.ci/nova-stage`` with the stage's virtualenv (``.nova-venv``:
nova==34.0.0, gunicorn, openstacksdk, python-novaclient, detach_ext)::

    .nova-venv/bin/python -m tests.nova.stage

What it builds, all of it removed at the end (also on failure):

* MariaDB: Nova's API database, cell0, cell1 and cell2 (``nova-manage``);
* RabbitMQ: one vhost per cell;
* the Cinder stand-in (tests/nova/cinder_standin.py) as block storage API;
* per cell a nova-conductor and a nova-compute (fake virt driver);
* Nova's WSGI app (``nova.wsgi.osapi_compute``) under gunicorn, with
  detach_ext in the v2.1 pipelines of Nova's api-paste.ini as
  doc/source/install/nova.rst says;
* servers created with Nova's own objects (tests/nova/nova_side.py).

Then openstacksdk and python-novaclient detach volumes in both cells and
the stage waits (bounded, on state) for nova-compute to finish each one.
Each check prints PASS or FAIL; the last line is ``N passed, N failed``.
"""

import argparse
from concurrent import futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import pymysql
import requests

from tests.cinder_stage import services as keystone_cinder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
NOVA_PASTE = os.path.join(os.path.dirname(BIN), 'etc', 'nova',
                          'api-paste.ini')

USER = 'demo'
PROJECT = uuid.uuid4().hex
TOKEN = '%s:%s' % (USER, PROJECT)
CELLS = ('cell1', 'cell2')
COMPUTE_HOSTS = {'cell1': 'compute-c1', 'cell2': 'compute-c2'}
TAP_HOST = 'tap-c1'  # no nova-compute: the stage reads its casts
# A nova-compute of cell1 whose block storage is the real Cinder (through
# the catalog of the user's token, with its own [service_user] token).
REAL_HOST = 'compute-kc'
# The same without a service token (send_service_user_token = false): the
# negative control, refused by Cinder.
PLAIN_HOST = 'compute-kc-plain'
# A nova-compute service version whose compute RPC is 5.x (Xena's 55:
# compute RPC 5.13), for [upgrade_levels] compute = auto.
OLD_SERVICE_VERSION = 55
# (client, microversion) of each detach that nova-compute finishes.
COMBINATIONS = [('openstacksdk', None), ('novaclient', '2.1'),
                ('novaclient', '2.20'), ('novaclient', '2.79'),
                ('novaclient', '2.89'), ('novaclient', 'latest'),
                ('http', None)]
WAIT = 90  # seconds for a detach to be finished by nova-compute


def log(msg):
    print('[%6.1f] %s' % (time.monotonic() - START, msg), flush=True)


START = time.monotonic()


# The stages share these with the services they start.
free_port = keystone_cinder.free_port
wait_for = keystone_cinder.wait_for


class Results:

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.info = []

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
        self.run_id = 'detach_ext_test_nova_%s' % uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix='nova-stage-')
        self.procs = []
        self.databases = []
        self.vhosts = []
        self.results = Results()
        self.db = {name: '%s_%s' % (self.run_id, name)
                   for name in ('api', 'cell0') + CELLS}
        self.vhost = {cell: '%s_%s' % (self.run_id, cell) for cell in CELLS}
        # Keystone and Cinder (tests/cinder_stage/services.py), for the
        # detaches of REAL_HOST through a Nova API with keystonemiddleware.
        self.keystone_api_port = free_port()
        self.kc = keystone_cinder.KeystoneCinder(
            args, os.path.join(self.dir, 'keystone-cinder'), self.run_id,
            'http://127.0.0.1:%d/v2.1' % self.keystone_api_port)
        os.makedirs(self.kc.dir)

    # -- plumbing -------------------------------------------------------

    def db_url(self, name):
        return '%s/%s?charset=utf8' % (self.args.db_url, self.db[name])

    def transport_url(self, cell):
        return 'rabbit://%s/%s' % (self.args.rabbit, self.vhost[cell])

    def sql(self, name, query, params=()):
        conn = pymysql.connect(host=self.args.db_host,
                               port=self.args.db_port,
                               user=self.args.db_user, password='',
                               database=self.db[name] if name else None,
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()

    def rabbitmqctl(self, *args):
        subprocess.run(['rabbitmqctl', '-q'] + list(args), check=True,
                       stdout=subprocess.DEVNULL, timeout=60)

    def start(self, name, argv, env=None, cwd=ROOT):
        logf = open(os.path.join(self.dir, name + '.log'), 'ab')
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=cwd, env=dict(os.environ, **(env or {})),
                                start_new_session=True)
        proc.stage_name = name
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if proc in self.procs:
            self.procs.remove(proc)

    def run(self, argv, timeout=300):
        result = subprocess.run(argv, cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError('%s failed (%s):\n%s%s' % (
                ' '.join(argv), result.returncode, result.stdout[-3000:],
                result.stderr[-3000:]))
        return result.stdout

    def log_tail(self, name, lines=40):
        try:
            with open(os.path.join(self.dir, name + '.log'), 'rb') as f:
                tail = b''.join(f.readlines()[-lines:])
            return tail.decode('utf-8', 'replace')
        except OSError:
            return ''

    def cleanup(self):
        for proc in list(reversed(self.procs)):
            try:
                self.stop(proc)
            except Exception as exc:
                print('cleanup: stopping %s: %s' % (proc.stage_name, exc))
        self.kc.cleanup()
        for name in self.databases:
            try:
                self.sql(None, 'DROP DATABASE IF EXISTS `%s`' % self.db[name])
            except Exception as exc:
                print('cleanup: dropping %s: %s' % (self.db[name], exc))
        for cell in self.vhosts:
            try:
                self.rabbitmqctl('delete_vhost', self.vhost[cell])
            except Exception as exc:
                print('cleanup: vhost %s: %s' % (self.vhost[cell], exc))
        if self.args.keep:
            print('logs and configuration kept in %s' % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- configuration --------------------------------------------------

    def nova_conf(self, name, cell, host, database, paste=None,
                  real_cinder=False, service_token=True):
        """nova.conf of a service; with ``real_cinder`` its block storage
        is the real Cinder of the catalog, called with a [service_user]
        token, and an API authenticates with keystonemiddleware."""
        state = os.path.join(self.dir, name)
        os.makedirs(state, exist_ok=True)
        path = os.path.join(state, 'nova.conf')
        template = NOVA_CONF
        if real_cinder:
            template = template.replace(STANDIN_CINDER_NOVA,
                                        REAL_CINDER_NOVA % {
                                            'auth_url': self.kc.auth_url,
                                            'password':
                                                keystone_cinder.PASSWORD,
                                            'region':
                                                keystone_cinder.REGION,
                                            'send': str(
                                                service_token).lower()})
        with open(path, 'w') as f:
            if database:
                f.write(NOVA_DB_CONF % {'api_db': self.db_url('api'),
                                        'db': self.db_url(database)})
            f.write(template % {
                'host': host, 'state': state,
                'log_file': os.path.join(state, 'nova.log'),
                'transport_url': self.transport_url(cell),
                'cinder': 'http://127.0.0.1:%d/v3/%%(project_id)s'
                          % self.cinder_port,
                'placement': 'http://127.0.0.1:%d/placement'
                             % self.cinder_port,
                'paste': paste or os.path.join(self.dir, 'api-paste.ini'),
            })
        return path

    def detach_ext_conf(self, name, upgrade_levels=None, real_cinder=False):
        path = os.path.join(self.dir, name)
        template = DETACH_EXT_CONF
        if real_cinder:
            template = template.replace(STANDIN_CINDER_DETACH_EXT,
                                        REAL_CINDER_DETACH_EXT % {
                                            'auth_url': self.kc.auth_url,
                                            'password':
                                                keystone_cinder.PASSWORD})
        text = template % {
            'transport_url': self.transport_url('cell1'),
            'db': self.db_url('cell1'), 'api_db': self.db_url('api'),
            'cinder': 'http://127.0.0.1:%d/v3/%%(project_id)s'
                      % self.cinder_port}
        if upgrade_levels:
            text += '\n[upgrade_levels]\ncompute = %s\n' % upgrade_levels
        with open(path, 'w') as f:
            f.write(text)
        return path

    def paste_ini(self, name, detach_ext_conf, keystone=False):
        """Nova's api-paste.ini with detach_ext right before the final app
        of the v2.1 pipelines (doc/source/install/nova.rst, "Drop-in for
        a Nova + Cinder cloud"); Nova 34 has only the keystone pipeline,
        so unless ``keystone`` detach_ext's noauth2 filter stands in for
        keystonemiddleware's authtoken (it sets the same identity headers
        keystonecontext reads)."""
        out = []
        with open(NOVA_PASTE) as f:
            for line in f.read().splitlines():
                if line.startswith('keystone = ') and \
                        line.endswith(' osapi_compute_app_v21'):
                    if not keystone:
                        line = line.replace(' authtoken ', ' stage_noauth ')
                    if not self.args.control:
                        line = line.replace(
                            ' osapi_compute_app_v21',
                            ' detach_ext osapi_compute_app_v21')
                out.append(line)
        out += ['', '[filter:detach_ext]',
                'paste.filter_factory = detach_ext.deploy:filter_factory',
                'config_file = %s' % detach_ext_conf, '',
                '[filter:stage_noauth]',
                'paste.filter_factory = '
                'detach_ext.api.middleware:NoAuth2.factory', '']
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write('\n'.join(out))
        return path

    # -- setup ----------------------------------------------------------

    def setup(self):
        for name in self.db:
            self.sql(None, 'CREATE DATABASE `%s` CHARACTER SET utf8'
                     % self.db[name])
            self.databases.append(name)
        for cell in CELLS:
            self.rabbitmqctl('add_vhost', self.vhost[cell])
            self.vhosts.append(cell)
            self.rabbitmqctl('set_permissions', '-p', self.vhost[cell],
                             self.args.rabbit.split(':')[0],
                             '.*', '.*', '.*')
        log('databases %s and vhosts %s created'
            % (', '.join(self.db.values()), ', '.join(self.vhost.values())))
        # Keystone's and Cinder's databases are built beside Nova's.
        self.kc.create_backing()
        pool = futures.ThreadPoolExecutor(2)
        kc_jobs = [pool.submit(self.kc.setup_keystone),
                   pool.submit(self.kc.setup_cinder)]
        pool.shutdown(wait=False)

        port_file = os.path.join(self.dir, 'cinder.port')
        self.start('cinder-standin', [sys.executable, '-m',
                                      'tests.nova.cinder_standin',
                                      port_file])
        self.cinder_port = int(wait_for(
            lambda: os.path.exists(port_file) and open(port_file).read(),
            30, 'the Cinder stand-in'))
        self.cinder = 'http://127.0.0.1:%d' % self.cinder_port

        self.conf = {
            'api': self.nova_conf('api', 'cell1', 'api', 'cell0'),
            'super': self.nova_conf('super', 'cell1', 'super', 'cell1'),
        }
        for cell in CELLS:
            self.conf['conductor-' + cell] = self.nova_conf(
                'conductor-' + cell, cell, 'conductor-' + cell, cell)
            # nova-compute reaches the database through its conductor only.
            self.conf['compute-' + cell] = self.nova_conf(
                'compute-' + cell, cell, COMPUTE_HOSTS[cell], None)
        self.detach_conf = self.detach_ext_conf('detach_ext.conf')
        self.paste = self.paste_ini('api-paste.ini', self.detach_conf)
        self.auto_conf = self.detach_ext_conf('detach_ext-auto.conf', 'auto')
        self.auto_paste = self.paste_ini('api-paste-auto.ini',
                                         self.auto_conf)
        self.conf['compute-kc'] = self.nova_conf(
            'compute-kc', 'cell1', REAL_HOST, None, real_cinder=True)
        self.conf['compute-kc-plain'] = self.nova_conf(
            'compute-kc-plain', 'cell1', PLAIN_HOST, None, real_cinder=True,
            service_token=False)
        self.keystone_conf = self.detach_ext_conf(
            'detach_ext-keystone.conf', real_cinder=True)
        self.keystone_paste = self.paste_ini(
            'api-paste-keystone.ini', self.keystone_conf, keystone=True)

        manage = [os.path.join(BIN, 'nova-manage'), '--config-file']
        self.run(manage + [self.conf['api'], 'api_db', 'sync'])
        self.run(manage + [self.conf['api'], 'cell_v2', 'map_cell0',
                           '--database_connection', self.db_url('cell0')])
        # cell0 (through its mapping) with cell1, and cell2, in parallel.
        syncs = [subprocess.Popen(
            manage + [self.conf['conductor-' + cell], 'db', 'sync'] +
            (['--local_cell'] if cell != 'cell1' else []), cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for cell in CELLS]
        for cell, sync in zip(CELLS, syncs):
            out = sync.communicate(timeout=300)[0]
            if sync.returncode:
                raise RuntimeError('db sync of %s failed:\n%s'
                                   % (cell, out.decode()[-3000:]))
        for cell in CELLS:
            self.run(manage + [self.conf['api'], 'cell_v2', 'create_cell',
                               '--name', cell,
                               '--database_connection', self.db_url(cell),
                               '--transport-url', self.transport_url(cell)])
        log('Nova databases built with nova-manage (api, cell0, %s)'
            % ', '.join(CELLS))

        for job in kc_jobs:
            job.result()
        self.kc.start_keystone(wait=False)
        self.kc.start_cinder()

        for cell in CELLS:
            self.start('conductor-' + cell, [
                os.path.join(BIN, 'nova-conductor'), '--config-file',
                self.conf['conductor-' + cell]])
            self.start('compute-' + cell, [
                os.path.join(BIN, 'nova-compute'), '--config-file',
                self.conf['compute-' + cell]])
        for name in ('compute-kc', 'compute-kc-plain'):
            self.start(name, [os.path.join(BIN, 'nova-compute'),
                              '--config-file', self.conf[name]])
        self.kc.wait_http('keystone', self.kc.auth_url)
        self.kc.populate_keystone()
        self.kc.wait_cinder()
        log('Keystone and Cinder up (tests/cinder_stage/services.py)')
        self.api_url = self.start_api('api', self.paste)
        self.keystone_api_url = self.start_api(
            'api-keystone', self.keystone_paste,
            port=self.keystone_api_port, real_cinder=True)
        for cell in CELLS:
            for binary, host in (('nova-conductor', 'conductor-' + cell),
                                 ('nova-compute', COMPUTE_HOSTS[cell])):
                self.wait_service(cell, binary, host)
        self.wait_service('cell1', 'nova-compute', REAL_HOST, 'compute-kc')
        self.wait_service('cell1', 'nova-compute', PLAIN_HOST,
                          'compute-kc-plain')
        log('nova-conductor and nova-compute (fake driver) up in %s, and '
            'nova-computes %s and %s (real Cinder)'
            % (', '.join(CELLS), REAL_HOST, PLAIN_HOST))

    def start_api(self, name, paste, nova_extra='', port=None,
                  real_cinder=False):
        port = port or free_port()
        conf = self.nova_conf(name, 'cell1', name, 'cell0', paste,
                              real_cinder)
        with open(conf, 'a') as f:
            f.write(nova_extra)
        # Nova parses sys.argv as its own command line (config.parse_args),
        # so gunicorn gets no arguments: its settings come from
        # gunicorn.conf.py in its working directory.
        state = os.path.dirname(conf)
        with open(os.path.join(state, 'gunicorn.conf.py'), 'w') as f:
            f.write(GUNICORN_CONF % {'port': port})
        # Nova's WSGI app loads the first of its files as the paste file.
        shutil.copy(paste, os.path.join(state, 'api-paste.ini'))
        proc = self.start(name, [os.path.join(BIN, 'gunicorn')],
                          cwd=state,
                          env={'OS_NOVA_CONFIG_DIR': state,
                               'OS_NOVA_CONFIG_FILES':
                                   'api-paste.ini;nova.conf'})
        url = 'http://127.0.0.1:%d' % port
        proc.url = url
        self.wait_api(proc)
        return url

    def wait_api(self, proc):
        def up():
            if proc.poll() is not None:
                raise SystemExit('%s exited:\n%s' % (
                    proc.stage_name, self.log_tail(proc.stage_name)))
            # 401: the pipeline is up, with keystonemiddleware in it.
            return requests.get(proc.url + '/v2.1',
                                timeout=5).status_code in (200, 401)
        try:
            wait_for(up, 120, 'Nova API %s' % proc.stage_name)
        except SystemExit as exc:
            raise RuntimeError(str(exc))

    def wait_service(self, cell, binary, host, name=None):
        proc = next(p for p in self.procs if p.stage_name == (
            name or binary.replace('nova-', '') + '-' + cell))

        def up():
            if proc.poll() is not None:
                raise SystemExit('%s exited:\n%s' % (
                    proc.stage_name,
                    self.log_tail(proc.stage_name) + self.nova_log(
                        proc.stage_name)))
            return self.sql(cell, 'SELECT id FROM services WHERE host=%s '
                            'AND `binary`=%s AND deleted=0 AND '
                            'report_count > 0', (host, binary))
        try:
            wait_for(up, 120, '%s %s in %s' % (binary, host, cell))
        except SystemExit as exc:
            raise RuntimeError(str(exc))

    def nova_log(self, name, lines=60):
        try:
            with open(os.path.join(self.dir, name, 'nova.log'), 'rb') as f:
                return b''.join(f.readlines()[-lines:]).decode(
                    'utf-8', 'replace')
        except OSError:
            return ''

    # -- servers --------------------------------------------------------

    def new_server(self, cell, name, host, vm_state='active'):
        server = {'cell': cell, 'name': name, 'uuid': str(uuid.uuid4()),
                  'host': host, 'vm_state': vm_state,
                  'power_state': 4 if vm_state == 'shelved_offloaded'
                  else 1,
                  'project_id': PROJECT, 'user_id': USER,
                  'image_ref': '155d900f-4e14-4e4c-a73d-069cbf4541e6',
                  'volume_id': str(uuid.uuid4()),
                  'attachment_id': str(uuid.uuid4())}
        self.servers.append(server)
        return server

    def seed(self):
        self.servers = []
        self.detaches = []
        for cell in CELLS:
            for client, version in COMBINATIONS:
                label = '%s %s' % (client, version or (
                    '(negotiated)' if client == 'openstacksdk'
                    else '(no version)'))
                server = self.new_server(cell, 'srv-%s-%s-%s' % (
                    cell, client, version or 'none'), COMPUTE_HOSTS[cell])
                self.detaches.append((label, client, version, server))
        self.shelved = [self.new_server(cell, 'shelved-' + cell, None,
                                        'shelved_offloaded')
                        for cell in CELLS]
        self.tap = {k: self.new_server('cell1', 'tap-' + k, TAP_HOST)
                    for k in ('primitive', 'auto-new', 'auto-old')}
        for server in self.servers:
            r = requests.post(self.cinder + '/_standin/volumes', json={
                'id': server['volume_id'], 'status': 'in-use',
                'attachment_id': server['attachment_id']}, timeout=10)
            r.raise_for_status()
        spec = os.path.join(self.dir, 'servers.json')
        with open(spec, 'w') as f:
            json.dump(self.servers, f)
        self.run([sys.executable, '-m', 'tests.nova.nova_side',
                  '--config-file', self.conf['api'], 'seed', spec])
        log('%d servers seeded with Nova objects (instances, volume BDMs '
            'with attachment ids, instance mappings), volumes in-use at '
            'the stand-in' % len(self.servers))

    # -- clients --------------------------------------------------------

    def session(self, url):
        from keystoneauth1 import session
        from keystoneauth1 import token_endpoint
        return session.Session(auth=token_endpoint.Token(url + '/v2.1',
                                                         TOKEN))

    def detach(self, client, version, server, url=None):
        """Detach with a client; returns (request id or None, detail)."""
        url = url or self.api_url
        if client == 'openstacksdk':
            import openstack
            from openstack.compute.v2 import server as sdk_server
            sess = self.session(url)
            responses = []
            sess.session.hooks['response'].append(
                lambda r, *a, **k: responses.append(r))
            conn = openstack.connection.Connection(
                session=sess, compute_endpoint_override=url + '/v2.1')
            conn.compute.delete_volume_attachment(
                sdk_server.Server(id=server['uuid']), server['volume_id'])
            delete = [r for r in responses if r.request.method == 'DELETE']
            if not delete:
                raise RuntimeError('openstacksdk sent no DELETE')
            return (delete[-1].headers.get('x-openstack-request-id'),
                    'openstacksdk negotiated %s' %
                    delete[-1].request.headers.get('OpenStack-API-Version'))
        if client == 'novaclient':
            from novaclient import api_versions
            from novaclient import client as nova_client

            def client(v):
                return nova_client.Client(v, session=self.session(url),
                                          endpoint_override=url + '/v2.1')
            if version == 'latest':
                # What the nova CLI does for --os-compute-api-version
                # 2.latest: the highest version client and server share.
                version = api_versions.discover_version(
                    client('2.1'), api_versions.APIVersion('2.latest'))
            nova = client(version)
            result = nova.volumes.delete_server_volume(server['uuid'],
                                                       server['volume_id'])
            ids = getattr(result, 'request_ids', None) or [None]
            return ids[0], 'novaclient sent %s' % (
                nova.api_version.get_string())
        headers = {'X-Auth-Token': TOKEN}
        if version:
            headers['OpenStack-API-Version'] = 'compute %s' % version
        r = requests.delete('%s/v2.1/%s/servers/%s/os-volume_attachments/%s'
                            % (url, PROJECT, server['uuid'],
                               server['volume_id']),
                            headers=headers, timeout=60)
        if r.status_code != 202:
            raise RuntimeError('%s %s' % (r.status_code, r.text[:300]))
        return r.headers.get('x-openstack-request-id'), 'HTTP 202'

    def answered_by_detach_ext(self, server, request_id, api='api'):
        """detach_ext logs the cast with the request id; Nova's own API
        never writes this line."""
        if self.args.control:
            return True
        with open(os.path.join(self.dir, api, 'nova.log'),
                  errors='replace') as f:
            for line in f:
                if ('detach_ext.compute.api' in line and
                        'Detaching volume %s: cast' % server['volume_id']
                        in line and (request_id is None or
                                     request_id in line)):
                    return True
        return False

    # -- state ----------------------------------------------------------

    def volume(self, server):
        r = requests.get('%s/_standin/volumes/%s'
                         % (self.cinder, server['volume_id']), timeout=10)
        r.raise_for_status()
        return r.json()

    def bdm_deleted(self, server):
        rows = self.sql(server['cell'], 'SELECT deleted FROM '
                        'block_device_mapping WHERE instance_uuid=%s AND '
                        'volume_id=%s', (server['uuid'],
                                         server['volume_id']))
        return bool(rows) and all(r[0] for r in rows)

    def events(self, server):
        return self.sql(server['cell'], 'SELECT a.request_id, e.event, '
                        'e.result FROM instance_actions a LEFT JOIN '
                        'instance_actions_events e ON e.action_id = a.id '
                        'WHERE a.instance_uuid=%s AND a.action='
                        "'detach_volume'", (server['uuid'],))

    def finished_by_compute(self, server, request_id):
        """What is still missing (empty when nova-compute finished)."""
        missing = []
        vol = self.volume(server)
        if vol['volume']['status'] != 'available' or vol['attachments']:
            missing.append('volume %s at the stand-in'
                           % vol['volume']['status'])
        if not any(c['action'] == 'attachment_delete' and
                   c['microversion'] == 'volume 3.44'
                   for c in vol['calls']):
            missing.append('no attachment delete at 3.44')
        if not self.bdm_deleted(server):
            missing.append('BDM not soft-deleted')
        events = self.events(server)
        if not any(e[1] == 'compute_detach_volume' and e[2] == 'Success'
                   for e in events):
            missing.append('no compute_detach_volume Success event (%s)'
                           % (events,))
        if request_id and not any(e[0] == request_id for e in events):
            missing.append('no detach_volume action of %s' % request_id)
        return missing

    # -- checks ---------------------------------------------------------

    def check_detaches(self):
        pending = []
        for label, client, version, server in self.detaches:
            name = '%s detach in %s' % (label, server['cell'])
            try:
                request_id, detail = self.detach(client, version, server)
            except Exception as exc:
                self.results.record(name, False, 'request: %s' % (
                    str(exc).splitlines()[0][:300] if str(exc) else
                    type(exc).__name__))
                continue
            pending.append((name, server, request_id, detail))
        deadline = time.monotonic() + WAIT
        for name, server, request_id, detail in pending:
            while True:
                missing = self.finished_by_compute(server, request_id)
                if not missing or time.monotonic() > deadline or any(
                        e[2] == 'Error' for e in self.events(server)):
                    break
                time.sleep(0.3)
            if not self.answered_by_detach_ext(server, request_id):
                missing.append('no detach_ext cast line in the Nova API log')
            self.results.record(
                name + ': nova-compute finished it', not missing,
                '; '.join(missing) if missing else '%s, request %s'
                % (detail, request_id))

    def check_shelved(self):
        for server in self.shelved:
            name = ('novaclient 2.20 detach from shelved_offloaded server '
                    'in %s finished in the API' % server['cell'])
            try:
                request_id, _ = self.detach('novaclient', '2.20', server)
            except Exception as exc:
                self.results.record(name, False, 'request: %s'
                                    % str(exc).splitlines()[0][:300])
                continue
            missing = []
            vol = self.volume(server)
            if vol['volume']['status'] != 'available' or vol['attachments']:
                missing.append('volume %s' % vol['volume']['status'])
            if not self.bdm_deleted(server):
                missing.append('BDM not soft-deleted')
            events = self.events(server)
            if not any(e[1] == 'api_detach_volume' and e[2] == 'Success'
                       for e in events):
                missing.append('no api_detach_volume Success (%s)'
                               % (events,))
            if any(e[1] == 'compute_detach_volume' for e in events):
                missing.append('a compute event (it was cast)')
            self.results.record(name, not missing, '; '.join(missing))

    def tap_queue(self):
        import kombu
        conn = kombu.Connection(self.transport_url('cell1').replace(
            'rabbit://', 'amqp://'))
        channel = conn.channel()
        queue = 'stage-tap-%s' % self.run_id
        channel.exchange_declare('nova', 'topic', durable=False,
                                 auto_delete=False)
        channel.queue_declare(queue, durable=False, auto_delete=False)
        channel.queue_bind(queue, 'nova', 'compute.%s' % TAP_HOST)

        def read(timeout=15):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = channel.basic_get(queue, no_ack=True)
                if message is not None:
                    body = json.loads(message.body)
                    return json.loads(body['oslo.message'])
                time.sleep(0.2)
            return None
        return conn, read

    def check_wire(self):
        """The primitive detach_ext casts vs what Nova's code builds, and
        [upgrade_levels] compute = auto (6.x, then 5.0 with an older
        nova-compute service row, in a new API process)."""
        conn, read = self.tap_queue()
        try:
            server = self.tap['primitive']
            try:
                self.tap_service_up()
                self.detach('http', '2.1', server)
                message = read()
            except Exception as exc:
                message = None
                print('INFO: primitive comparison: detach failed: %s' % exc)
            if message:
                self.compare_primitive(server, message)
            else:
                print('INFO: primitive comparison: no message read')

            self.check_auto('auto-new', lambda v: v.startswith('6.'),
                            '6.x', read)
            self.sql('cell1', 'INSERT INTO services (created_at, host, '
                     '`binary`, topic, report_count, disabled, deleted, '
                     'version, uuid, forced_down) VALUES (NOW(), '
                     "'old-compute', 'nova-compute', 'compute', 1, 0, 0, "
                     "%s, %s, 0)", (OLD_SERVICE_VERSION, str(uuid.uuid4())))
            self.check_auto('auto-old', lambda v: v == '5.0',
                            '5.0 with a nova-compute of service version %d'
                            % OLD_SERVICE_VERSION, read)
        finally:
            conn.close()

    def tap_service_up(self):
        """A live nova-compute service row for the wire tap's host, at
        today's service version: Nova's API checks the host is up before
        it casts (detach_ext does not look)."""
        rows = self.sql('cell1', "SELECT id FROM services WHERE host=%s",
                        (TAP_HOST,))
        if rows:
            self.sql('cell1', 'UPDATE services SET updated_at=NOW(), '
                     'last_seen_up=NOW() WHERE host=%s', (TAP_HOST,))
            return
        version = self.sql('cell1', "SELECT MAX(version) FROM services "
                           "WHERE `binary`='nova-compute'")[0][0]
        self.sql('cell1', 'INSERT INTO services (created_at, updated_at, '
                 'last_seen_up, host, `binary`, topic, report_count, '
                 'disabled, deleted, version, uuid, forced_down) VALUES '
                 "(NOW(), NOW(), NOW(), %s, 'nova-compute', 'compute', 1, "
                 "0, 0, %s, %s, 0)", (TAP_HOST, version, str(uuid.uuid4())))

    def check_auto(self, key, ok, expected, read):
        name = '[upgrade_levels] compute = auto casts %s' % expected
        proc = None
        try:
            url = self.start_api(
                'api-' + key, self.auto_paste,
                '\n[upgrade_levels]\ncompute = auto\n'
                if self.args.control else '')
            self.tap_service_up()
            proc = self.procs[-1]
            self.detach('http', '2.1', self.tap[key], url=url)
            message = read()
            version = message and message.get('version')
            self.results.record(name, bool(version) and ok(version),
                                'version on the wire: %s' % version)
        except Exception as exc:
            self.results.record(name, False, str(exc).splitlines()[0][:300])
        finally:
            if proc is not None:
                self.stop(proc)

    def compare_primitive(self, server, message):
        ours = message['args']['instance']
        out = self.run([sys.executable, '-m', 'tests.nova.nova_side',
                        '--config-file', self.conf['api'], 'primitive',
                        server['uuid']])
        nova = json.loads(out.strip().splitlines()[-1])
        diffs = diff_primitive(nova, ours)
        for line in diffs:
            print('INFO:   ' + line)
        self.results.record(
            'instance primitive cast by %s equals the one Nova 34\'s API '
            'casts' % ('Nova\'s API (control run)' if self.args.control
                       else 'detach_ext'), not diffs,
            '%d difference(s) (service heartbeat fields not compared)'
            % len(diffs))

    def real_cinder_detach(self, host):
        """A server of ``host`` with a volume attached at the real Cinder
        (as Nova attaches it), detached by a member through the Nova API
        with keystonemiddleware; waits until nova-compute is done.

        :returns: (server, request id, what is missing for a detach
            finished at Cinder).
        """
        kc = self.kc
        server = {'cell': 'cell1', 'name': 'srv-' + host,
                  'uuid': str(uuid.uuid4()), 'host': host,
                  'vm_state': 'active', 'power_state': 1,
                  'project_id': kc.project['demo'],
                  'user_id': kc.user['demo'],
                  'image_ref': '155d900f-4e14-4e4c-a73d-069cbf4541e6'}
        server['volume_id'] = kc.create_volume()
        server['attachment_id'], server['connection_info'] = kc.attach(
            server['volume_id'], server['uuid'], host)
        spec = os.path.join(self.dir, 'servers-%s.json' % host)
        with open(spec, 'w') as f:
            json.dump([server], f)
        self.run([sys.executable, '-m', 'tests.nova.nova_side',
                  '--config-file', self.conf['api'], 'seed', spec])
        from novaclient import client as nova_client
        nova = nova_client.Client('2.89', session=kc.demo,
                                  region_name=keystone_cinder.REGION)
        result = nova.volumes.delete_server_volume(server['uuid'],
                                                   server['volume_id'])
        request_id = (getattr(result, 'request_ids', None) or [None])[0]
        deadline = time.monotonic() + WAIT
        while True:
            # An Error event is written last: read it before the rest.
            failed = any(e[2] == 'Error' for e in self.events(server))
            missing = []
            volume = kc.volume(server['volume_id'])
            if volume['status'] != 'available' or volume['attachments']:
                missing.append('volume %s at Cinder' % volume['status'])
            if kc.attachment_exists(server['attachment_id']):
                missing.append('attachment still at Cinder')
            if not self.bdm_deleted(server):
                missing.append('BDM not soft-deleted')
            events = self.events(server)
            if not any(e[1] == 'compute_detach_volume' and
                       e[2] == 'Success' for e in events):
                missing.append('no compute_detach_volume Success (%s)'
                               % (events,))
            if not missing or failed or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not self.answered_by_detach_ext(server, request_id,
                                           api='api-keystone'):
            missing.append('no detach_ext cast line in the Nova API log')
        return server, request_id, missing

    def check_real_cinder(self):
        """A member's detach through a Nova API with keystonemiddleware,
        finished by a nova-compute against the real Cinder with its own
        [service_user] token (Cinder refuses a plain user's delete of a
        connected attachment, bug #2004555)."""
        server, request_id, missing = self.real_cinder_detach(REAL_HOST)
        self.results.record(
            "a member's detach through Nova's API with keystonemiddleware"
            ', finished by nova-compute against the real Cinder with its '
            '[service_user] token (volume available, attachment gone, '
            'mapping deleted)', not missing,
            '; '.join(missing) or 'request %s' % request_id)

    def check_real_cinder_control(self):
        """The negative control: a nova-compute without a service token
        is refused by Cinder, so the check above can fail.  (Nova leaves
        the volume detaching then: it rolls back only a failed unplug.)"""
        server, request_id, missing = self.real_cinder_detach(PLAIN_HOST)
        volume = self.kc.volume(server['volume_id'])
        problems = []
        if volume['status'] == 'available':
            problems.append('volume available')
        if not self.kc.attachment_exists(server['attachment_id']):
            problems.append('attachment gone at Cinder')
        if self.bdm_deleted(server):
            problems.append('BDM deleted')
        if not any(e[2] == 'Error' for e in self.events(server)):
            problems.append('no Error event (%s)' % (self.events(server),))
        guard = 'Attachment connected to vm %s' % server['uuid']
        logs = os.path.join(self.kc.dir, 'cinder-logs')
        if not any(guard in self.kc.log_text(os.path.join(
                'cinder-logs', name)) for name in os.listdir(logs)):
            problems.append("Cinder's guard did not log %r" % guard)
        self.results.record(
            'negative control: a nova-compute with send_service_user_token '
            '= false is refused by Cinder (ConflictNovaUsingAttachment: '
            'attachment and mapping kept, the event Error)', not problems,
            '; '.join(problems) or 'volume left %s by Nova'
            % volume['status'])

    # -- the real Cinder: the cases of tests/cinder_stage inside Nova ----

    def real_server(self, name, host=REAL_HOST, vm_state='active',
                    volume_id=None, multiattach=False, root=False,
                    attach=True):
        """A server of the demo project with a volume of the real Cinder,
        attached as Nova attaches it (a shelved offloaded server without
        a connector), or with ``attach=False`` only mapped (its
        attachment id unknown to Cinder); seeded by
        :meth:`seed_real_cinder_servers`."""
        kc = self.kc
        server = {'cell': 'cell1', 'name': name, 'uuid': str(uuid.uuid4()),
                  'host': host, 'vm_state': vm_state,
                  'power_state': 4 if vm_state == 'shelved_offloaded'
                  else 1,
                  'project_id': kc.project['demo'],
                  'user_id': kc.user['demo'], 'root': root,
                  'image_ref': '155d900f-4e14-4e4c-a73d-069cbf4541e6'}
        server['volume_id'] = volume_id or kc.create_volume(multiattach)
        if attach:
            server['attachment_id'], server['connection_info'] = \
                kc.attach(server['volume_id'], server['uuid'], host)
        else:
            server['attachment_id'] = str(uuid.uuid4())
        return server

    def seed_real_cinder_servers(self):
        """The servers of the checks below, with one nova_side run."""
        first = self.real_server('srv-multiattach-1', multiattach=True)
        self.real = {
            'multiattach': first,
            'multiattach-other': self.real_server(
                'srv-multiattach-2', volume_id=first['volume_id']),
            'available': self.real_server('srv-available', attach=False),
            'root': self.real_server('srv-root', root=True),
            'shelved': self.real_server('srv-shelved-kc', host=None,
                                        vm_state='shelved_offloaded'),
            'cinder-down': self.real_server('srv-cinder-down'),
        }
        spec = os.path.join(self.dir, 'servers-real-cinder.json')
        with open(spec, 'w') as f:
            json.dump(list(self.real.values()), f)
        self.run([sys.executable, '-m', 'tests.nova.nova_side',
                  '--config-file', self.conf['api'], 'seed', spec])
        log('%d servers seeded with volumes of the real Cinder (a '
            'multiattach volume on two, one only mapped, a root volume, a '
            'shelved offloaded server)' % len(self.real))

    def kc_delete(self, server, token=None, version=None):
        """The member's DELETE through api-keystone with a real Keystone
        token."""
        headers = {'X-Auth-Token': token or self.kc.demo.get_token(),
                   'Accept': 'application/json'}
        if version:
            headers['OpenStack-API-Version'] = 'compute %s' % version
        return requests.delete(
            '%s/v2.1/%s/servers/%s/os-volume_attachments/%s'
            % (self.keystone_api_url, self.kc.project['demo'],
               server['uuid'], server['volume_id']),
            headers=headers, timeout=60)

    def real_state(self, server):
        """What a detach may change, at Cinder and in Nova's cell."""
        volume = self.kc.volume(server['volume_id'])
        return {
            'status': volume['status'],
            'attachments': sorted(a['attachment_id']
                                  for a in volume['attachments']),
            'mappings': self.sql(
                'cell1', 'SELECT id, deleted, attachment_id FROM '
                'block_device_mapping WHERE instance_uuid=%s ORDER BY id',
                (server['uuid'],)),
            'instance': self.sql(
                'cell1', 'SELECT vm_state, task_state FROM instances '
                'WHERE uuid=%s', (server['uuid'],)),
            'actions': self.sql(
                'cell1', 'SELECT COUNT(*) FROM instance_actions WHERE '
                'instance_uuid=%s', (server['uuid'],))[0][0],
        }

    def real_finished(self, server, others=()):
        """What is still missing for a detach nova-compute finished at
        the real Cinder (empty when done).

        :param others: attachment ids of other servers the volume keeps.
        """
        missing = []
        volume = self.kc.volume(server['volume_id'])
        expected = 'in-use' if others else 'available'
        if volume['status'] != expected:
            missing.append('volume %s at Cinder, not %s'
                           % (volume['status'], expected))
        kept = sorted(a['attachment_id'] for a in volume['attachments'])
        if kept != sorted(others):
            missing.append('Cinder attachments %s, not %s'
                           % (kept, sorted(others)))
        if self.kc.attachment_exists(server['attachment_id']):
            missing.append('attachment still at Cinder')
        if not self.bdm_deleted(server):
            missing.append('BDM not soft-deleted')
        events = self.events(server)
        if not any(e[1] == 'compute_detach_volume' and e[2] == 'Success'
                   for e in events):
            missing.append('no compute_detach_volume Success (%s)'
                           % (events,))
        return missing

    def real_202_finished(self, server, others=(), token=None):
        """DELETE through api-keystone, then wait for nova-compute.

        :returns: (what is missing, the request id).
        """
        r = self.kc_delete(server, token=token)
        request_id = r.headers.get('x-openstack-request-id')
        if r.status_code != 202:
            return ['answer %s %s' % (r.status_code, r.text[:300])], \
                request_id
        deadline = time.monotonic() + WAIT
        while True:
            # An Error event is written last: read it before the rest.
            failed = any(e[2] == 'Error' for e in self.events(server))
            missing = self.real_finished(server, others)
            if not missing or failed or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not self.answered_by_detach_ext(server, request_id,
                                           api='api-keystone'):
            missing.append('no detach_ext cast line in the Nova API log')
        return missing, request_id

    def real_refused(self, name, server, status, fault, message=None):
        """A refused DELETE through api-keystone: the answer, and nothing
        changed at Cinder or in Nova's database."""
        before = self.real_state(server)
        r = self.kc_delete(server)
        time.sleep(1)  # a cast, had there been one, would have been heard
        after = self.real_state(server)
        problems = []
        if r.status_code != status:
            problems.append('answer %s, not %s' % (r.status_code, status))
        try:
            body = r.json()
            if fault not in body:
                problems.append('fault %s, not %s' % (list(body), fault))
            elif message and message not in body[fault].get('message', ''):
                problems.append('message %r, not %r'
                                % (body[fault].get('message'), message))
        except ValueError:
            problems.append('not JSON: %r' % r.text[:200])
        if after != before:
            problems.append('changed: %s -> %s' % (before, after))
        self.results.record(name, not problems, '; '.join(problems) or
                            '%s %s; volume %s at Cinder, unchanged' % (
                                r.status_code, r.text[:200],
                                after['status']))

    def check_real_multiattach(self):
        first = self.real['multiattach']
        second = self.real['multiattach-other']
        volume = self.kc.volume(first['volume_id'])
        if not volume['multiattach'] or len(volume['attachments']) != 2:
            self.results.record('real Cinder: multiattach volume attached '
                                'to two servers', False,
                                json.dumps(volume)[:300])
            return
        missing, request_id = self.real_202_finished(
            first, others=[second['attachment_id']])
        if self.bdm_deleted(second):
            missing.append("the other server's mapping deleted")
        if not self.kc.attachment_exists(second['attachment_id']):
            missing.append("the other server's attachment gone at Cinder")
        self.results.record(
            'real Cinder through api-keystone: one of two servers of a '
            'multiattach volume detached (finished by nova-compute %s): '
            "the volume in-use with the other's attachment, the other's "
            'mapping kept' % REAL_HOST, not missing, '; '.join(missing) or
            'request %s; volume in-use with attachment %s only'
            % (request_id, second['attachment_id']))

    def check_real_available(self):
        message = 'Invalid volume: already detached'
        if self.args.control:
            # Nova 34 asks Cinder to begin detaching and passes its
            # refusal on (doc/source/reference/message.rst).
            message = "Volume status must be 'in-use'"
        self.real_refused(
            'real Cinder through api-keystone: a volume already available '
            "at Cinder (its mapping live in Nova's database): 400 %s, "
            'nothing changed' % message, self.real['available'], 400,
            'badRequest', message)

    def check_real_root(self):
        # The contract's 403; Nova 34 answers 400 (reference/message.rst).
        status, fault = (400, 'badRequest') if self.args.control else (
            403, 'forbidden')
        self.real_refused(
            'real Cinder through api-keystone: the root volume (boot index '
            '0): %d, nothing changed' % status, self.real['root'], status,
            fault)

    def check_real_shelved(self):
        server = self.real['shelved']
        r = self.kc_delete(server, version='2.20')
        missing = []
        if r.status_code != 202:
            missing.append('answer %s %s' % (r.status_code, r.text[:300]))
        else:
            volume = self.kc.volume(server['volume_id'])
            if volume['status'] != 'available' or volume['attachments']:
                missing.append('volume %s at Cinder' % volume['status'])
            if self.kc.attachment_exists(server['attachment_id']):
                missing.append('attachment still at Cinder')
            if not self.bdm_deleted(server):
                missing.append('BDM not soft-deleted')
            events = self.events(server)
            if not any(e[1] == 'api_detach_volume' and e[2] == 'Success'
                       for e in events):
                missing.append('no api_detach_volume Success (%s)'
                               % (events,))
            if any(e[1] == 'compute_detach_volume' for e in events):
                missing.append('a compute event (it was cast)')
        self.results.record(
            'real Cinder through api-keystone: a shelved_offloaded server '
            'at 2.20, finished in the API (Cinder available, attachment '
            'gone, mapping soft-deleted)', not missing, '; '.join(missing)
            or '202, request %s' % r.headers.get('x-openstack-request-id'))

    def check_real_cinder_down(self):
        server = self.real['cinder-down']
        before = self.real_state(server)
        token = self.kc.demo.get_token()
        self.kc.stop('cinder-api')
        try:
            r = self.kc_delete(server, token=token)
        finally:
            self.kc.start_cinder_api()
        after = self.real_state(server)
        # detach_ext's 503; Nova 34 fails with CinderConnectionFailed, a
        # 500 (reference/message.rst).
        status, fault = (500, 'computeFault') if self.args.control else (
            503, 'serviceUnavailable')
        problems = []
        if r.status_code != status:
            problems.append('answer %s %s' % (r.status_code, r.text[:300]))
        try:
            if fault not in r.json():
                problems.append('fault %s' % list(r.json()))
        except ValueError:
            problems.append('not JSON: %r' % r.text[:200])
        if after != before:
            problems.append('changed: %s -> %s' % (before, after))
        self.results.record(
            'real Cinder through api-keystone: cinder-api stopped: a JSON '
            '%d, nothing changed (then started again)' % status,
            not problems,
            '; '.join(problems) or '%s %s' % (r.status_code, r.text[:200]))
        # Cinder serves again: the same detach now goes through.
        missing, request_id = self.real_202_finished(server, token=token)
        self.results.record(
            'real Cinder through api-keystone: after cinder-api is back, '
            'the same detach is finished by nova-compute %s' % REAL_HOST,
            not missing, '; '.join(missing) or 'request %s' % request_id)

    def run_checks(self):
        for check in (self.check_detaches, self.check_shelved,
                      self.check_real_cinder,
                      self.check_real_cinder_control,
                      self.seed_real_cinder_servers,
                      self.check_real_multiattach,
                      self.check_real_available, self.check_real_root,
                      self.check_real_shelved, self.check_real_cinder_down,
                      self.check_wire):
            try:
                check()
            except Exception:
                self.results.record(check.__name__, False,
                                    traceback.format_exc().splitlines()[-1])


# Fields a nova-compute's heartbeat changes between the cast and the read.
_HEARTBEAT = ('report_count', 'updated_at', 'last_seen_up')


def diff_primitive(nova, ours, path=''):
    """Field by field: what differs between two object primitives."""
    diffs = []
    if nova.get('nova_object.name') == 'Service':
        nova = dict(nova, **{'nova_object.data': {
            k: v for k, v in nova['nova_object.data'].items()
            if k not in _HEARTBEAT}})
        ours = dict(ours, **{'nova_object.data': {
            k: v for k, v in ours.get('nova_object.data', {}).items()
            if k not in _HEARTBEAT}})
    for key in ('nova_object.name', 'nova_object.version'):
        if nova.get(key) != ours.get(key):
            diffs.append('%s%s: Nova %r, cast %r'
                         % (path, key, nova.get(key), ours.get(key)))
    nd = nova.get('nova_object.data', {})
    od = ours.get('nova_object.data', {})
    for field in sorted(set(nd) | set(od)):
        where = '%s%s' % (path, field)
        if field not in od:
            diffs.append('%s: only in Nova\'s (%s)'
                         % (where, _short(nd[field])))
        elif field not in nd:
            diffs.append('%s: only in the cast (%s)'
                         % (where, _short(od[field])))
        elif isinstance(nd[field], dict) and 'nova_object.data' in \
                nd[field] and isinstance(od[field], dict):
            diffs += diff_primitive(nd[field], od[field], where + '.')
        elif (field == 'objects' and isinstance(nd[field], list) and
              isinstance(od[field], list) and len(nd[field]) ==
              len(od[field])):
            for index, (n, o) in enumerate(zip(nd[field], od[field])):
                diffs += diff_primitive(n, o, '%s[%d].' % (where, index))
        elif nd[field] != od[field]:
            diffs.append('%s: Nova %s, cast %s'
                         % (where, _short(nd[field]), _short(od[field])))
    return diffs


def _short(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + '...'


GUNICORN_CONF = """\
wsgi_app = 'nova.wsgi.osapi_compute:application'
bind = '127.0.0.1:%(port)d'
workers = 1
timeout = 120
control_socket_disable = True
"""

NOVA_DB_CONF = """\
[api_database]
connection = %(api_db)s
max_retries = 3

[database]
connection = %(db)s
max_retries = 3

"""

NOVA_CONF = """\
[DEFAULT]
host = %(host)s
state_path = %(state)s
log_file = %(log_file)s
debug = false
transport_url = %(transport_url)s
my_ip = 127.0.0.1
compute_driver = fake.FakeDriver
sync_power_state_interval = -1
heal_instance_info_cache_interval = -1
instance_usage_audit = false
reclaim_instance_interval = 0
use_rootwrap_daemon = false

[api]
auth_strategy = keystone

[conductor]
workers = 1

[cinder]
endpoint_template = %(cinder)s
http_retries = 0

[glance]
endpoint_override = http://127.0.0.1:9/image

[placement]
auth_type = none
endpoint_override = %(placement)s

[oslo_concurrency]
lock_path = %(state)s/locks

[oslo_messaging_notifications]
driver = noop

[notifications]
notification_format = unversioned

[workarounds]
disable_compute_service_check_for_ffu = true

[wsgi]
api_paste_config = %(paste)s
"""

# nova.conf's [cinder] for the stand-in, and what replaces it for the real
# Cinder (real_cinder): the catalog of the user's token, Nova's
# [service_user] token on every call, keystonemiddleware in the API.
STANDIN_CINDER_NOVA = """\
[cinder]
endpoint_template = %(cinder)s
http_retries = 0
"""

REAL_CINDER_NOVA = """\
[cinder]
os_region_name = %(region)s
http_retries = 0

[service_user]
send_service_user_token = %(send)s
auth_type = password
auth_url = %(auth_url)s
username = nova
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default

[keystone_authtoken]
www_authenticate_uri = %(auth_url)s
auth_url = %(auth_url)s
auth_type = password
username = nova
password = %(password)s
user_domain_name = Default
project_name = service
project_domain_name = Default
service_token_roles_required = true
"""

DETACH_EXT_CONF = """\
[DEFAULT]
transport_url = %(transport_url)s

[database]
connection = %(db)s
max_retries = 3

[api_database]
connection = %(api_db)s

[volume]
backend = cinder

[cinder]
endpoint_override = %(cinder)s

[compute_rpc]
cast_retry = 2
"""


# detach_ext.conf's [cinder] for the stand-in, and for the real Cinder.
STANDIN_CINDER_DETACH_EXT = """\
[cinder]
endpoint_override = %(cinder)s
"""

REAL_CINDER_DETACH_EXT = """\
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
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--db-url',
                        default='mysql+pymysql://root@127.0.0.1:3306')
    parser.add_argument('--rabbit', default='guest:guest@127.0.0.1:5672',
                        help='user:password@host:port, or a rabbit:// URL')
    parser.add_argument('--control', action='store_true',
                        help="leave detach_ext out: Nova's own API answers "
                             'the same checks (proves the checks, not '
                             'detach_ext)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the logs and configuration files')
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
        stage.seed()
        stage.run_checks()
    except BaseException as exc:
        stage.results.record('stage infrastructure', False, str(exc)[:3000])
        if not isinstance(exc, (SystemExit, KeyboardInterrupt)):
            traceback.print_exc()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stage.cleanup()
    log('Nova stage done')
    print('%d passed, %d failed' % (stage.results.passed,
                                    stage.results.failed))
    return 1 if stage.results.failed else 0


if __name__ == '__main__':
    sys.exit(main())
