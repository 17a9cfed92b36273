"""Nova's API database: which cell holds each server (cells v2).

Read only: detach_ext never writes Nova's API database.  The models carry
Nova's table and column names (the columns detach_ext reads, and what a
test needs to build the tables).
"""

from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import orm

from detach_ext.db import api as db_api


class NovaAPIBase(orm.DeclarativeBase):
    pass


class CellMapping(NovaAPIBase):
    """A cell: its database and its message bus."""

    __tablename__ = 'cell_mappings'
    __table_args__ = (
        sa.Index('uuid_idx', 'uuid'),
        sa.UniqueConstraint('uuid', name='uniq_cell_mappings0uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    name = sa.Column(sa.String(255))
    transport_url = sa.Column(sa.Text())
    database_connection = sa.Column(sa.Text())
    disabled = sa.Column(sa.Boolean, default=False)
    created_at = sa.Column(sa.DateTime, default=timeutils.utcnow)
    updated_at = sa.Column(sa.DateTime)


class InstanceMapping(NovaAPIBase):
    """A server and its cell (none yet while it is being scheduled)."""

    __tablename__ = 'instance_mappings'
    __table_args__ = (
        sa.Index('project_id_idx', 'project_id'),
        sa.Index('instance_uuid_idx', 'instance_uuid'),
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_instance_mappings0instance_uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    instance_uuid = sa.Column(sa.String(36), nullable=False)
    cell_id = sa.Column(sa.Integer, sa.ForeignKey('cell_mappings.id'),
                        nullable=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    user_id = sa.Column(sa.String(255), nullable=True)
    queued_for_delete = sa.Column(sa.Boolean, default=False)
    created_at = sa.Column(sa.DateTime, default=timeutils.utcnow)
    updated_at = sa.Column(sa.DateTime)


# Nova's name and uuid of the cell of servers that were never scheduled.
CELL0_UUID = '00000000-0000-0000-0000-000000000000'


class APIDatabase:
    """Nova's API database (``[api_database] connection``).

    :param conf: the ConfigOpts; the pool settings of ``[database]`` apply.
    """

    def __init__(self, conf):
        self.ctxmgr = enginefacade.transaction_context()
        self.ctxmgr.configure(**db_api.engine_options(
            conf, conf.api_database.connection))

    def dispose(self):
        self.ctxmgr.dispose_pool()

    @db_api.retry_read
    def cell_of_instance(self, context, instance_uuid):
        """The cell mapping (a row with ``uuid``, ``name``,
        ``database_connection``, ``transport_url``) of a server, or None
        when the server is unmapped or not in a cell yet."""
        query = sa.select(
            CellMapping.uuid, CellMapping.name,
            CellMapping.database_connection, CellMapping.transport_url,
        ).join(InstanceMapping, InstanceMapping.cell_id == CellMapping.id
               ).where(InstanceMapping.instance_uuid == instance_uuid)
        with self.ctxmgr.reader.connection.using(context) as conn:
            return conn.execute(query).first()

    @db_api.retry_read
    def cell_mappings(self, context):
        """Every cell mapping, cell0 included."""
        query = sa.select(
            CellMapping.uuid, CellMapping.name,
            CellMapping.database_connection, CellMapping.transport_url,
        ).order_by(CellMapping.id)
        with self.ctxmgr.reader.connection.using(context) as conn:
            return conn.execute(query).all()
