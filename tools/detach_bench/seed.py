"""Seed a Nova-shaped cell database in bulk.

Every server gets what Nova's own code leaves behind for a booted server
with one data volume: its ``instances`` row (Nova 34's columns filled as
nova-compute fills them), 12 ``instance_system_metadata`` rows, an
``instance_info_caches`` row with one port's network_info, an
``instance_extra`` row (flavor, pci_requests, vcpu_model, keypairs), a
root block device mapping (image -> local, boot_index 0), a data volume
mapping, and the volume's ``detach_ext_volumes`` row (``in-use``).  Each
host has its ``nova-compute`` row in ``services``, seen up now;
:func:`rearm` reports them up again, as the services' heartbeat does.

Rows are made by the database server itself, ``INSERT ... SELECT`` over a
number sequence (MariaDB's ``seq_1_to_N``, PostgreSQL's
``generate_series``), in chunks, so a million servers seed in minutes.
Ids are md5(salt, kind, n) shaped as UUIDs: scattered over the B-trees
as Nova's uuid4s are, and computable here without reading them back.
Servers 1..targets belong to the benchmark's project and host; the rest
(filler) to 500 other projects on 50 other hosts.
"""

import datetime
import hashlib
import json
import time

from detach_bench import nova_schema

from detach_ext.compute import versions

PROJECT = 'b7a7b63e92174a95a999c95da856f143'
USER = 'b8b2f0c2a3e44a6d9c5e0f1d2a3b4c5d'
HOST = 'bench'
CHUNK = 100000

SYSTEM_METADATA = {
    'image_base_image_ref': '4b1e6f2a-0c7e-4a55-9f0e-2d7c5b3a9e11',
    'image_container_format': 'bare',
    'image_disk_format': 'qcow2',
    'image_min_disk': '10',
    'image_min_ram': '0',
    'image_hw_disk_bus': 'virtio',
    'image_hw_scsi_model': 'virtio-scsi',
    'image_hw_qemu_guest_agent': 'yes',
    'image_os_distro': 'ubuntu',
    'image_os_version': '24.04',
    'owner_project_name': 'bench',
    'owner_user_name': 'bench-user',
}

NETWORK_INFO = json.dumps([{
    'id': '0d3a8f2e-6b1c-4c8e-9a4f-7e2b1d5c3a90',
    'address': 'fa:16:3e:5c:2b:71',
    'network': {
        'id': 'a8c1e0f4-3d2b-4f6a-8e9c-1b7d5a3c2e40',
        'bridge': 'br-int', 'label': 'private', 'tenant_id': PROJECT,
        'subnets': [{
            'cidr': '10.0.0.0/24', 'version': 4,
            'gateway': {'address': '10.0.0.1', 'type': 'gateway',
                        'version': 4, 'meta': {}},
            'dns': [{'address': '10.0.0.2', 'type': 'dns', 'version': 4,
                     'meta': {}}],
            'ips': [{'address': '10.0.0.17', 'type': 'fixed', 'version': 4,
                     'meta': {},
                     'floating_ips': [{'address': '172.24.4.99',
                                       'type': 'floating', 'version': 4,
                                       'meta': {}}]}],
            'routes': [], 'meta': {'enable_dhcp': True}}],
        'meta': {'injected': False, 'tenant_id': PROJECT, 'mtu': 1442,
                 'physical_network': None, 'tunneled': True}},
    'type': 'ovs',
    'details': {'connectivity': 'l2', 'port_filter': True,
                'ovs_hybrid_plug': False, 'datapath_type': 'system',
                'bridge_name': 'br-int'},
    'devname': 'tap0d3a8f2e-6b', 'ovs_interfaceid':
        '0d3a8f2e-6b1c-4c8e-9a4f-7e2b1d5c3a90',
    'qbh_params': None, 'qbg_params': None, 'active': True,
    'vnic_type': 'normal', 'profile': {}, 'preserve_on_delete': False,
    'delegate_create': True, 'meta': {}}])

FLAVOR = json.dumps({'cur': {
    'nova_object.name': 'Flavor', 'nova_object.namespace': 'nova',
    'nova_object.version': '1.2', 'nova_object.data': {
        'id': 3, 'name': 'm1.medium', 'memory_mb': 4096, 'vcpus': 2,
        'root_gb': 40, 'ephemeral_gb': 0, 'flavorid': '3', 'swap': 0,
        'rxtx_factor': 1.0, 'vcpu_weight': 0, 'disabled': False,
        'is_public': True, 'extra_specs': {'hw_rng:allowed': 'True'},
        'description': None, 'created_at': '2026-01-05T10:00:00Z',
        'updated_at': None, 'deleted_at': None, 'deleted': False}},
    'old': None, 'new': None})
PCI_REQUESTS = json.dumps({
    'nova_object.name': 'InstancePCIRequests',
    'nova_object.namespace': 'nova', 'nova_object.version': '1.1',
    'nova_object.data': {'requests': []}})
VCPU_MODEL = json.dumps({
    'nova_object.name': 'VirtCPUModel', 'nova_object.namespace': 'nova',
    'nova_object.version': '1.0', 'nova_object.data': {
        'arch': 'x86_64', 'vendor': 'Intel', 'model': 'Cascadelake-Server',
        'mode': 'host-model', 'match': 'exact', 'features': [],
        'topology': {'nova_object.name': 'VirtCPUTopology',
                     'nova_object.namespace': 'nova',
                     'nova_object.version': '1.0',
                     'nova_object.data': {'sockets': 2, 'cores': 1,
                                          'threads': 1}}}})
KEYPAIRS = json.dumps({
    'nova_object.name': 'KeyPairList', 'nova_object.namespace': 'nova',
    'nova_object.version': '1.3', 'nova_object.data': {'objects': [{
        'nova_object.name': 'KeyPair', 'nova_object.namespace': 'nova',
        'nova_object.version': '1.4', 'nova_object.data': {
            'name': 'bench', 'user_id': USER, 'type': 'ssh',
            'fingerprint': '6f:2a:91:0c:5e:44:8b:13:77:d0:2e:aa:c1:39:5b:08',
            'public_key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2x7Qm9Lr'
                          'bench@bench'}}]}})
CONNECTION_INFO = json.dumps({
    'driver_volume_type': 'iscsi', 'serial': 'VOLUME', 'data': {
        'target_discovered': False, 'target_portal': '192.0.2.10:3260',
        'target_iqn': 'iqn.2010-10.org.openstack:volume-VOLUME',
        'target_lun': 1, 'volume_id': 'VOLUME', 'auth_method': 'CHAP',
        'auth_username': 'Xk3vQ9pLm2', 'auth_password': 'Zt8rW1nB5c',
        'encrypted': False, 'qos_specs': None, 'access_mode': 'rw',
        'cacheable': False}, 'status': 'attaching', 'instance': 'SERVER',
    'attached_at': '2026-01-05T10:01:00.000000', 'detached_at': '',
    'volume_id': 'VOLUME', 'attachment_id': 'ATTACHMENT'})


def make_uuid(salt, kind, n):
    """The id the database computes for row ``n`` of ``kind``."""
    h = hashlib.md5(('%s%s%d' % (salt, kind, n)).encode()).hexdigest()
    return '%s-%s-%s-%s-%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _uuid_sql(salt, kind, seq='seq'):
    h = "MD5(CONCAT('%s%s', %s))" % (salt, kind, seq)
    return ("CONCAT(SUBSTR({h},1,8),'-',SUBSTR({h},9,4),'-',"
            "SUBSTR({h},13,4),'-',SUBSTR({h},17,4),'-',SUBSTR({h},21,12))"
            .format(h=h))


def _numbers(dialect, first, last):
    if dialect == 'postgresql':
        return 'generate_series(%d, %d) AS n(seq)' % (first, last)
    return '(SELECT seq FROM seq_%d_to_%d) AS n' % (first, last)


def _lit(text):
    return "'%s'" % text.replace("'", "''")


def create_schema(engine):
    """Nova 34's tables of the detach path (detach_ext's come from its own
    migrations)."""
    nova_schema.METADATA.create_all(engine)


def seed(engine, servers, targets, salt, full=None, log=print):
    """Insert ``servers`` servers, the first ``targets`` of them the
    benchmark's; returns the seconds it took.

    :param full: how many servers get their metadata, info cache and
        extra rows (all by default); the others only their instances,
        block_device_mapping and volume rows (for a quick million).
    """
    full = servers if full is None else max(full, targets)
    dialect = engine.dialect.name
    start = time.monotonic()
    now = "TIMESTAMP '2026-01-05 10:00:00'"
    for first in range(1, servers + 1, CHUNK):
        last = min(servers, first + CHUNK - 1)
        nums = _numbers(dialect, first, last)
        server = _uuid_sql(salt, 's')
        target = 'seq <= %d' % targets
        project = ("CASE WHEN {t} THEN '{p}' ELSE SUBSTR(MD5(CONCAT("
                   "'p', MOD(seq, 500))), 1, 32) END").format(
                       t=target, p=PROJECT)
        host = ("CASE WHEN {t} THEN '{h}' ELSE CONCAT('compute-', "
                "MOD(seq, 50)) END").format(t=target, h=HOST)
        instance_cols = {
            'created_at': now, 'updated_at': now, 'deleted_at': 'NULL',
            'deleted': '0', 'user_id': _lit(USER), 'project_id': project,
            'image_ref': _lit(SYSTEM_METADATA['image_base_image_ref']),
            'kernel_id': "''", 'ramdisk_id': "''",
            'hostname': "CONCAT('server-', seq)", 'launch_index': '0',
            'key_name': "'bench'",
            'key_data': _lit('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2x7Qm9'
                             'Lr bench@bench'),
            'power_state': '1', 'vm_state': "'active'", 'task_state': 'NULL',
            'memory_mb': '4096', 'vcpus': '2', 'root_gb': '40',
            'ephemeral_gb': '0', 'ephemeral_key_uuid': 'NULL',
            'host': host, 'node': host, 'compute_id': 'MOD(seq, 50) + 1',
            'instance_type_id': '3', 'user_data': 'NULL',
            'reservation_id': "CONCAT('r-', SUBSTR(MD5(CONCAT('r', seq)),"
                              " 1, 8))",
            'launched_at': now, 'terminated_at': 'NULL',
            'availability_zone': "'nova'",
            'display_name': "CONCAT('server-', seq)",
            'display_description': "CONCAT('server-', seq)",
            'launched_on': host, 'locked': 'FALSE', 'locked_by': 'NULL',
            'os_type': 'NULL', 'architecture': "'x86_64'", 'vm_mode': 'NULL',
            'uuid': server, 'root_device_name': "'/dev/vda'",
            'default_ephemeral_device': 'NULL',
            'default_swap_device': 'NULL', 'config_drive': "''",
            'access_ip_v4': 'NULL', 'access_ip_v6': 'NULL',
            'auto_disk_config': 'FALSE', 'progress': '0',
            'shutdown_terminate': 'FALSE', 'disable_terminate': 'FALSE',
            'cell_name': 'NULL', 'cleaned': '0', 'hidden': 'FALSE',
        }
        statements = [_insert_select('instances', instance_cols, nums)]
        children = ''
        if first <= full:
            children = _numbers(dialect, first, min(last, full))
        key = engine.dialect.identifier_preparer.quote('key')
        if children:
            keys = ' UNION ALL '.join(
                'SELECT %s AS k, %s AS v' % (_lit(k), _lit(v))
                for k, v in SYSTEM_METADATA.items())
            statements.append(_insert_select('instance_system_metadata', {
                'created_at': now, 'deleted': '0', 'instance_uuid': server,
                key: 'm.k', 'value': 'm.v'},
                '%s CROSS JOIN (%s) AS m' % (children, keys)))
            statements.append(_insert_select('instance_info_caches', {
                'created_at': now, 'updated_at': now, 'deleted': '0',
                'instance_uuid': server, 'network_info': _lit(NETWORK_INFO)},
                children))
            statements.append(_insert_select('instance_extra', {
                'created_at': now, 'deleted': '0', 'instance_uuid': server,
                'flavor': _lit(FLAVOR), 'pci_requests': _lit(PCI_REQUESTS),
                'vcpu_model': _lit(VCPU_MODEL), 'keypairs': _lit(KEYPAIRS),
                'numa_topology': 'NULL', 'device_metadata': 'NULL'}, children))
        bdm = {'created_at': now, 'updated_at': now, 'deleted': '0',
               'instance_uuid': server, 'delete_on_termination': 'FALSE',
               'no_device': 'FALSE', 'encrypted': 'FALSE'}
        statements.append(_insert_select('block_device_mapping', dict(
            bdm, uuid=_uuid_sql(salt, 'r'), source_type="'image'",
            destination_type="'local'", device_type="'disk'",
            disk_bus="'virtio'", boot_index='0', device_name="'/dev/vda'",
            image_id=_lit(SYSTEM_METADATA['image_base_image_ref']),
            guest_format='NULL'), nums))
        volume = _uuid_sql(salt, 'v')
        attachment = _uuid_sql(salt, 'a')
        info = _lit(CONNECTION_INFO)
        for word, value in (('VOLUME', volume), ('SERVER', server),
                            ('ATTACHMENT', attachment)):
            info = 'REPLACE(%s, %s, %s)' % (info, _lit(word), value)
        statements.append(_insert_select('block_device_mapping', dict(
            bdm, uuid=_uuid_sql(salt, 'b'), source_type="'volume'",
            destination_type="'volume'", device_type="'disk'",
            disk_bus="'virtio'", boot_index='NULL', device_name="'/dev/vdb'",
            volume_id=volume, attachment_id=attachment, volume_size='10',
            volume_type="'lvmdriver-1'", connection_info=info), nums))
        statements.append(_insert_select('detach_ext_volumes', {
            'id': volume, 'project_id': project, 'status': "'in-use'",
            'created_at': now}, nums))
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        log('  seeded %d/%d servers (%.0f s)' % (
            last, servers, time.monotonic() - start))
    _services(engine)
    analyze(engine)
    return time.monotonic() - start


def _now():
    return "TIMESTAMP '%s'" % datetime.datetime.now(
        datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')


def _services(engine):
    """A nova-compute service row for each host of the servers."""
    hosts = [HOST] + ['compute-%d' % n for n in range(50)]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO services (uuid, host, %s, topic, report_count, '
            'disabled, last_seen_up, forced_down, version, created_at, '
            'updated_at, deleted) VALUES %s' % (
                engine.dialect.identifier_preparer.quote('binary'),
                ', '.join(
                    "('%s', '%s', 'nova-compute', 'compute', 1, FALSE, "
                    "%s, FALSE, %d, %s, %s, 0)" % (
                        make_uuid('services', 'h', n), host, _now(),
                        versions.SERVICE_VERSION, _now(), _now())
                    for n, host in enumerate(hosts))))


def _insert_select(table, columns, source):
    names = ', '.join(columns)
    return 'INSERT INTO %s (%s) SELECT %s FROM %s' % (
        table, names, ', '.join(columns.values()), source)


def analyze(engine):
    """Fresh statistics, as a long-lived database has."""
    tables = list(nova_schema.METADATA.tables) + ['detach_ext_volumes']
    with engine.connect().execution_options(
            isolation_level='AUTOCOMMIT') as conn:
        for table in tables:
            conn.exec_driver_sql('ANALYZE %s%s' % (
                '' if engine.dialect.name == 'postgresql' else 'TABLE ',
                table))


def targets(salt, count):
    """(server uuid, volume id) of the benchmark's servers."""
    return [(make_uuid(salt, 's', n), make_uuid(salt, 'v', n))
            for n in range(1, count + 1)]


def rearm(engine):
    """Put every detached volume back in use, so that each measurement
    detaches volumes that are all in use; the services report up (a
    measurement is shorter than ``service_down_time``)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'UPDATE services SET last_seen_up = %s, updated_at = %s, '
            'report_count = report_count + 1' % (_now(), _now()))
        conn.exec_driver_sql(
            "UPDATE detach_ext_volumes SET status = 'in-use' "
            "WHERE status <> 'in-use'")
