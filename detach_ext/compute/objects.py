"""Nova versioned-object primitives of the rows detach_ext sends.

A nova-compute rebuilds an ``Instance`` from ``nova_object.data``, taking
the keys that are fields of its Instance object and ignoring the rest, so
every column of the ``instances`` row is sent as it is, with Nova's wire
form for the values whose types differ between database and object.
"""

import datetime

INSTANCE_VERSION = '2.8'
INFO_CACHE_VERSION = '1.5'


def _wire(value):
    if isinstance(value, datetime.datetime):
        # oslo.versionedobjects' DateTimeField wire form.
        return value.strftime('%Y-%m-%dT%H:%M:%SZ')
    return value


def primitive(name, version, data):
    return {
        'nova_object.name': name,
        'nova_object.namespace': 'nova',
        'nova_object.version': version,
        'nova_object.data': data,
        'nova_object.changes': [],
    }


def _soft_deleted_row(row):
    data = {k: _wire(v) for k, v in row.items() if k != 'id'}
    # Soft delete: the column holds 0 or the row id, the field a boolean.
    data['deleted'] = bool(row.get('deleted'))
    return data


def instance_primitive(full):
    """An ``Instance`` primitive from
    :meth:`detach_ext.db.api.Database.instance_get_full`."""
    data = _soft_deleted_row(full['instance'])
    data['id'] = full['instance']['id']
    for key in ('metadata', 'system_metadata'):
        if full.get(key) is not None:
            data[key] = full[key]
    cache = full.get('info_cache')
    if cache is not None:
        cache_data = _soft_deleted_row(cache)
        cache_data.pop('network_info', None)
        # NetworkModel's wire form is the JSON text the column holds.
        cache_data['network_info'] = cache.get('network_info') or '[]'
        data['info_cache'] = primitive('InstanceInfoCache',
                                       INFO_CACHE_VERSION, cache_data)
    return primitive('Instance', INSTANCE_VERSION, data)


def instance_data(instance_primitive):
    return instance_primitive['nova_object.data']
