"""Cells v2: which cell (database and message bus) holds a server.

Without ``[api_database] connection`` there is one cell: ``[database]
connection`` and ``[DEFAULT] transport_url``.  With it, as in Nova, a
server is found through the API database: ``instance_mappings`` names its
cell and ``cell_mappings`` that cell's database and message bus, whose URLs
may be templates that Nova formats with the parts of this service's own
``[database] connection`` and ``transport_url``.  Each cell's engine and
transport are built on first use and kept (Nova keeps them too).
"""

import threading
import urllib.parse

from oslo_log import log as logging

from detach_ext import exception

LOG = logging.getLogger(__name__)


class Cell:
    """What the API needs of one cell.

    :param name: the cell's name (for logs).
    :param db: its :class:`detach_ext.db.api.Database`.
    :param volume_api: the volume backend (the ``local`` one keeps its
        table in the cell's database).
    :param compute_rpcapi: a :class:`detach_ext.compute.rpcapi.ComputeAPI`
        on the cell's message bus, or a function making one (called on
        first use: cell0 has no bus, and its servers are never cast to).
    """

    def __init__(self, name, db, volume_api, compute_rpcapi, uuid=None):
        self.name = name
        self.uuid = uuid
        self.db = db
        self.volume_api = volume_api
        self._compute_rpcapi = compute_rpcapi
        self._lock = threading.Lock()

    @property
    def compute_rpcapi(self):
        with self._lock:
            if callable(self._compute_rpcapi):
                self._compute_rpcapi = self._compute_rpcapi()
            return self._compute_rpcapi

    @property
    def transport(self):
        """The cell's message bus (its workers listen on it)."""
        return self.compute_rpcapi.transport

    def close(self):
        self.db.dispose()
        rpcapi = self._compute_rpcapi
        if not callable(rpcapi) and rpcapi.transport is not None:
            rpcapi.transport.cleanup()


class OneCell:
    """A deployment without an API database: one cell holds every server."""

    def __init__(self, cell):
        self.cell = cell

    def cell_of(self, context, instance_uuid):
        return self.cell

    def all(self, context):
        return [self.cell]

    def close(self):
        pass


class MappedCells:
    """The cells of Nova's API database.

    :param api_db: a :class:`detach_ext.db.mappings.APIDatabase`.
    :param build: ``build(name, uuid, database_url, transport_url)`` makes a
        :class:`Cell` of formatted URLs.
    :param database_url: this service's ``[database] connection``, the
        default of URL templates.
    :param transport_url: this service's ``transport_url``, likewise.
    """

    def __init__(self, api_db, build, database_url=None, transport_url=None):
        self.api_db = api_db
        self._build = build
        self._database_url = database_url
        self._transport_url = transport_url
        self._cells = {}
        self._lock = threading.Lock()

    def cell_of(self, context, instance_uuid):
        """The cell of a server; InstanceNotFound if it is in none (never
        mapped, or still being scheduled), as Nova answers."""
        mapping = self.api_db.cell_of_instance(context, instance_uuid)
        if mapping is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return self._cell(mapping)

    def all(self, context):
        """Every cell, cell0 included."""
        return [self._cell(m) for m in self.api_db.cell_mappings(context)]

    def minimum_service_version(self, context, binary):
        """The minimum version of ``binary`` over every cell's services,
        0 if none: Nova's ``get_minimum_version_all_cells``, which skips
        (with a warning) a cell it cannot read."""
        found = []
        for cell in self.all(context):
            try:
                version = cell.db.service_get_minimum_version(context,
                                                              binary)
            except Exception as exc:
                LOG.warning('Could not read the %(binary)s versions of cell '
                            '%(cell)s: %(error)s', {'binary': binary,
                                                    'cell': cell.name,
                                                    'error': exc})
                continue
            if version:
                found.append(version)
        return min(found) if found else 0

    def _cell(self, mapping):
        with self._lock:
            cell = self._cells.get(mapping.uuid)
            if cell is None:
                cell = self._cells[mapping.uuid] = self._build(
                    mapping.name, mapping.uuid,
                    format_url(mapping.database_connection,
                               self._database_url),
                    format_url(mapping.transport_url, self._transport_url))
                LOG.info('Using cell %(name)s (%(uuid)s).',
                         {'name': mapping.name, 'uuid': mapping.uuid})
            return cell

    def close(self):
        with self._lock:
            cells, self._cells = list(self._cells.values()), {}
        for cell in cells:
            cell.close()
        self.api_db.dispose()


def _netloc_parts(netloc):
    parsed = urllib.parse.urlsplit('//' + netloc)
    return {'username': parsed.username, 'password': parsed.password,
            'hostname': parsed.hostname, 'port': parsed.port}


def format_url(url, default):
    """A cell mapping URL with Nova's template variables filled in from
    ``default``: ``{scheme}``, ``{username}``, ``{password}``,
    ``{hostname}``, ``{port}``, ``{path}``, ``{query}``, ``{fragment}``, and
    for a message bus URL of several hosts ``{username1}``, ``{hostname1}``,
    ... (Nova's ``CellMapping._format_url``)."""
    if not url or '{' not in url:
        return url
    if not default:
        raise exception.DetachExtException(
            'The cell mapping URL %s is a template, but the option it is '
            'formatted from is not set.' % url)
    parsed = urllib.parse.urlsplit(default)
    subs = {'scheme': parsed.scheme, 'query': parsed.query,
            'fragment': parsed.fragment, 'path': parsed.path.lstrip('/')}
    subs.update(_netloc_parts(parsed.netloc.split(',')[0]))
    if ',' in parsed.netloc:
        for index, netloc in enumerate(parsed.netloc.split(','), 1):
            for key, value in _netloc_parts(netloc).items():
                subs['%s%i' % (key, index)] = value
    return url.format(**subs)
