"""The detach's one read: a server, its attachment of the volume, and all
that Nova's cast carries of it, in a single statement.

Nova's API reads the instance, then its attachment, then (to build the
cast) the instance again with its metadata, system metadata, info cache,
device metadata and its host's services: seven or more round trips.  Here
one SELECT reads the instance with the info cache and ``instance_extra``
joined, the attachment as a correlated subquery (the newest live mapping
of the volume, found through the ``(instance_uuid, volume_id)`` index
already in id order), the key/value tables folded into JSON with the
database's own aggregate (MariaDB/MySQL ``JSON_OBJECTAGG``, PostgreSQL
``json_object_agg``, SQLite ``json_group_object``), and the host's
services joined: one result row per service (one on a compute host).
Each row is one column, a JSON document of those parts.
Tables a database does not have (detach_ext's standalone schema lacks
``instance_extra``) are left out of the statement, which is built once
per database and reused.

What each shape costs MariaDB's CPU, per lookup on a Nova-shaped database
(tools/bench_detach.py's seed; one nova-compute service per host): the
attachment joined and sorted (``ORDER BY ... LIMIT 1``) added a temporary
table and a sort, about 0.4 ms; the services folded with
``JSON_ARRAYAGG`` in a subquery about 0.5 ms more, even for an empty
table; joined, they cost about 0.1 ms.  One column rather than seven (one
per part) took the client's CPU per lookup from 0.27-0.30 to 0.19-0.24 ms
with PyMySQL (0.28 to 0.23 with psycopg2), for 0.04 ms more of MariaDB's
(PostgreSQL's: 0.01 ms less).
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


@compiler.compiles(json_object_agg, 'mysql')
def _object_agg_mysql(element, compiler, **kw):
    return 'JSON_OBJECTAGG(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(json_object_agg, 'postgresql')
def _object_agg_pg(element, compiler, **kw):
    return 'json_object_agg(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(json_object_agg)
def _object_agg_sqlite(element, compiler, **kw):
    return 'json_group_object(%s)' % compiler.process(element.clauses, **kw)


class json_row(sa.sql.expression.ColumnElement):
    """A row of ``table`` (a table or an alias) as one JSON object of its
    columns ``names`` (on MariaDB/MySQL, an array of their values in that
    order)."""

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
    # The values only, in the order of ``names`` (:func:`unpack` puts the
    # names back): MariaDB writes the instance's 55 values about 0.07 ms
    # faster a lookup than the same as an object, and the client parses
    # less.
    return 'JSON_ARRAY(%s)' % ', '.join(compiler.process(
        element.table.c[name], **kw) for name in element.names)


@compiler.compiles(json_row, 'postgresql')
def _row_pg(element, compiler, **kw):
    # json_build_object takes at most 100 arguments; Nova's instances has
    # more columns than 50.  The row itself has every column.
    return 'to_json(%s)' % compiler.preparer.quote(element.table.name)


@compiler.compiles(json_row)
def _row_sqlite(element, compiler, **kw):
    return 'json_object(%s)' % _pairs(element, compiler, **kw)


class json_document(sa.sql.expression.ColumnElement):
    """``{label: value}`` of named SQL expressions, as one JSON object.

    The lookup's one column: a MySQL-protocol driver parses a descriptor
    packet per column of a result (in Python, for PyMySQL), and SQLAlchemy
    builds a result column for each; one column costs the client less
    than one per part.  A value that is JSON (a row object, an aggregate,
    a subquery of either) is nested as JSON; any other (text) goes as a
    JSON string.

    :param parts: ``(label, expression, is_json)`` triples.
    """

    _traverse_internals = [
        ('expressions', visitors.InternalTraversal.dp_clauseelement_list),
        ('labels', visitors.InternalTraversal.dp_string_list),
        ('nested', visitors.InternalTraversal.dp_plain_obj)]
    inherit_cache = True

    def __init__(self, parts):
        self.labels = [label for label, _expr, _is_json in parts]
        self.expressions = [expr.self_group() if is_json else expr
                            for _label, expr, is_json in parts]
        self.nested = tuple(is_json for _label, _expr, is_json in parts)
        self.type = sa.types.NullType()


def _document(element, compiler, function, nest, **kw):
    return '%s(%s)' % (function, ', '.join(
        "'%s', %s" % (label, nest(compiler.process(expr, **kw))
                      if nested else compiler.process(expr, **kw))
        for label, expr, nested in zip(element.labels, element.expressions,
                                       element.nested)))


@compiler.compiles(json_document, 'mysql')
def _document_mysql(element, compiler, **kw):
    # Put together as text: JSON_OBJECT would take a subquery's JSON for
    # text and quote it, and JSON_EXTRACT(..., '$') to make it JSON again
    # parses it once more (about 0.1 ms of server CPU a lookup).
    pieces = []
    for n, (label, expr, nested) in enumerate(zip(
            element.labels, element.expressions, element.nested)):
        sql = compiler.process(expr, **kw)
        pieces.append("'%s\"%s\":'" % ('{' if n == 0 else ',', label))
        if isinstance(expr, json_row):
            pieces.append(sql)  # never NULL
        else:
            pieces.append("IFNULL(%s, 'null')" % (
                sql if nested else 'JSON_QUOTE(%s)' % sql))
    return "CONCAT(%s, '}')" % ', '.join(pieces)


@compiler.compiles(json_document, 'postgresql')
def _document_pg(element, compiler, **kw):
    return _document(element, compiler, 'json_build_object',
                     lambda sql: sql, **kw)


@compiler.compiles(json_document)
def _document_sqlite(element, compiler, **kw):
    return _document(element, compiler, 'json_object',
                     lambda sql: 'json(%s)' % sql, **kw)


_BDM = models.BlockDeviceMapping.__table__
_BDM_COLUMNS = ('id', 'uuid', 'instance_uuid', 'volume_id', 'attachment_id',
                'boot_index', 'device_name', 'tag', 'delete_on_termination',
                'connection_info', 'created_at')
_CACHE_COLUMNS = ('instance_uuid', 'network_info', 'created_at',
                  'updated_at', 'deleted_at', 'deleted')


def _datetime_columns(table):
    return tuple(c.name for c in table.c if isinstance(c.type, sa.DateTime))


def build(tables):
    """The lookup statement over ``tables`` (reflected Nova tables by
    name); its parameters are ``uuid``, ``volume_id`` and, in the second
    statement returned, ``project_id`` too.  Its one column, ``doc``, is
    a JSON object of the parts :func:`unpack` reads."""
    instances = tables['instances']
    # label -> the json_row of each part that is a row, wherever it sits
    # (the attachment's is inside its subquery).
    rows = {'instance': json_row(instances, [c.name for c in instances.c])}
    parts = [('instance', rows['instance'], True)]
    source = instances
    attachment = _BDM.alias('attachment')
    rows['attachment'] = json_row(attachment, _BDM_COLUMNS)
    parts.append(('attachment', sa.select(rows['attachment']).where(
        attachment.c.instance_uuid == instances.c.uuid,
        attachment.c.volume_id == sa.bindparam('volume_id'),
        attachment.c.deleted == 0).order_by(
        attachment.c.id.desc()).limit(1).scalar_subquery(), True))
    cache = tables.get('instance_info_caches')
    if cache is not None:
        source = source.outerjoin(
            cache, cache.c.instance_uuid == instances.c.uuid)
        rows['info_cache'] = json_row(cache, _CACHE_COLUMNS)
        parts.append(('info_cache', rows['info_cache'], True))
    extra = tables.get('instance_extra')
    if extra is not None and 'device_metadata' in extra.c:
        source = source.outerjoin(extra, sa.and_(
            extra.c.instance_uuid == instances.c.uuid, extra.c.deleted == 0))
        # The column's own JSON text, as a string.
        parts.append(('device_metadata', extra.c.device_metadata, False))
    for name, label in (('instance_metadata', 'metadata'),
                        ('instance_system_metadata', 'system_metadata')):
        table = tables.get(name)
        if table is not None:
            parts.append((label, sa.select(json_object_agg(
                table.c.key, table.c.value)).where(
                table.c.instance_uuid == instances.c.uuid,
                table.c.deleted == 0).scalar_subquery(), True))
    services = tables.get('services')
    if services is not None:
        source = source.outerjoin(services, sa.and_(
            services.c.host == instances.c.host, services.c.deleted == 0))
        rows['service'] = json_row(services, [c.name for c in services.c])
        parts.append(('service', rows['service'], True))
    query = sa.select(json_document(parts).label('doc')).select_from(
        source).where(instances.c.uuid == sa.bindparam('uuid'),
                      instances.c.deleted == 0)
    # Each row part's column names (in order) and its datetime columns
    # (of the whole table: PostgreSQL's to_json has every column).
    shapes = {label: (tuple(row.names), _datetime_columns(row.table))
              for label, row in rows.items()}
    return (query, query.where(
        instances.c.project_id == sa.bindparam('project_id')), shapes)


def _json(value):
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


def _datetime(value):
    """A datetime from a JSON text of MariaDB, PostgreSQL or SQLite."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    text = value.rstrip('Z')
    try:
        # In C, and the form all three databases write.
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    text = text.replace('T', ' ')
    for form in ('%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S'):
        try:
            return datetime.datetime.strptime(text, form)
        except ValueError:
            continue
    raise ValueError('not a datetime: %r' % value)


def _row(values, key, shapes):
    """The columns of part ``key`` by name, its datetimes as datetimes."""
    row = values.get(key)
    names, datetimes = shapes.get(key, ((), ()))
    if isinstance(row, list):
        row = dict(zip(names, row))
    if row:
        for name in datetimes:
            if name in row:
                row[name] = _datetime(row[name])
    return row or {}


def unpack(rows, shapes):
    """``(instance, attachment, full)`` from the rows of the statement
    (one per service of the server's host, at least one): dicts of the
    instance's and the attachment's columns (the attachment None when the
    volume is not attached), and the
    :meth:`detach_ext.db.api.Database.instance_get_full` form.

    :param shapes: the third item :func:`build` returns: each row part's
        column names and which of them are datetimes.
    """
    docs = [_json(row[0]) for row in rows]
    values = docs[0]
    instance = _row(values, 'instance', shapes)
    attachment = _row(values, 'attachment', shapes)
    cache = _row(values, 'info_cache', shapes)
    services = {}
    if 'service' in values:
        for doc in docs:
            service = _row(doc, 'service', shapes)
            # A host without services: the outer join's NULLs.
            if service.get('id') is not None:
                services[service['id']] = service
    device_metadata = values.get('device_metadata')
    full = {
        'instance': instance,
        'metadata': (values['metadata'] or {}
                     if 'metadata' in values else None),
        'system_metadata': (values['system_metadata'] or {}
                            if 'system_metadata' in values else None),
        'info_cache': cache if cache.get('instance_uuid') else None,
        'device_metadata': (json.loads(device_metadata)
                            if device_metadata else None),
        'services': ([services[key] for key in sorted(services)]
                     if 'service' in values else None),
    }
    if not full['instance']['host']:
        full['services'] = None
    return instance, (attachment if attachment.get('id') is not None
                      else None), full
