"""Fixtures of the functional tests: a deployment in a temporary folder.

Each :class:`Deployment` starts detach_ext through the public fixture
(:class:`detach_ext.fixture.DetachExtFixture`: its own detach_ext.conf, the
shipped api-paste.ini, the schema of the shipped migrations), so no two
tests share state, and adds what only detach_ext's own tests need:
recording workers, snapshots of every table, broken buses.

By default a deployment uses a SQLite file and the in-process ``fake://``
message bus.  Two environment variables move the same tests to real
services:

``DETACH_EXT_TEST_DB_URL``
    a database server without a database name, e.g.
    ``mysql+pymysql://root@127.0.0.1:3306`` or
    ``postgresql+psycopg2://postgres@127.0.0.1:5432``: each deployment
    creates its own database there and drops it afterwards.
``DETACH_EXT_TEST_TRANSPORT_URL``
    e.g. ``rabbit://guest:guest@127.0.0.1:5672/``: each deployment
    publishes on its own exchange with its own compute host names, and its
    queues are deleted when its workers stop.
"""

import atexit
import io
import logging
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import uuid

import fixtures
from oslo_log import formatters
import oslo_messaging
from oslo_utils import timeutils
import sqlalchemy as sa
import webob

from detach_ext.compute import manager as compute_manager
from detach_ext import context as detach_context
from detach_ext.db import models
from detach_ext import fixture as detach_fixture
from detach_ext import rpc
from detach_ext import server as embedded_server
from tests import fakes

# The shared fakes, under the names the tests know.
GatedDriver = fakes.GatedDriver
FailingDriver = fakes.FailingDriver
wait_for = fakes.wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PASTE_INI = os.path.join(REPO, 'etc', 'detach_ext', 'api-paste.ini')

PROJECT = 'b7a7b63e92174a95a999c95da856f143'
OTHER_PROJECT = '9e691df1813f4737a5c505b4cab89a96'
HOST = 'compute-a'

# Enough [keystone_authtoken] for the main pipeline to answer 401 by itself
# (no Keystone is reached: tests that pass a token use AuthTokenFixture).
KEYSTONE_CONF = """
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000/v3
auth_url = http://127.0.0.1:5000/v3
"""
OTHER_HOST = 'compute-b'


class RecordingManager(compute_manager.ComputeManager):
    """The reference worker, remembering every detach_volume it hears."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = []
        self.received_5x = []  # volume ids of casts at compute RPC 5.x
        self.finished = 0

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        self.received.append({'context': context, 'instance': instance,
                              'volume_id': volume_id,
                              'attachment_id': attachment_id})
        try:
            return super().detach_volume(context, instance, volume_id,
                                         attachment_id)
        finally:
            self.finished += 1

    def endpoints(self):
        return [self, RecordingV5Proxy(self)]

    def idle(self):
        """Whether every message received so far has been handled to its
        end (the event recorded after the attachment row is gone)."""
        return self.finished == len(self.received)


class RecordingV5Proxy(compute_manager.ComputeV5Proxy):
    """The worker's compute RPC 5.x endpoint, noting what it hears."""

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        self.manager.received_5x.append(volume_id)
        return super().detach_volume(context, instance, volume_id,
                                     attachment_id)


DB_SERVER_URL = os.environ.get('DETACH_EXT_TEST_DB_URL') or None
TRANSPORT_URL = os.environ.get('DETACH_EXT_TEST_TRANSPORT_URL') or None


def create_database(server_url):
    """A new empty database on ``server_url``; returns (url, drop)."""
    return detach_fixture._create_database(
        sa.engine.make_url(server_url),
        'detach_ext_test_%s' % uuid.uuid4().hex[:16])


class Database(fixtures.Fixture):
    """An empty database of this test's own: a SQLite file, or a new
    database on DB_SERVER_URL.  ``url`` is its URL."""

    def _setUp(self):
        if DB_SERVER_URL:
            self.url, drop = create_database(DB_SERVER_URL)
            self.addCleanup(drop)
        else:
            path = self.useFixture(fixtures.TempDir()).path
            self.url = 'sqlite:///' + os.path.join(path, 'db.sqlite')


def create_vhost():
    """A new RabbitMQ virtual host on TRANSPORT_URL's broker.

    :returns: (its URL, a function that deletes it with all it holds).
    """
    name = 'detach_ext_test_%s' % uuid.uuid4().hex[:12]
    ctl = shutil.which('rabbitmqctl')
    if ctl is None:
        raise RuntimeError('rabbitmqctl is not on PATH')
    subprocess.run([ctl, 'add_vhost', name], check=True, capture_output=True)
    url = urllib.parse.urlsplit(TRANSPORT_URL)
    subprocess.run([ctl, 'set_permissions', '-p', name,
                    url.username or 'guest', '.*', '.*', '.*'],
                   check=True, capture_output=True)

    def delete():
        subprocess.run([ctl, 'delete_vhost', name], capture_output=True)
    return urllib.parse.urlunsplit(url._replace(path='/' + name)), delete


class RabbitVhost(fixtures.Fixture):
    """A RabbitMQ virtual host of this test's own, deleted afterwards."""

    def _setUp(self):
        self.url, delete = create_vhost()
        self.addCleanup(delete)


_process_vhost = []
_process_vhost_lock = threading.Lock()


def shared_transport_url():
    """TRANSPORT_URL, moved for RabbitMQ to a vhost of this test process
    (deleted when the process exits), so nothing another program or an
    earlier run left on the broker's default vhost is in the way."""
    if not (TRANSPORT_URL and TRANSPORT_URL.startswith('rabbit')):
        return TRANSPORT_URL
    with _process_vhost_lock:
        if not _process_vhost:
            url, delete = create_vhost()
            atexit.register(delete)
            _process_vhost.append(url)
        return _process_vhost[0]


# add_volume's default: a new attachment id.
NEW = object()


class Deployment(fixtures.Fixture):
    """A detach_ext deployment in a temporary folder.

    :param pipeline: the api-paste.ini pipeline (``noauth2``, ``main``).
    :param extra_conf: more lines for detach_ext.conf.
    :param policy: the text of a policy.yaml beside detach_ext.conf.
    """

    def __init__(self, pipeline='noauth2', extra_conf='', policy=None,
                 transport_url=None, auto_delete=True):
        super().__init__()
        self.auto_delete = auto_delete
        self.pipeline = pipeline
        self.extra_conf = extra_conf
        self.policy = policy
        self.transport_url = (transport_url or shared_transport_url() or
                              'fake://')

    def conf_text(self):
        """The text of this deployment's detach_ext.conf."""
        with open(self.conf_path) as f:
            return f.read()

    def _setUp(self):
        # detach_ext is started the one way a test starts it: the public
        # fixture (no worker of its own here: tests start recording ones),
        # on the test services when they are configured.
        config = self.extra_conf
        if self.transport_url.startswith('rabbit'):
            config = ('[oslo_messaging_rabbit]\namqp_auto_delete = %s\n'
                      % str(self.auto_delete).lower()) + config
        self.fx = self.useFixture(detach_fixture.DetachExtFixture(
            database_url=DB_SERVER_URL, transport_url=self.transport_url,
            worker=False, hosts=(HOST, OTHER_HOST), pipeline=self.pipeline,
            config=config, policy=self.policy, intercept=None))
        self.host = self.fx.host_name
        self.dir = self.fx.dir
        self.conf_path = os.path.join(self.dir, 'detach_ext.conf')
        self.db_url = self.fx.database_url
        self.app = self.fx.app
        self.conf = self.fx.conf
        self.runtime = self.fx.runtime
        self.db = self.runtime.db
        self.context = detach_context.get_admin_context()

    @property
    def exchange(self):
        """The control exchange this deployment casts on."""
        self.runtime.transport  # registers oslo.messaging's options
        return self.conf.control_exchange

    # HTTP

    def delete(self, server_id, volume_id, project=PROJECT, user='demo',
               token=None, roles=None, prefix=None, headers=None,
               body=None):
        """The detach request; ``body`` (bytes) is sent if given."""
        prefix = '/v2/%s' % project if prefix is None else prefix
        path = '%s/servers/%s/os-volume_attachments/%s' % (
            prefix, server_id, volume_id)
        kwargs = {} if body is None else {'body': body}
        return self.request(path, 'DELETE', token=token or
                            '%s:%s' % (user, project), roles=roles,
                            headers=headers, **kwargs)

    def request(self, path, method='GET', token=None, roles=None,
                headers=None, **kwargs):
        req = webob.Request.blank(path, method=method, **kwargs)
        req.headers['Accept'] = 'application/json'
        if token:
            req.headers['X-Auth-Token'] = token
        if roles is not None:
            req.headers['X-Roles'] = roles
        req.headers.update(headers or {})
        return req.get_response(self.app)

    # data

    def add_service(self, version, binary='nova-compute', host=HOST,
                    forced_down=False, db=None, last_seen_up=None,
                    topic='compute'):
        """Register a Nova service of ``version`` in ``services`` (of
        ``db``, another cell's, if given), last seen up now unless
        ``last_seen_up`` says when."""
        with (db or self.db).ctxmgr.writer.using(self.context) as session:
            session.add(models.Service(
                uuid=str(uuid.uuid4()), host=self.host(host), binary=binary,
                topic=topic, report_count=1, disabled=False,
                forced_down=forced_down, version=version, deleted=0,
                last_seen_up=last_seen_up or timeutils.utcnow()))

    def add_server(self, project=PROJECT, host=HOST, vm_state='active',
                   task_state=None, locked=False, deleted=False, db=None):
        """A server; in ``db`` (another cell's) instead of this
        deployment's database if given."""
        db = db or self.db
        host = self.host(host) if host else None
        server = models.Instance(
            uuid=str(uuid.uuid4()), user_id='demo', project_id=project,
            hostname='server', display_name='server', host=host, node=host,
            power_state=1, vm_state=vm_state, task_state=task_state,
            locked=locked, locked_by='owner' if locked else None,
            launched_at=timeutils.utcnow(), root_device_name='/dev/vda',
            deleted=0)
        with db.ctxmgr.writer.using(self.context) as session:
            session.add(server)
            session.flush()
            if deleted:
                server.deleted = server.id
        return server.uuid

    def add_volume(self, server_id, status='in-use', boot_index=None,
                   deleted=False, volume_id=None, attachment_id=NEW,
                   tag=None, delete_on_termination=False, db=None):
        """A volume attached to ``server_id``.

        :param attachment_id: the block storage attachment id; a new one
            by default (Nova's attachments since Queens), None for an
            old-style attachment.
        """
        db = db or self.db
        volume_id = volume_id or str(uuid.uuid4())
        if attachment_id is NEW:
            attachment_id = str(uuid.uuid4())
        bdm = models.BlockDeviceMapping(
            uuid=str(uuid.uuid4()), instance_uuid=server_id,
            volume_id=volume_id, attachment_id=attachment_id, tag=tag,
            delete_on_termination=delete_on_termination,
            device_name='/dev/vda' if boot_index == 0 else '/dev/vdb',
            boot_index=boot_index, source_type='volume',
            destination_type='volume', connection_info='{}', deleted=0)
        known = db.volume_get(self.context, volume_id) is not None
        with db.ctxmgr.writer.using(self.context) as session:
            session.add(bdm)
            if not known:  # a second attachment of a multiattach volume
                session.add(models.Volume(id=volume_id, project_id=PROJECT,
                                          status=status))
            session.flush()
            if deleted:
                bdm.deleted = bdm.id
        return volume_id

    def volume_status(self, volume_id, db=None):
        if db is not None:
            return db.volume_get(self.context, volume_id).status
        return self.runtime.volume_api.get_status(self.context, volume_id)

    def attachment(self, server_id, volume_id, db=None):
        return (db or self.db).bdm_get_by_volume_and_instance(
            self.context, volume_id, server_id)

    def action_events(self, action_id):
        """The events of an instance action, oldest first."""
        return self.db._all(self.context, sa.select(
            models.InstanceActionEvent).where(
            models.InstanceActionEvent.action_id == action_id).order_by(
            models.InstanceActionEvent.id))

    def snapshot(self, ignore=()):
        """Every row of every table, to show that nothing changed.

        :param ignore: names of columns left out.
        """
        tables = {}
        with self.db.engine.connect() as connection:
            for table in (list(models.NovaBase.metadata.sorted_tables) +
                          list(models.DetachExtBase.metadata.sorted_tables)):
                columns = [c for c in table.c if c.name not in ignore]
                rows = connection.execute(sa.select(*columns)).all()
                tables[table.name] = sorted(tuple(map(str, r)) for r in rows)
        return tables

    def break_the_bus(self):
        """From now on every detach_volume cast raises, as publishing to
        an unreachable broker does."""
        class Broken:
            def can_send_version(self, version):
                return True

            def prepare(self, **kwargs):
                return self

            def cast(self, *args, **kwargs):
                raise oslo_messaging.MessageDeliveryFailure('bus is down')

        self.runtime.cells.cell.compute_rpcapi.client = Broken()

    # workers

    def start_worker(self, host=HOST, driver=None, cell=None):
        """A reference compute worker for ``host``, recording its casts.

        :param cell: a :class:`detach_ext.cells.Cell` the worker serves,
            on that cell's database and message bus.
        """
        host = self.host(host)
        db, volume_api = ((cell.db, cell.volume_api) if cell else
                          (self.db, self.runtime.volume_api))
        manager = RecordingManager(host, db, volume_api, driver,
                                   self.runtime.notifier(host))
        if cell is None:
            server = self.runtime.compute_server(manager)
        else:
            server = rpc.get_server(cell.transport, oslo_messaging.Target(
                topic='compute', server=host), manager.endpoints())
        server.start()

        def _stop():
            server.stop()
            server.wait()
        self.addCleanup(_stop)
        return manager

    def wait_for(self, predicate, timeout=10):
        return wait_for(predicate, timeout)

    def capture_logs(self):
        """Log lines of detach_ext as oslo.log formats them in production
        (with the request id), into a StringIO."""
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatters.ContextFormatter(
            project='detach_ext', config=self.conf))
        logger = logging.getLogger('detach_ext')
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.INFO)

        def _restore():
            logger.removeHandler(handler)
            logger.setLevel(old_level)
        self.addCleanup(_restore)
        return stream


class HTTPServer(fixtures.Fixture):
    """Serve a WSGI app on a free loopback port, in a thread, with the
    embedded server of ``detach-ext-api``."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def _setUp(self):
        self._server = embedded_server.Server(self.app, log_requests=False)
        self._server.start()
        self.addCleanup(self.stop)
        self.port = self._server.port
        self.url = self._server.url

    def stop(self):
        """Stop serving (the port then refuses connections)."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def run_concurrently(count, func, timeout=60):
    """Run ``func`` in ``count`` threads released at the same moment.

    :returns: their results, in thread order.
    :raises AssertionError: a thread raised (its exception is the cause)
        or had not returned after ``timeout`` seconds.
    """
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = [None] * count

    def _run(i):
        try:
            barrier.wait()
            results[i] = func()
        except BaseException as exc:
            errors[i] = exc

    threads = [threading.Thread(target=_run, args=(i,), daemon=True)
               for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        raise AssertionError('%d of %d concurrent calls had not returned '
                             'after %s s' % (stuck, count, timeout))
    for i, error in enumerate(errors):
        if error is not None:
            raise AssertionError('concurrent call %d of %d raised %r'
                                 % (i + 1, count, error)) from error
    return results
