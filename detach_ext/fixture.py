"""Run detach_ext inside another project's functional tests.

:class:`DetachExtFixture` starts a whole detach_ext in the test's process:
its own configuration file in a temporary folder, its own database (a
SQLite file unless the test gives one) with the schema made by the shipped
migrations, its own message bus (the in-process ``fake://`` unless the test
gives a transport URL), the reference compute worker, and the API loaded
from the shipped ``api-paste.ini`` (or the detach_ext filter in front of an
app the test gives).  It holds no global state: several can run in one
process at once, and clean-up removes all of it.

A test that uses it::

    import requests
    import testtools

    from detach_ext import fixture as detach_fixture


    class TestDetach(testtools.TestCase):

        def test_detach(self):
            detach = self.useFixture(detach_fixture.DetachExtFixture())
            server = detach.add_server()
            volume = detach.add_volume(server)
            response = requests.delete(
                '%s/v2.1/servers/%s/os-volume_attachments/%s'
                % (detach.endpoint, server, volume),
                headers={'X-Auth-Token': detach.token()})
            self.assertEqual(202, response.status_code)
            detach.wait_for_detach(server, volume)

Stable arguments
----------------

These keep their names, meanings and defaults across releases:
``database_url``, ``transport_url``, ``worker``, ``hosts``, ``pipeline``,
``config``, ``policy``, ``intercept``, ``wrap``; the attributes ``app``,
``endpoint``, ``conf``, ``project``, ``hosts``, ``database_url``,
``transport_url``; the helpers :meth:`~DetachExtFixture.token`,
:meth:`~DetachExtFixture.add_server`, :meth:`~DetachExtFixture.add_volume`,
:meth:`~DetachExtFixture.volume_status`,
:meth:`~DetachExtFixture.attachment`,
:meth:`~DetachExtFixture.wait_for_detach` and
:meth:`~DetachExtFixture.host_name`; and :exc:`DetachNotFinished`.
Anything else (``runtime``, names starting with ``_``) may change.
"""

import os
import threading
import time
import uuid

import fixtures
from oslo_utils import timeutils
from paste import deploy as paste_deploy
import sqlalchemy as sa

from detach_ext.db import migration
from detach_ext.db import models
from detach_ext import deploy
from detach_ext import server as embedded_server

DEFAULT_HOST = 'compute-a'

# wsgi-intercept patches requests' connection classes for the whole
# process and removes the patch when its last intercept goes: installing
# and removing under one lock keeps one fixture's clean-up from taking the
# patch away from another fixture that is just installing its own.
_INTERCEPT_LOCK = threading.Lock()

# The host given to add_server by default.
_DEFAULT = object()

# The filters in front of ``wrap``: what Nova's pipeline has before its
# app, with detach_ext last.
_FILTER_PASTE = """
[filter:request_id]
paste.filter_factory = detach_ext.api.middleware:RequestId.factory

[filter:faultwrap]
paste.filter_factory = detach_ext.api.middleware:FaultWrapper.factory

[filter:noauth2]
paste.filter_factory = detach_ext.api.middleware:NoAuth2.factory

[filter:main]
paste.filter_factory = detach_ext.api.middleware:authtoken_factory

[filter:detach_ext]
paste.filter_factory = detach_ext.deploy:filter_factory
"""


class DetachNotFinished(AssertionError):
    """:meth:`DetachExtFixture.wait_for_detach` gave up, or the worker
    failed the detach.  An ``AssertionError``, so the test fails (rather
    than errors) with the message."""


class DetachExtFixture(fixtures.Fixture):
    """detach_ext, running in this process for the length of a test.

    :param database_url: an SQLAlchemy URL.  ``None``: a SQLite file in the
        fixture's temporary folder.  A server without a database name (such
        as ``mysql+pymysql://root@127.0.0.1:3306`` or
        ``postgresql+psycopg2://postgres@127.0.0.1``): the fixture creates
        a database of its own there and drops it on clean-up.  A URL
        naming a database is used as it is: the Nova tables detach_ext
        reads are created where missing, detach_ext's own tables migrated,
        and nothing is dropped afterwards.
    :param transport_url: an oslo.messaging transport URL.  ``None``: the
        in-process ``fake://`` bus.  The fixture publishes on an exchange
        of its own (``[DEFAULT] control_exchange = detach_ext_<suffix>``;
        set it in ``config`` to reach a real nova-compute on ``nova``).
        On a real bus (``rabbit://...``) its compute hosts also get a
        suffix of its own (see :meth:`host_name`), as queues are named
        after hosts whatever the exchange, and RabbitMQ deletes its queues
        once its workers stop; so fixtures sharing a bus never see each
        other's casts.
    :param worker: start the reference compute worker of every host in
        ``hosts``; with ``False`` casts are sent but nobody acts on them
        (volumes stay ``detaching``).
    :param hosts: the compute hosts (``host`` column of the servers) the
        workers serve; the first is :meth:`add_server`'s default.
    :param pipeline: ``noauth2`` (the token ``user:project`` is believed,
        see :meth:`token`) or ``main`` (keystonemiddleware ``auth_token``,
        configured by ``[keystone_authtoken]`` in ``config``: use
        keystonemiddleware's ``AuthTokenFixture`` to make tokens without
        a Keystone).
    :param config: more detach_ext.conf text, read after what the fixture
        writes (so a value given here wins), e.g.
        ``'[api]\\nfilter_serves_reads = true\\n'``.
    :param policy: the text of a ``policy.yaml``, instead of the defaults.
    :param intercept: how to reach the API at :attr:`endpoint`.  ``True``:
        wsgi-intercept catches HTTP to a made-up host name for clients
        built on ``requests`` or ``urllib3`` (keystoneauth1, openstacksdk,
        python-novaclient), no socket is opened (needs the
        ``wsgi-intercept`` package: ``detach_ext[fixture]``).  ``False``:
        a real HTTP server on a free loopback port, for any client,
        another process too.  ``None``: no endpoint; call :attr:`app`
        directly (webob, gabbi, httpx's ``WSGITransport``).
    :param wrap: a WSGI app to put detach_ext in front of, as a filter in
        Nova's pipeline is: the detach is answered by detach_ext, every
        other request reaches ``wrap`` (after the same auth as
        ``pipeline``).  ``None``: detach_ext serves by itself.

    Attributes, once set up:

    ``app``
        the WSGI app (the paste pipeline).
    ``endpoint``
        the API's root URL (``None`` with ``intercept=None``), e.g.
        ``http://127.0.0.1:41234``; the detach is at
        ``{endpoint}/v2.1/servers/{server}/os-volume_attachments/{volume}``
        (or under ``/v2.1/{project}`` or ``/v2/{project}``).
    ``conf``
        the fixture's :class:`oslo_config.cfg.ConfigOpts` (read it; changes
        made after set-up are not guaranteed to be seen).
    ``project``
        the project of :meth:`add_server` and :meth:`token` by default: a
        new one per fixture.
    ``hosts``
        the compute host names as stored and served (see
        :meth:`host_name`).
    ``database_url``, ``transport_url``
        what the fixture runs on (a created database's URL).
    ``runtime``
        the :class:`detach_ext.runtime.Runtime` (not a stable interface).
    """

    def __init__(self, database_url=None, transport_url=None, worker=True,
                 hosts=(DEFAULT_HOST,), pipeline='noauth2', config='',
                 policy=None, intercept=True, wrap=None):
        super().__init__()
        if pipeline not in ('noauth2', 'main'):
            raise ValueError("pipeline must be 'noauth2' or 'main', not %r"
                             % (pipeline,))
        if not hosts:
            raise ValueError('hosts must name at least one compute host')
        self._given_database_url = database_url
        self.transport_url = transport_url or 'fake://'
        self.worker = worker
        self._host_names = tuple(hosts)
        self.pipeline = pipeline
        self.config = config
        self.policy = policy
        self.intercept = intercept
        self.wrap = wrap
        self._suffix = uuid.uuid4().hex[:8]
        self.project = uuid.uuid4().hex
        self.hosts = tuple(self.host_name(h) for h in self._host_names)
        self.app = self.endpoint = self.conf = self.runtime = None
        self.database_url = None

    # set-up

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.database_url = self._database()
        conf_path = os.path.join(self.dir, 'detach_ext.conf')
        with open(conf_path, 'w') as f:
            f.write(self._conf_text())
        if self.policy is not None:
            with open(os.path.join(self.dir, 'policy.yaml'), 'w') as f:
                f.write(self.policy)
        self.conf, self.runtime, self.app = _load(
            conf_path, self.pipeline, self.wrap, self.dir)
        self.addCleanup(_release, self.runtime)
        self._engine = self.runtime.db.engine
        if self.worker:
            for host in self.hosts:
                self.addCleanup(_start_worker(self.runtime, host))
        self._serve()

    def _database(self):
        """The database URL, a new database made on a server URL."""
        if self._given_database_url is None:
            return 'sqlite:///' + os.path.join(self.dir, 'compute.sqlite')
        url = sa.engine.make_url(self._given_database_url)
        if url.get_backend_name() == 'sqlite' or url.database:
            return self._given_database_url
        name = 'detach_ext_fixture_%s' % uuid.uuid4().hex[:16]
        created, drop = _create_database(url, name)
        self.addCleanup(drop)
        return created

    def _conf_text(self):
        # An exchange of its own on any bus: oslo.messaging's fake driver
        # keeps its exchanges by name for the whole process, so two
        # fixtures on fake:// and Nova's exchange would hear each other.
        lines = ['[DEFAULT]', 'transport_url = %s' % self.transport_url,
                 'control_exchange = detach_ext_%s' % self._suffix]
        if not self.transport_url.startswith('fake:'):
            lines += ['[oslo_messaging_rabbit]', 'amqp_auto_delete = true']
        lines += ['[database]', 'connection = %s' % self.database_url, '']
        return '\n'.join(lines) + (self.config or '') + '\n'

    def _serve(self):
        if self.intercept is None:
            return
        if self.intercept:
            self.endpoint = _intercept(self.app, 'detach-ext-%s.test' %
                                       self._suffix, self.addCleanup)
            return
        server = embedded_server.Server(self.app, log_requests=False)
        server.start()
        self.addCleanup(server.stop)
        self.endpoint = server.url

    # names

    def host_name(self, name):
        """The stored and served name of compute host ``name``: ``name``
        itself on ``fake://``, ``name-<suffix of this fixture>`` on a
        shared bus (where queues are named after hosts)."""
        if self.transport_url.startswith('fake:'):
            return name
        return '%s-%s' % (name, self._suffix)

    def token(self, user='demo', project=None):
        """A ``noauth2`` token of ``user`` in ``project`` (the fixture's by
        default).  User ``admin`` is an administrator; send ``X-Roles``
        to choose other roles (e.g. ``reader``, which policy refuses)."""
        return '%s:%s' % (user, project or self.project)

    # data

    def add_server(self, project=None, user='demo', host=_DEFAULT,
                   vm_state='active', task_state=None, locked=False,
                   deleted=False):
        """A server (an ``instances`` row); returns its uuid.

        :param project: its project (the fixture's by default).
        :param host: its compute host, passed through :meth:`host_name`
            (the first of ``hosts`` by default); ``None`` for none, as a
            shelved_offloaded server has.
        :param locked: locked by its owner.
        :param deleted: soft-deleted (invisible to the API).
        """
        if host is _DEFAULT:
            host = self.hosts[0]
        elif host is not None and host not in self.hosts:
            host = self.host_name(host)
        server_uuid = str(uuid.uuid4())
        table = models.Instance.__table__
        with self._engine.begin() as connection:
            row_id = connection.execute(table.insert().values(
                uuid=server_uuid, user_id=user,
                project_id=project or self.project, hostname='server',
                display_name='server', host=host, node=host, power_state=1,
                vm_state=vm_state, task_state=task_state, locked=locked,
                locked_by='owner' if locked else None,
                launched_at=timeutils.utcnow(), root_device_name='/dev/vda',
                deleted=0)).inserted_primary_key[0]
            if deleted:
                connection.execute(table.update().where(
                    table.c.id == row_id).values(deleted=row_id))
        return server_uuid

    def add_volume(self, server, status='in-use', root=False,
                   volume_id=None, deleted=False):
        """A volume attached to ``server``; returns its id (the
        attachment id of the API's path).

        :param status: the volume's status (``local`` volume backend):
            ``in-use``, ``available`` (already detached), ``detaching``...
        :param root: the root device (boot index 0), which refuses to
            detach.
        :param volume_id: attach this volume (e.g. a second attachment of
            a multiattach volume); a new one by default.
        :param deleted: the attachment is soft-deleted (already detached).
        """
        volume_id = volume_id or str(uuid.uuid4())
        bdms = models.BlockDeviceMapping.__table__
        volumes = models.Volume.__table__
        with self._engine.begin() as connection:
            project = connection.execute(sa.select(
                models.Instance.__table__.c.project_id).where(
                models.Instance.__table__.c.uuid == server)).scalar()
            count = connection.execute(sa.select(sa.func.count()).where(
                bdms.c.instance_uuid == server)).scalar()
            row_id = connection.execute(bdms.insert().values(
                uuid=str(uuid.uuid4()), instance_uuid=server,
                volume_id=volume_id, attachment_id=str(uuid.uuid4()),
                device_name='/dev/vda' if root else '/dev/vd%s' % (
                    'bcdefghijklmnopqrstuvwxyz'[count % 25]),
                boot_index=0 if root else None, source_type='volume',
                destination_type='volume', connection_info='{}',
                delete_on_termination=False,
                deleted=0)).inserted_primary_key[0]
            if deleted:
                connection.execute(bdms.update().where(
                    bdms.c.id == row_id).values(deleted=row_id))
            known = connection.execute(sa.select(volumes.c.id).where(
                volumes.c.id == volume_id)).first()
            if known is None:
                connection.execute(volumes.insert().values(
                    id=volume_id, project_id=project, status=status))
        return volume_id

    def volume_status(self, volume):
        """The status of ``volume`` (``local`` volume backend), or None."""
        volumes = models.Volume.__table__
        with self._engine.connect() as connection:
            return connection.execute(sa.select(volumes.c.status).where(
                volumes.c.id == volume)).scalar()

    def attachment(self, server, volume):
        """The live attachment of ``volume`` to ``server`` (its
        ``block_device_mapping`` row as a dict), or None once detached."""
        bdms = models.BlockDeviceMapping.__table__
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(bdms).where(
                bdms.c.instance_uuid == server, bdms.c.volume_id == volume,
                bdms.c.deleted == 0)).mappings().first()
        return dict(row) if row is not None else None

    def _faults(self, server):
        faults = models.InstanceFault.__table__
        with self._engine.connect() as connection:
            return connection.execute(sa.select(faults.c.message).where(
                faults.c.instance_uuid == server).order_by(
                faults.c.id)).scalars().all()

    def wait_for_detach(self, server, volume, timeout=10.0):
        """Wait until the worker has finished detaching ``volume`` from
        ``server``: the attachment gone and the volume ``available``.

        :raises DetachNotFinished: not done within ``timeout`` seconds, or
            the worker recorded a fault of ``server`` meanwhile (the
            detach failed and was rolled back); the message says what
            it saw.
        """
        known_faults = len(self._faults(server))
        deadline = time.monotonic() + timeout
        while True:
            attached = self.attachment(server, volume) is not None
            status = self.volume_status(volume)
            if not attached and status == 'available':
                return
            faults = self._faults(server)
            if len(faults) > known_faults:
                raise DetachNotFinished(
                    'The detach of volume %s from server %s failed on the '
                    'worker: %s (volume %s)'
                    % (volume, server, faults[-1], status))
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        raise DetachNotFinished(
            'The detach of volume %s from server %s did not finish within '
            '%s s: the volume is %s and the attachment %s.  %s'
            % (volume, server, timeout,
               'missing' if status is None else repr(status),
               'is still recorded' if attached else 'is gone',
               self._why_waiting(server, status)))

    def _why_waiting(self, server, status):
        if status == 'in-use':
            return 'Was the detach accepted (202)?'
        if not self.worker:
            return 'This fixture has no worker (worker=False).'
        servers = models.Instance.__table__
        with self._engine.connect() as connection:
            host = connection.execute(sa.select(servers.c.host).where(
                servers.c.uuid == server)).scalar()
        if host not in self.hosts:
            return ('The server is on host %r, which no worker of this '
                    'fixture serves (hosts: %s).'
                    % (host, ', '.join(self.hosts)))
        return 'The worker of host %r has not finished it.' % host


# The parts of detach_ext the fixture builds on, in one place.

def _load(conf_path, pipeline, wrap, folder):
    """(ConfigOpts, Runtime, WSGI app) of a detach_ext.conf.

    The schema is created before the app is loaded.
    """
    global_conf = {'config_file': conf_path}
    rt = deploy.runtime_for(global_conf, {})
    conf = rt.conf
    try:
        migration.db_sync(rt.db.engine, create_nova=True)
        if wrap is None:
            app = paste_deploy.loadapp(
                'config:' + deploy.find_paste_config(conf), name=pipeline,
                global_conf=global_conf)
        else:
            ini = os.path.join(folder, 'filter-paste.ini')
            with open(ini, 'w') as f:
                f.write(_FILTER_PASTE)
            app = wrap
            for name in reversed(('request_id', 'faultwrap', pipeline,
                                  'detach_ext')):
                app = paste_deploy.loadfilter(
                    'config:' + ini, name=name, global_conf=global_conf)(app)
    except Exception:
        _release(rt)
        raise
    return conf, rt, app


def _release(rt):
    deploy.release(rt)


def _start_worker(rt, host):
    """Start the reference worker of ``host``; returns its stop."""
    server = rt.compute_server(rt.compute_manager(host))
    server.start()

    def stop():
        server.stop()
        server.wait()
    return stop


def _create_database(url, name):
    """Create database ``name`` on the server of ``url``; returns (its
    URL, a function that drops it)."""
    postgres = url.get_backend_name() == 'postgresql'
    admin = sa.create_engine(
        url.set(database='postgres' if postgres else None),
        isolation_level='AUTOCOMMIT', poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text('CREATE DATABASE %s' % name))
    if not postgres:
        url = url.update_query_dict({'charset': 'utf8mb4'})

    def drop():
        with admin.connect() as connection:
            connection.execute(sa.text('DROP DATABASE %s%s' % (
                name, ' WITH (FORCE)' if postgres else '')))
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), drop


def _intercept(app, host, add_cleanup):
    """Intercept requests/urllib3 HTTP to ``host`` into ``app``; returns
    the URL."""
    try:
        from wsgi_intercept import interceptor
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError('DetachExtFixture(intercept=True) needs the '
                          'wsgi-intercept package (pip install '
                          '"detach_ext[fixture]"); or pass intercept=False '
                          'to serve on a loopback port.')
    intercept = interceptor.RequestsInterceptor(lambda: app, host=host,
                                                port=80)
    with _INTERCEPT_LOCK:
        intercept.install_intercept()

    def remove():
        with _INTERCEPT_LOCK:
            intercept.uninstall_intercept()
    add_cleanup(remove)
    return intercept.url
