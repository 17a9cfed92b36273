"""Build the collaborators of one deployment once, from its ConfigOpts.

The API app, the filter and the compute worker of one process share one
:class:`Runtime` (:mod:`detach_ext.deploy` keeps the API's): one engine
pool, one policy enforcer, one transport (so the in-process ``fake://``
transport of the embedded mode reaches the in-process worker).  Each
collaborator is built on first use; :meth:`Runtime.close` lets go of them.
"""

import oslo_messaging

from detach_ext import cells
from detach_ext.compute import api as compute_api
from detach_ext.compute import manager as compute_manager
from detach_ext.compute import notifications
from detach_ext.compute import rpcapi as compute_rpcapi
from detach_ext import context as detach_context
from detach_ext.db import api as db_api
from detach_ext.db import mappings
from detach_ext import policy
from detach_ext import rpc
from detach_ext import volume


class Runtime:
    """Everything a request or a cast needs, built from ``conf``."""

    def __init__(self, conf):
        self.conf = conf
        self.db = db_api.Database(conf)
        self._enforcer = None
        self.volume_api = volume.get_api(conf, self.db)
        self._transport = None
        self._notification_transport = None
        self._compute_api = None
        self._cells = None

    @property
    def enforcer(self):
        """The policy enforcer, built on first use: the API builds it as
        it loads (and refuses to start on a broken policy file); the
        compute worker, which enforces no policy, never does."""
        if self._enforcer is None:
            self._enforcer = policy.Enforcer(self.conf)
        return self._enforcer

    @property
    def transport(self):
        if self._transport is None:
            self._transport = rpc.get_transport(self.conf)
        return self._transport

    @property
    def notification_transport(self):
        if self._notification_transport is None:
            self._notification_transport = (
                oslo_messaging.get_notification_transport(self.conf))
        return self._notification_transport

    def notifier(self, host):
        """The notifier of compute host ``host``."""
        return notifications.Notifier(self.notification_transport, host)

    @property
    def cells(self):
        """Where servers live: one cell, or Nova's cells v2 mappings."""
        if self._cells is None:
            if self.conf.api_database.connection:
                # parse() registers [DEFAULT] transport_url, a template's
                # defaults.
                oslo_messaging.TransportURL.parse(self.conf)
                self._cells = cells.MappedCells(
                    mappings.APIDatabase(self.conf), self._build_cell,
                    database_url=self.conf.database.connection,
                    transport_url=self.conf.transport_url)
            else:
                self._cells = cells.OneCell(cells.Cell(
                    'default', self.db, self.volume_api,
                    compute_rpcapi.ComputeAPI(
                        self.conf, self.transport,
                        self.db.service_get_minimum_version)))
        return self._cells

    def _build_cell(self, name, uuid, database_url, transport_url):
        db = db_api.Database(self.conf, connection=database_url)
        volume_api = (self.volume_api if self.conf.volume.backend == 'cinder'
                      else volume.get_api(self.conf, db))

        def rpcapi():
            return compute_rpcapi.ComputeAPI(
                self.conf, rpc.get_transport(self.conf, url=transport_url),
                self._cells.minimum_service_version)
        return cells.Cell(name, db, volume_api, rpcapi, uuid=uuid)

    @property
    def compute_api(self):
        if self._compute_api is None:
            self._compute_api = compute_api.API(
                self.cells,
                notifier=notifications.Notifier(
                    self.notification_transport, self.conf.host,
                    service='nova-api'),
                host=self.conf.host,
                service_down_time=self.conf.service_down_time)
        return self._compute_api

    def compute_manager(self, host, driver=None):
        """The compute worker of ``host`` (the reference driver unless
        another is given)."""
        if driver is None:
            driver = compute_manager.ReferenceDriver(
                self.conf.reference_driver.detach_delay, host)
        return compute_manager.ComputeManager(
            host, self.db, self.volume_api, driver, self.notifier(host))

    def hosts(self):
        """The compute hosts of the live servers of ``[database]``."""
        return self.db.instance_hosts(detach_context.get_admin_context())

    def compute_server(self, manager):
        """An RPC server (not started) delivering to ``manager``."""
        target = oslo_messaging.Target(topic=compute_rpcapi.TOPIC,
                                       server=manager.host)
        return rpc.get_server(self.transport, target, manager.endpoints())

    def close(self):
        """Close the pools and connections built so far (they are built
        again if used after this)."""
        if self._cells is not None:
            self._cells.close()
        for transport in (self._transport, self._notification_transport):
            if transport is not None:
                transport.cleanup()
        self._cells = self._compute_api = None
        self._transport = self._notification_transport = None
        self.db.dispose()
