"""The detach's one read: a server, its attachment of the volume, and all
that Nova's cast carries of it, in a single statement.

Nova's API reads the instance, then its attachment, then (to build the
cast) the instance again with its metadata, system metadata, info cache,
device metadata and its host's services: seven or more round trips.  Here
one SELECT joins the instance with the attachment, the info cache and
``instance_extra``, and folds the key/value tables and the services into
JSON columns with the database's own aggregate (MariaDB/MySQL
``JSON_OBJECTAGG``, PostgreSQL ``json_object_agg``, SQLite
``json_group_object``).  Tables a database does not have (detach_ext's
standalone schema lacks ``instance_extra``) are left out of the statement,
which is built once per database and reused.
"""

import datetime
import json

import sqlalchemy as sa
from sqlalchemy.ext import compiler
from sqlalchemy.sql import functions
from sqlalchemy.sql import visitors

from detach_ext.db import models


class json_object_agg(functions.GenericFunction):
    """``{key: value}`` of the rows aggregated."""
    inherit_cache = True


class json_array_agg(functions.GenericFunction):
    """``[object, ...]`` of the rows aggregated; its arguments are the
    object's key, value, key, value, ..."""
    inherit_cache = True


@compiler.compiles(json_object_agg, 'mysql')
def _object_agg_mysql(element, compiler, **kw):
    return 'JSON_OBJECTAGG(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(json_object_agg, 'postgresql')
def _object_agg_pg(element, compiler, **kw):
    return 'json_object_agg(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(json_object_agg)
def _object_agg_sqlite(element, compiler, **kw):
    return 'json_group_object(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(json_array_agg, 'mysql')
def _array_agg_mysql(element, compiler, **kw):
    return 'JSON_ARRAYAGG(JSON_OBJECT(%s))' % compiler.process(
        element.clauses, **kw)


@compiler.compiles(json_array_agg, 'postgresql')
def _array_agg_pg(element, compiler, **kw):
    return 'json_agg(json_build_object(%s))' % compiler.process(
        element.clauses, **kw)


@compiler.compiles(json_array_agg)
def _array_agg_sqlite(element, compiler, **kw):
    return 'json_group_array(json_object(%s))' % compiler.process(
        element.clauses, **kw)


class json_row(sa.sql.expression.ColumnElement):
    """A row of ``table`` (a table or an alias) as one JSON object.

    One column instead of one per table column: a MySQL-protocol driver
    parses a descriptor packet per column of a result, in Python for
    PyMySQL, and that was most of the read's cost.
    """

    # What the SQL depends on, for SQLAlchemy's statement cache (the
    # statement is then compiled once, not on every detach).
    _traverse_internals = [
        ('table', visitors.InternalTraversal.dp_clauseelement),
        ('names', visitors.InternalTraversal.dp_string_list)]
    inherit_cache = True

    def __init__(self, table, names):
        self.table = table
        self.names = list(names)
        self.type = sa.types.NullType()


def _pairs(element, compiler, **kw):
    return ', '.join("'%s', %s" % (name, compiler.process(
        element.table.c[name], **kw)) for name in element.names)


@compiler.compiles(json_row, 'mysql')
def _row_mysql(element, compiler, **kw):
    return 'JSON_OBJECT(%s)' % _pairs(element, compiler, **kw)


@compiler.compiles(json_row, 'postgresql')
def _row_pg(element, compiler, **kw):
    # json_build_object takes at most 100 arguments; Nova's instances has
    # more columns than 50.  The row itself has every column.
    return 'to_json(%s)' % compiler.preparer.quote(element.table.name)


@compiler.compiles(json_row)
def _row_sqlite(element, compiler, **kw):
    return 'json_object(%s)' % _pairs(element, compiler, **kw)


_BDM = models.BlockDeviceMapping.__table__
_BDM_COLUMNS = ('id', 'uuid', 'instance_uuid', 'volume_id', 'attachment_id',
                'boot_index', 'device_name', 'tag', 'delete_on_termination',
                'connection_info', 'created_at')
_CACHE_COLUMNS = ('instance_uuid', 'network_info', 'created_at',
                  'updated_at', 'deleted_at', 'deleted')
# Columns of a service row the cast carries (a datetime comes back from
# JSON as text).
SERVICE_DATETIMES = ('last_seen_up', 'created_at', 'updated_at',
                     'deleted_at')


def build(tables):
    """The lookup statement over ``tables`` (reflected Nova tables by
    name); its parameters are ``uuid``, ``volume_id`` and, in the second
    statement returned, ``project_id`` too."""
    instances = tables['instances']
    columns = [json_row(instances, [c.name for c in instances.c]).label(
        'instance')]
    attachment = _BDM.alias('attachment')
    source = instances.outerjoin(attachment, sa.and_(
        attachment.c.instance_uuid == instances.c.uuid,
        attachment.c.volume_id == sa.bindparam('volume_id'),
        attachment.c.deleted == 0))
    columns.append(json_row(attachment, _BDM_COLUMNS).label('attachment'))
    cache = tables.get('instance_info_caches')
    if cache is not None:
        source = source.outerjoin(
            cache, cache.c.instance_uuid == instances.c.uuid)
        columns.append(json_row(cache, _CACHE_COLUMNS).label('info_cache'))
    extra = tables.get('instance_extra')
    if extra is not None and 'device_metadata' in extra.c:
        source = source.outerjoin(extra, sa.and_(
            extra.c.instance_uuid == instances.c.uuid, extra.c.deleted == 0))
        columns.append(extra.c.device_metadata.label('x_device_metadata'))
    for name, label in (('instance_metadata', 'metadata'),
                        ('instance_system_metadata', 'system_metadata')):
        table = tables.get(name)
        if table is not None:
            columns.append(sa.select(json_object_agg(
                table.c.key, table.c.value)).where(
                table.c.instance_uuid == instances.c.uuid,
                table.c.deleted == 0).scalar_subquery().label(label))
    services = tables.get('services')
    if services is not None:
        pairs = []
        for column in services.c:
            pairs += [sa.literal_column("'%s'" % column.name), column]
        columns.append(sa.select(json_array_agg(*pairs)).where(
            services.c.host == instances.c.host,
            services.c.deleted == 0).scalar_subquery().label('services'))
    query = sa.select(*columns).select_from(source).where(
        instances.c.uuid == sa.bindparam('uuid'),
        instances.c.deleted == 0).order_by(
        attachment.c.id.desc()).limit(1)
    datetimes = {name: tuple(c.name for c in table.c
                             if isinstance(c.type, sa.DateTime))
                 for name, table in (('instance', instances),
                                     ('attachment', _BDM),
                                     ('info_cache', cache))
                 if table is not None}
    return (query, query.where(
        instances.c.project_id == sa.bindparam('project_id')), datetimes)


def _json(value):
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


def _datetime(value):
    """A datetime from a JSON text of MariaDB, PostgreSQL or SQLite."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    text = value.replace('T', ' ').rstrip('Z')
    for form in ('%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S'):
        try:
            return datetime.datetime.strptime(text, form)
        except ValueError:
            continue
    raise ValueError('not a datetime: %r' % value)


def _row(values, key, datetimes):
    row = _json(values.get(key))
    if row:
        for name in datetimes.get(key, ()):
            if name in row:
                row[name] = _datetime(row[name])
    return row or {}


def unpack(row, datetimes):
    """``(instance, attachment, full)`` from a row of the statement:
    dicts of the instance's and the attachment's columns (the attachment
    None when the volume is not attached), and the
    :meth:`detach_ext.db.api.Database.instance_get_full` form.

    :param datetimes: the third item :func:`build` returns.
    """
    values = row._mapping
    instance = _row(values, 'instance', datetimes)
    attachment = _row(values, 'attachment', datetimes)
    cache = _row(values, 'info_cache', datetimes)
    services = _json(values.get('services')) or []
    if services:
        services.sort(key=lambda s: s['id'])
        for service in services:
            for name in SERVICE_DATETIMES:
                service[name] = _datetime(service.get(name))
    device_metadata = values.get('x_device_metadata')
    full = {
        'instance': instance,
        'metadata': (_json(values['metadata']) or {}
                     if 'metadata' in values else None),
        'system_metadata': (_json(values['system_metadata']) or {}
                            if 'system_metadata' in values else None),
        'info_cache': cache if cache.get('instance_uuid') else None,
        'device_metadata': (json.loads(device_metadata)
                            if device_metadata else None),
        'services': services if 'services' in values else None,
    }
    if not full['instance']['host']:
        full['services'] = None
    return instance, (attachment if attachment.get('id') is not None
                      else None), full
