"""SQLAlchemy models.

Two metadata objects keep ownership plain: ``NovaBase`` maps Nova's tables
with Nova's table and column names (a subset of the columns, so detach_ext
can be pointed at a Nova cell database), ``DetachExtBase`` the tables
detach_ext owns and migrates.  Soft delete follows Nova: live rows have
``deleted = 0``; deleting sets ``deleted = id``.
"""

from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import orm


def _now():
    return timeutils.utcnow()


class NovaBase(orm.DeclarativeBase):
    pass


class DetachExtBase(orm.DeclarativeBase):
    pass


class _Timestamps:
    created_at = sa.Column(sa.DateTime, default=_now)
    updated_at = sa.Column(sa.DateTime, onupdate=_now)


class _SoftDelete(_Timestamps):
    deleted_at = sa.Column(sa.DateTime)
    deleted = sa.Column(sa.Integer, default=0)


class Instance(_SoftDelete, NovaBase):
    __tablename__ = 'instances'
    __table_args__ = (
        sa.Index('uuid', 'uuid', unique=True),
        sa.Index('instances_project_id_deleted_idx', 'project_id',
                 'deleted'),
        sa.Index('instances_host_deleted_idx', 'host', 'deleted'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    hostname = sa.Column(sa.String(255))
    display_name = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))
    node = sa.Column(sa.String(255))
    power_state = sa.Column(sa.Integer)
    vm_state = sa.Column(sa.String(255))
    task_state = sa.Column(sa.String(255))
    locked = sa.Column(sa.Boolean, default=False)
    locked_by = sa.Column(sa.Enum('owner', 'admin',
                                  name='instances0locked_by'))
    launched_at = sa.Column(sa.DateTime)
    terminated_at = sa.Column(sa.DateTime)
    root_device_name = sa.Column(sa.String(255))
    availability_zone = sa.Column(sa.String(255))


class BlockDeviceMapping(_SoftDelete, NovaBase):
    __tablename__ = 'block_device_mapping'
    __table_args__ = (
        sa.Index('block_device_mapping_instance_uuid_volume_id_idx',
                 'instance_uuid', 'volume_id'),
        sa.Index('block_device_mapping_instance_uuid_idx', 'instance_uuid'),
        sa.Index('block_device_mapping_volume_id_idx', 'volume_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36))
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'),
                              nullable=False)
    source_type = sa.Column(sa.String(255))
    destination_type = sa.Column(sa.String(255))
    device_type = sa.Column(sa.String(255))
    disk_bus = sa.Column(sa.String(255))
    boot_index = sa.Column(sa.Integer)
    device_name = sa.Column(sa.String(255))
    delete_on_termination = sa.Column(sa.Boolean, default=False)
    snapshot_id = sa.Column(sa.String(36))
    volume_id = sa.Column(sa.String(36))
    volume_size = sa.Column(sa.Integer)
    image_id = sa.Column(sa.String(36))
    no_device = sa.Column(sa.Boolean)
    connection_info = sa.Column(sa.Text)
    tag = sa.Column(sa.String(255))
    attachment_id = sa.Column(sa.String(36))

    @property
    def is_root(self):
        return self.boot_index == 0


class InstanceFault(_Timestamps, NovaBase):
    __tablename__ = 'instance_faults'
    __table_args__ = (
        sa.Index('instance_faults_host_idx', 'host'),
        sa.Index('instance_faults_instance_uuid_deleted_created_at_idx',
                 'instance_uuid', 'deleted', 'created_at'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'))
    code = sa.Column(sa.Integer, nullable=False)
    message = sa.Column(sa.String(255))
    details = sa.Column(sa.Text)
    host = sa.Column(sa.String(255))
    deleted_at = sa.Column(sa.DateTime)
    deleted = sa.Column(sa.Integer, default=0)


class InstanceAction(_SoftDelete, NovaBase):
    """Nova's record of an operation on an instance, by request id."""

    __tablename__ = 'instance_actions'
    __table_args__ = (
        sa.Index('instance_uuid_idx', 'instance_uuid'),
        sa.Index('request_id_idx', 'request_id'),
        sa.Index('instance_actions_instance_uuid_updated_at_idx',
                 'instance_uuid', 'updated_at'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    action = sa.Column(sa.String(255))
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'))
    request_id = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    start_time = sa.Column(sa.DateTime, default=_now)
    finish_time = sa.Column(sa.DateTime)
    message = sa.Column(sa.String(255))


class InstanceActionEvent(_SoftDelete, NovaBase):
    __tablename__ = 'instance_actions_events'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    event = sa.Column(sa.String(255))
    action_id = sa.Column(sa.Integer, sa.ForeignKey('instance_actions.id'))
    start_time = sa.Column(sa.DateTime, default=_now)
    finish_time = sa.Column(sa.DateTime)
    result = sa.Column(sa.String(255))
    traceback = sa.Column(sa.Text)
    host = sa.Column(sa.String(255))
    details = sa.Column(sa.Text)


class InstanceMetadata(_SoftDelete, NovaBase):
    __tablename__ = 'instance_metadata'
    __table_args__ = (sa.Index('instance_metadata_instance_uuid_idx',
                               'instance_uuid'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    key = sa.Column(sa.String(255))
    value = sa.Column(sa.String(255))
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'))


class InstanceSystemMetadata(_SoftDelete, NovaBase):
    __tablename__ = 'instance_system_metadata'
    __table_args__ = (sa.Index('instance_uuid', 'instance_uuid'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    key = sa.Column(sa.String(255), nullable=False)
    value = sa.Column(sa.String(255))
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'),
                              nullable=False)


class InstanceInfoCache(_SoftDelete, NovaBase):
    __tablename__ = 'instance_info_caches'
    __table_args__ = (sa.UniqueConstraint(
        'instance_uuid', name='uniq_instance_info_caches0instance_uuid'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    network_info = sa.Column(sa.Text)
    instance_uuid = sa.Column(sa.String(36),
                              sa.ForeignKey('instances.uuid'),
                              nullable=False)


class Service(_SoftDelete, NovaBase):
    """A Nova service (nova-compute, ...) as it registers itself; read
    for ``[upgrade_levels] compute = auto``."""

    __tablename__ = 'services'
    __table_args__ = (
        sa.UniqueConstraint('host', 'topic', 'deleted',
                            name='uniq_services0host0topic0deleted'),
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.Index('services_uuid_idx', 'uuid', unique=True),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=True)
    host = sa.Column(sa.String(255))
    binary = sa.Column(sa.String(255))
    topic = sa.Column(sa.String(255))
    report_count = sa.Column(sa.Integer, nullable=False, default=0)
    disabled = sa.Column(sa.Boolean, default=False)
    disabled_reason = sa.Column(sa.String(255))
    last_seen_up = sa.Column(sa.DateTime, nullable=True)
    forced_down = sa.Column(sa.Boolean, default=False)
    version = sa.Column(sa.Integer, default=0)


class Volume(_Timestamps, DetachExtBase):
    """Volume status for the ``local`` volume backend."""

    __tablename__ = 'detach_ext_volumes'

    id = sa.Column(sa.String(36), primary_key=True)
    project_id = sa.Column(sa.String(255))
    status = sa.Column(sa.String(255), nullable=False)


class Rollback(DetachExtBase):
    """A volume the API left ``detaching`` at the block storage service
    when it answered 503 and could not set it back to ``in-use``: the
    repair of the server's host owes it that roll back.  (With Cinder the
    repair cannot tell its own ``detaching`` from another's, such as Nova's
    swap of a volume, without this.)"""

    __tablename__ = 'detach_ext_rollbacks'

    volume_id = sa.Column(sa.String(36), primary_key=True)
    instance_uuid = sa.Column(sa.String(36), nullable=False)
    request_id = sa.Column(sa.String(255))
    created_at = sa.Column(sa.DateTime)
