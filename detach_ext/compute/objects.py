"""Nova versioned-object primitives of the rows detach_ext sends.

The ``Instance`` primitive is built as nova-api 34 builds the one it casts
with ``detach_volume``: the Instance 2.8 fields that are columns of
``instances`` (``Instance._from_db_object``), plus what the API loads for
this call (``compute.API.get()``'s metadata, system_metadata,
security_groups, info_cache, and the volume attachment API's
device_metadata), each in its field's wire form.  The forms are fixed from
Nova's field types, not from the database's column types, so the message
is the same on SQLite, MariaDB (whose BOOLEAN is a TINYINT(1) that table
reflection reads as an integer) and PostgreSQL.
"""

import datetime

INSTANCE_VERSION = '2.8'
INFO_CACHE_VERSION = '1.5'
SECURITY_GROUP_LIST_VERSION = '1.1'
SERVICE_VERSION = '1.22'
SERVICE_LIST_VERSION = '1.19'

# Service's fields that are columns ('availability_zone' is not; the
# lazy-loaded 'compute_node' is not sent).
_SERVICE_FIELDS = ('id', 'uuid', 'host', 'binary', 'topic', 'report_count',
                   'disabled', 'disabled_reason', 'last_seen_up',
                   'forced_down', 'version', 'created_at', 'updated_at',
                   'deleted_at', 'deleted')

# Nova 34's Instance 2.8 fields read from columns of ``instances``
# (nova/objects/instance.py ``fields`` less INSTANCE_OPTIONAL_ATTRS).
INSTANCE_COLUMN_FIELDS = (
    'id', 'user_id', 'project_id', 'image_ref', 'kernel_id', 'ramdisk_id',
    'hostname', 'launch_index', 'key_name', 'key_data', 'power_state',
    'vm_state', 'task_state', 'memory_mb', 'vcpus', 'root_gb',
    'ephemeral_gb', 'ephemeral_key_uuid', 'host', 'node', 'compute_id',
    'instance_type_id', 'user_data', 'reservation_id', 'launched_at',
    'terminated_at', 'availability_zone', 'display_name',
    'display_description', 'launched_on', 'locked', 'locked_by', 'os_type',
    'architecture', 'vm_mode', 'uuid', 'root_device_name',
    'default_ephemeral_device', 'default_swap_device', 'config_drive',
    'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress',
    'shutdown_terminate', 'disable_terminate', 'cell_name', 'cleaned',
    'hidden', 'created_at', 'updated_at', 'deleted_at', 'deleted',
)

# Instance fields that are BooleanFields (JSON true/false on the wire)
# stored in Boolean columns; ``cleaned`` (an Integer column, true when 1)
# and ``deleted`` (0 or the row id) are converted as Nova does.
BOOLEAN_FIELDS = ('locked', 'auto_disk_config', 'shutdown_terminate',
                  'disable_terminate', 'hidden')

# IPV4AddressField / IPV6AddressField: sent as their text.
_IP_FIELDS = ('access_ip_v4', 'access_ip_v6')


def _wire(value):
    if isinstance(value, datetime.datetime):
        # oslo.versionedobjects' DateTimeField wire form (naive database
        # datetimes are UTC).
        return value.strftime('%Y-%m-%dT%H:%M:%SZ')
    return value


def primitive(name, version, data):
    """A primitive of an object without changes (nova-api sends objects
    fresh from the database, whose primitives have no
    ``nova_object.changes``)."""
    return {
        'nova_object.name': name,
        'nova_object.namespace': 'nova',
        'nova_object.version': version,
        'nova_object.data': data,
    }


# How each Instance field that is not sent as the column holds it is
# converted (every other field's value goes as it is, a datetime in its
# wire form).
_INSTANCE_CONVERSIONS = dict(
    # None too: the booleans are not nullable and default to False.
    {name: lambda value, row: bool(value) for name in BOOLEAN_FIELDS},
    cleaned=lambda value, row: value == 1,
    deleted=lambda value, row: bool(value) and value == row.get('id'),
    **{name: lambda value, row: None if value is None else str(value)
       for name in _IP_FIELDS})


def _instance_data(row):
    # Built once per detach: a comprehension for the fields, then the few
    # conversions, rather than a test of each field's kind.
    data = {name: row[name] for name in INSTANCE_COLUMN_FIELDS
            if name in row}  # a column detach_ext's own schema lacks
    for name, convert in _INSTANCE_CONVERSIONS.items():
        if name in data:
            data[name] = convert(data[name], row)
    for name, value in data.items():
        if isinstance(value, datetime.datetime):
            data[name] = _wire(value)
    return data


def _info_cache(cache):
    """InstanceInfoCache 1.5: its NetworkModel field goes as the JSON text
    the column holds (None when empty, as Nova's nullable field)."""
    return primitive('InstanceInfoCache', INFO_CACHE_VERSION, {
        'instance_uuid': cache['instance_uuid'],
        'network_info': cache.get('network_info'),
        'created_at': _wire(cache.get('created_at')),
        'updated_at': _wire(cache.get('updated_at')),
        'deleted_at': _wire(cache.get('deleted_at')),
        'deleted': bool(cache.get('deleted')),
    })


def _service(row):
    data = {}
    for name in _SERVICE_FIELDS:
        if name not in row or (name == 'uuid' and not row[name]):
            continue
        value = row[name]
        if name in ('disabled', 'forced_down'):
            value = bool(value)
        elif name == 'deleted':
            value = bool(value) and value == row.get('id')
        data[name] = _wire(value)
    return primitive('Service', SERVICE_VERSION, data)


def instance_primitive(full):
    """An ``Instance`` primitive from
    :meth:`detach_ext.db.api.Database.instance_get_full`."""
    data = _instance_data(full['instance'])
    for key in ('metadata', 'system_metadata'):
        if full.get(key) is not None:
            data[key] = full[key]
    cache = full.get('info_cache')
    data['info_cache'] = _info_cache(cache) if cache is not None else None
    # Nova 34 no longer reads security groups from its database (they are
    # Neutron's): the API always sends an empty list.
    data['security_groups'] = primitive(
        'SecurityGroupList', SECURITY_GROUP_LIST_VERSION, {'objects': []})
    # An InstanceDeviceMetadata primitive stored as JSON in
    # instance_extra, or None.
    data['device_metadata'] = full.get('device_metadata')
    # nova-api loads the services of the server's host before it casts
    # (to check that its nova-compute is up).
    if full.get('services') is not None:
        data['services'] = primitive(
            'ServiceList', SERVICE_LIST_VERSION,
            {'objects': [_service(s) for s in full['services']]})
    return primitive('Instance', INSTANCE_VERSION, data)


def instance_data(instance_primitive):
    return instance_primitive['nova_object.data']
