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
import sys
import tempfile
import time
import traceback
import uuid

import requests
import sqlalchemy as sa
from sqlalchemy import orm

from detach_ext.db import models
from tests.cinder_stage import services
from tests.cinder_stage.services import log
from tests.cinder_stage.services import PASSWORD
from tests.cinder_stage.services import wait_for

BIN = os.path.dirname(os.path.abspath(sys.executable))
HOST = 'compute-1'  # the detach-ext-compute worker's host
# The user token's life in the expired-token check (Keystone's [token]
# expiration while it runs): short enough to wait past.
SHORT_EXPIRATION = 30
WAIT = 60  # seconds for a worker to finish a detach


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


class Stage(services.KeystoneCinder):
    """The Cinder stage: :class:`services.KeystoneCinder`, detach_ext's
    API and worker, and the checks."""

    def __init__(self, args):
        # The prefix .ci/run sweeps vhosts by, should a run be killed.
        run_id = 'detach_ext_test_cinder_%s' % uuid.uuid4().hex[:8]
        self.api_port = services.free_port()
        self.api = 'http://127.0.0.1:%d' % self.api_port
        super().__init__(args, tempfile.mkdtemp(prefix='cinder-stage-'),
                         run_id, self.api + '/v2.1')
        self.results = Results()
        self.db['compute'] = '%s_compute' % run_id
        self.vhost['compute'] = '%s_compute' % run_id

    def sql(self, query, params=(), database='compute'):
        return super().sql(query, params, database)

    def cleanup(self):
        if getattr(self, 'engine', None) is not None:
            self.engine.dispose()
        super().cleanup()
        if self.args.keep:
            print('logs and configuration kept in %s' % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

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
                           '127.0.0.1:%d' % self.api_port, '--timeout',
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
            server['volume_id'], server['uuid'], host)
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
            # An Error event is written last: read it before the rest.
            failed = any(e[2] == 'Error' for e in self.events(server))
            missing = self.finished(server, others)
            if not missing or failed or time.monotonic() > deadline:
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
    stage_seconds = time.monotonic() - services.START
    print('timings: virtualenvs %d s, stage %.0f s, total %.0f s'
          % (args.venv_seconds, stage_seconds,
             args.venv_seconds + stage_seconds))
    print('%d passed, %d failed' % (stage.results.passed,
                                    stage.results.failed))
    return 1 if stage.results.failed else 0


if __name__ == '__main__':
    sys.exit(main())
