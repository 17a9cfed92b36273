"""The work of one detach with no framework: the benchmark's yardstick.

A plain WSGI function doing what a detach must do, with PyMySQL and kombu
directly (one connection of each per process, opened on first use):

1. one SELECT: the server (every column of ``instances``, its project
   checked), the attachment (``block_device_mapping``), the volume status,
   its system metadata and metadata (aggregated as JSON by the server),
   info cache and device metadata: all a Nova-shaped cast needs;
2. the checks of the API (root device, lock, vm_state, task_state, status);
3. one conditional UPDATE of ``detach_ext_volumes`` (in-use -> detaching)
   and one INSERT of the ``instance_actions`` row, in one transaction (one
   COMMIT): parity with what detach_ext must record;
4. one publish of a ``detach_volume`` cast shaped as oslo.messaging sends
   Nova's (envelope, ``_context_*`` keys, Instance 2.8 primitive) to the
   compute topic exchange, with publisher confirms, as oslo.messaging's
   rabbit driver publishes.

Answers 202 (404/409/400 for the failed checks).  Configured by the
environment: BENCH_DB_URL (mysql+pymysql://... or postgresql://...),
BENCH_BUS_URL (amqp URL with vhost), BENCH_EXCHANGE, BENCH_ROUTING_KEY.
"""

import datetime
import json
import os
import urllib.parse
import uuid

import kombu

_state = {}

_SELECT = """
SELECT i.*, b.boot_index, b.attachment_id, v.status AS volume_status,
  c.network_info, c.created_at AS ic_created_at,
  c.updated_at AS ic_updated_at, e.device_metadata,
  (SELECT {agg} FROM instance_system_metadata s
   WHERE s.instance_uuid = i.uuid AND s.deleted = 0) AS sysmeta,
  (SELECT {agg} FROM instance_metadata s
   WHERE s.instance_uuid = i.uuid AND s.deleted = 0) AS meta
FROM instances i
JOIN block_device_mapping b ON b.instance_uuid = i.uuid
  AND b.volume_id = %s AND b.deleted = 0
JOIN detach_ext_volumes v ON v.id = b.volume_id
LEFT JOIN instance_info_caches c ON c.instance_uuid = i.uuid
LEFT JOIN instance_extra e ON e.instance_uuid = i.uuid AND e.deleted = 0
WHERE i.uuid = %s AND i.deleted = 0 AND i.project_id = %s
"""
_UPDATE = ("UPDATE detach_ext_volumes SET status = 'detaching', "
           "updated_at = %s WHERE id = %s AND status = 'in-use'")
_INSERT = ("INSERT INTO instance_actions (action, instance_uuid, request_id,"
           " user_id, project_id, start_time, created_at, deleted) "
           "VALUES ('detach_volume', %s, %s, %s, %s, %s, %s, 0)")
_BOOLEANS = ('locked', 'auto_disk_config', 'shutdown_terminate',
             'disable_terminate', 'hidden')
_VM_STATES = ('active', 'paused', 'stopped', 'resized', 'soft-delete')


def _connect():
    url = urllib.parse.urlsplit(os.environ['BENCH_DB_URL'])
    database = url.path.lstrip('/')
    if url.scheme.startswith('postgresql'):
        import psycopg2
        db = psycopg2.connect(host=url.hostname, port=url.port or 5432,
                              user=url.username, password=url.password or '',
                              dbname=database)
        agg = "json_object_agg(s.key, s.value)"
    else:
        import pymysql
        db = pymysql.connect(host=url.hostname, port=url.port or 3306,
                             user=url.username, password=url.password or '',
                             database=database, charset='utf8mb4',
                             autocommit=False)
        agg = "JSON_OBJECTAGG(s.`key`, s.value)"
    bus = kombu.Connection(os.environ['BENCH_BUS_URL'],
                           transport_options={'confirm_publish': True})
    exchange = kombu.Exchange(os.environ['BENCH_EXCHANGE'], type='topic',
                              durable=False, passive=True)
    _state.update(db=db, select=_SELECT.format(agg=agg), bus=bus,
                  producer=bus.Producer(exchange=exchange), exchange=exchange)


def _wire(value):
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%dT%H:%M:%SZ')
    return value


def _json(value):
    if value is None or isinstance(value, dict):
        return value
    return json.loads(value)


def _primitive(name, version, data):
    return {'nova_object.name': name, 'nova_object.namespace': 'nova',
            'nova_object.version': version, 'nova_object.data': data}


def _message(row, user, project, request_id, volume_id):
    skip = ('boot_index', 'attachment_id', 'volume_status', 'network_info',
            'ic_created_at', 'ic_updated_at', 'device_metadata', 'sysmeta',
            'meta', 'internal_id')
    data = {}
    for key, value in row.items():
        if key in skip:
            continue
        if key in _BOOLEANS:
            value = bool(value)
        data[key] = _wire(value)
    data['deleted'] = False
    data['cleaned'] = row['cleaned'] == 1
    data['metadata'] = _json(row['meta']) or {}
    data['system_metadata'] = _json(row['sysmeta']) or {}
    data['info_cache'] = _primitive('InstanceInfoCache', '1.5', {
        'instance_uuid': row['uuid'], 'network_info': row['network_info'],
        'created_at': _wire(row['ic_created_at']),
        'updated_at': _wire(row['ic_updated_at']),
        'deleted_at': None, 'deleted': False})
    data['security_groups'] = _primitive('SecurityGroupList', '1.1',
                                         {'objects': []})
    data['device_metadata'] = _json(row['device_metadata'])
    context = {
        'user': user, 'user_id': user, 'tenant': project,
        'project_id': project, 'project': project, 'system_scope': None,
        'domain': None, 'user_domain': None, 'project_domain': None,
        'is_admin': False, 'read_only': False, 'show_deleted': False,
        'auth_token': '%s:%s' % (user, project), 'request_id': request_id,
        'global_request_id': None, 'resource_uuid': None, 'roles': [],
        'user_identity': '%s %s - - -' % (user, project),
        'is_admin_project': True, 'read_deleted': 'no',
        'remote_address': '127.0.0.1',
        'timestamp': datetime.datetime.utcnow().isoformat(),
        'quota_class': None, 'user_name': user, 'project_name': None,
        'service_catalog': [], 'instance_lock_checked': False}
    message = {'method': 'detach_volume', 'version': '6.0',
               'args': {'instance': _primitive('Instance', '2.8', data),
                        'volume_id': volume_id,
                        'attachment_id': row['attachment_id']},
               '_unique_id': uuid.uuid4().hex}
    for key, value in context.items():
        message['_context_' + key] = value
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(message)})


def _answer(start_response, status, request_id, body=b''):
    start_response(status, [('Content-Length', str(len(body))),
                            ('Content-Type', 'application/json'),
                            ('x-openstack-request-id', request_id),
                            ('x-compute-request-id', request_id)])
    return [body]


def application(environ, start_response):
    request_id = 'req-' + str(uuid.uuid4())
    parts = environ['PATH_INFO'].split('/')
    # /v2/{project}/servers/{server}/os-volume_attachments/{volume}
    if (environ['REQUEST_METHOD'] != 'DELETE' or len(parts) != 7 or
            parts[3] != 'servers' or parts[5] != 'os-volume_attachments'):
        return _answer(start_response, '404 Not Found', request_id)
    project, server, volume = parts[2], parts[4], parts[6]
    user, _, token_project = environ.get('HTTP_X_AUTH_TOKEN', '').partition(
        ':')
    if token_project != project:
        return _answer(start_response, '400 Bad Request', request_id)
    if not _state:
        _connect()
    db = _state['db']
    with db.cursor() as cursor:
        cursor.execute(_state['select'], (volume, server, project))
        names = [d[0] for d in cursor.description]
        found = cursor.fetchone()
        if found is None:
            db.rollback()
            return _answer(start_response, '404 Not Found', request_id)
        row = dict(zip(names, found))
        if row['boot_index'] == 0:
            db.rollback()
            return _answer(start_response, '403 Forbidden', request_id)
        if (row['locked'] or row['vm_state'] not in _VM_STATES or
                row['task_state'] is not None):
            db.rollback()
            return _answer(start_response, '409 Conflict', request_id)
        now = datetime.datetime.utcnow()
        cursor.execute(_UPDATE, (now, volume))
        if cursor.rowcount != 1:
            db.rollback()
            return _answer(start_response, '400 Bad Request', request_id)
        cursor.execute(_INSERT, (server, request_id, user, project, now,
                                 now))
    db.commit()
    body = _message(row, user, project, request_id, volume)
    _state['producer'].publish(
        body, routing_key=os.environ['BENCH_ROUTING_KEY'],
        content_type='application/json', content_encoding='utf-8',
        retry=False)
    return _answer(start_response, '202 Accepted', request_id)
