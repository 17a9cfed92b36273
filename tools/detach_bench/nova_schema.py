# flake8: noqa  (generated: alembic renders one argument per line)
"""Nova 34.0.0's tables on the detach path, with every column and index.

Rendered from nova/db/main/models.py of nova 34.0.0 (alembic's
autogenerate renderer over its metadata; ``SoftDeleteInteger`` is an
Integer, ``IPAddress`` a String(39), ``MediumText`` MEDIUMTEXT on MySQL),
so the benchmark's database has the rows a real cell database has without
installing Nova.  detach_ext's own table comes from its migrations.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

METADATA = sa.MetaData()
# Nova's tables are InnoDB, utf8 (models.py's BASE via oslo.db).
_OPTIONS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8'}


def _c(table, *names):
    return [METADATA.tables[table].c[n] for n in names]


sa.Table('instances', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('image_ref', sa.String(length=255), nullable=True),
    sa.Column('kernel_id', sa.String(length=255), nullable=True),
    sa.Column('ramdisk_id', sa.String(length=255), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('launch_index', sa.Integer(), nullable=True),
    sa.Column('key_name', sa.String(length=255), nullable=True),
    sa.Column('key_data', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('power_state', sa.Integer(), nullable=True),
    sa.Column('vm_state', sa.String(length=255), nullable=True),
    sa.Column('task_state', sa.String(length=255), nullable=True),
    sa.Column('memory_mb', sa.Integer(), nullable=True),
    sa.Column('vcpus', sa.Integer(), nullable=True),
    sa.Column('root_gb', sa.Integer(), nullable=True),
    sa.Column('ephemeral_gb', sa.Integer(), nullable=True),
    sa.Column('ephemeral_key_uuid', sa.String(length=36), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('node', sa.String(length=255), nullable=True),
    sa.Column('compute_id', sa.BigInteger(), nullable=True),
    sa.Column('instance_type_id', sa.Integer(), nullable=True),
    sa.Column('user_data', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('reservation_id', sa.String(length=255), nullable=True),
    sa.Column('launched_at', sa.DateTime(), nullable=True),
    sa.Column('terminated_at', sa.DateTime(), nullable=True),
    sa.Column('availability_zone', sa.String(length=255), nullable=True),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('display_description', sa.String(length=255), nullable=True),
    sa.Column('launched_on', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=True),
    sa.Column('locked_by', sa.Enum('owner', 'admin', name='instances0locked_by'), nullable=True),
    sa.Column('os_type', sa.String(length=255), nullable=True),
    sa.Column('architecture', sa.String(length=255), nullable=True),
    sa.Column('vm_mode', sa.String(length=255), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('root_device_name', sa.String(length=255), nullable=True),
    sa.Column('default_ephemeral_device', sa.String(length=255), nullable=True),
    sa.Column('default_swap_device', sa.String(length=255), nullable=True),
    sa.Column('config_drive', sa.String(length=255), nullable=True),
    sa.Column('access_ip_v4', sa.String(length=39), nullable=True),
    sa.Column('access_ip_v6', sa.String(length=39), nullable=True),
    sa.Column('auto_disk_config', sa.Boolean(), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('shutdown_terminate', sa.Boolean(), nullable=True),
    sa.Column('disable_terminate', sa.Boolean(), nullable=True),
    sa.Column('cell_name', sa.String(length=255), nullable=True),
    sa.Column('cleaned', sa.Integer(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid', name='uniq_instances0uuid'),
    **_OPTIONS)
sa.Index('instances_compute_id_deleted_idx', *_c('instances', 'compute_id', 'deleted'), unique=False)
sa.Index('instances_deleted_created_at_idx', *_c('instances', 'deleted', 'created_at'), unique=False)
sa.Index('instances_host_deleted_cleaned_idx', *_c('instances', 'host', 'deleted', 'cleaned'), unique=False)
sa.Index('instances_host_node_deleted_idx', *_c('instances', 'host', 'node', 'deleted'), unique=False)
sa.Index('instances_project_id_deleted_idx', *_c('instances', 'project_id', 'deleted'), unique=False)
sa.Index('instances_project_id_idx', *_c('instances', 'project_id'), unique=False)
sa.Index('instances_reservation_id_idx', *_c('instances', 'reservation_id'), unique=False)
sa.Index('instances_task_state_updated_at_idx', *_c('instances', 'task_state', 'updated_at'), unique=False)
sa.Index('instances_terminated_at_launched_at_idx', *_c('instances', 'terminated_at', 'launched_at'), unique=False)
sa.Index('instances_updated_at_project_id_idx', *_c('instances', 'updated_at', 'project_id'), unique=False)
sa.Index('instances_uuid_deleted_idx', *_c('instances', 'uuid', 'deleted'), unique=False)
sa.Table('instance_extra', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('device_metadata', sa.Text(), nullable=True),
    sa.Column('numa_topology', sa.Text(), nullable=True),
    sa.Column('pci_requests', sa.Text(), nullable=True),
    sa.Column('flavor', sa.Text(), nullable=True),
    sa.Column('vcpu_model', sa.Text(), nullable=True),
    sa.Column('migration_context', sa.Text(), nullable=True),
    sa.Column('keypairs', sa.Text(), nullable=True),
    sa.Column('trusted_certs', sa.Text(), nullable=True),
    sa.Column('resources', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Index('instance_extra_idx', *_c('instance_extra', 'instance_uuid'), unique=False)
sa.Table('instance_info_caches', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('network_info', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_uuid', name='uniq_instance_info_caches0instance_uuid'),
    **_OPTIONS)
sa.Table('instance_system_metadata', METADATA,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Index('instance_uuid', *_c('instance_system_metadata', 'instance_uuid'), unique=False)
sa.Table('instance_metadata', METADATA,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('value', sa.String(length=255), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Index('instance_metadata_instance_uuid_idx', *_c('instance_metadata', 'instance_uuid'), unique=False)
sa.Table('block_device_mapping', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=True),
    sa.Column('source_type', sa.String(length=255), nullable=True),
    sa.Column('destination_type', sa.String(length=255), nullable=True),
    sa.Column('guest_format', sa.String(length=255), nullable=True),
    sa.Column('device_type', sa.String(length=255), nullable=True),
    sa.Column('disk_bus', sa.String(length=255), nullable=True),
    sa.Column('boot_index', sa.Integer(), nullable=True),
    sa.Column('device_name', sa.String(length=255), nullable=True),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=True),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('volume_id', sa.String(length=36), nullable=True),
    sa.Column('volume_size', sa.Integer(), nullable=True),
    sa.Column('volume_type', sa.String(length=255), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('no_device', sa.Boolean(), nullable=True),
    sa.Column('connection_info', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('tag', sa.String(length=255), nullable=True),
    sa.Column('attachment_id', sa.String(length=36), nullable=True),
    sa.Column('encrypted', sa.Boolean(), nullable=True),
    sa.Column('encryption_secret_uuid', sa.String(length=36), nullable=True),
    sa.Column('encryption_format', sa.String(length=128), nullable=True),
    sa.Column('encryption_options', sa.String(length=4096), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid', name='uniq_block_device_mapping0uuid'),
    **_OPTIONS)
sa.Index('block_device_mapping_instance_uuid_device_name_idx', *_c('block_device_mapping', 'instance_uuid', 'device_name'), unique=False)
sa.Index('block_device_mapping_instance_uuid_idx', *_c('block_device_mapping', 'instance_uuid'), unique=False)
sa.Index('block_device_mapping_instance_uuid_volume_id_idx', *_c('block_device_mapping', 'instance_uuid', 'volume_id'), unique=False)
sa.Index('snapshot_id', *_c('block_device_mapping', 'snapshot_id'), unique=False)
sa.Index('volume_id', *_c('block_device_mapping', 'volume_id'), unique=False)
sa.Table('instance_actions', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=255), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('request_id', sa.String(length=255), nullable=True),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('start_time', sa.DateTime(), nullable=True),
    sa.Column('finish_time', sa.DateTime(), nullable=True),
    sa.Column('message', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Index('instance_actions_instance_uuid_updated_at_idx', *_c('instance_actions', 'instance_uuid', 'updated_at'), unique=False)
sa.Index('instance_uuid_idx', *_c('instance_actions', 'instance_uuid'), unique=False)
sa.Index('request_id_idx', *_c('instance_actions', 'request_id'), unique=False)
sa.Table('instance_actions_events', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event', sa.String(length=255), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('start_time', sa.DateTime(), nullable=True),
    sa.Column('finish_time', sa.DateTime(), nullable=True),
    sa.Column('result', sa.String(length=255), nullable=True),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['instance_actions.id']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Table('instance_faults', METADATA,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('code', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=255), nullable=True),
    sa.Column('details', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_uuid'], ['instances.uuid']),
    sa.PrimaryKeyConstraint('id'),
    **_OPTIONS)
sa.Index('instance_faults_host_idx', *_c('instance_faults', 'host'), unique=False)
sa.Index('instance_faults_instance_uuid_deleted_created_at_idx', *_c('instance_faults', 'instance_uuid', 'deleted', 'created_at'), unique=False)
sa.Table('services', METADATA,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('binary', sa.String(length=255), nullable=True),
    sa.Column('topic', sa.String(length=255), nullable=True),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=True),
    sa.Column('disabled_reason', sa.String(length=255), nullable=True),
    sa.Column('last_seen_up', sa.DateTime(), nullable=True),
    sa.Column('forced_down', sa.Boolean(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('host', 'binary', 'deleted', name='uniq_services0host0binary0deleted'),
    sa.UniqueConstraint('host', 'topic', 'deleted', name='uniq_services0host0topic0deleted'),
    **_OPTIONS)
sa.Index('services_uuid_idx', *_c('services', 'uuid'), unique=True)
