"""The Instance primitive in nova-api's form, whatever the database
returned for its columns."""

import datetime

import testtools

from detach_ext.compute import objects


def _row(**values):
    row = dict(
        id=12, uuid='8c3b0d49-8e4b-4a7c-9d2a-000000000001', user_id='usr',
        project_id='p1', host='compute-1', vm_state='active',
        task_state=None, power_state=1, ephemeral_key_uuid=None,
        locked=1, locked_by='admin', auto_disk_config=0,
        shutdown_terminate=0, disable_terminate=1, hidden=0, cleaned=1,
        access_ip_v4='192.0.2.7', access_ip_v6=None, vm_mode='hvm',
        compute_id=4,
        launched_at=datetime.datetime(2026, 11, 27, 6, 49, 29, 123456),
        created_at=datetime.datetime(2026, 11, 27, 6, 48, 0),
        updated_at=None, deleted_at=None, deleted=0, internal_id=None,
        cell_name=None)
    row.update(values)
    return row


class TestInstancePrimitive(testtools.TestCase):

    def test_integer_booleans_go_as_booleans(self):
        # MariaDB's BOOLEAN is TINYINT(1): reflection reads 0/1.
        data = objects.instance_data(objects.instance_primitive(
            {'instance': _row()}))
        for name, value in (('locked', True), ('auto_disk_config', False),
                            ('shutdown_terminate', False),
                            ('disable_terminate', True), ('hidden', False),
                            ('cleaned', True), ('deleted', False)):
            self.assertIs(value, data[name], name)
        # A UUID field, not a boolean.
        self.assertIsNone(data['ephemeral_key_uuid'])

    def test_null_booleans_are_false_and_deleted_is_the_row_id(self):
        data = objects.instance_data(objects.instance_primitive(
            {'instance': _row(locked=None, hidden=None, cleaned=0,
                              deleted=12)}))
        self.assertIs(False, data['locked'])
        self.assertIs(False, data['hidden'])
        self.assertIs(False, data['cleaned'])
        self.assertIs(True, data['deleted'])

    def test_wire_forms(self):
        primitive = objects.instance_primitive({
            'instance': _row(), 'metadata': {'k': 'v'},
            'system_metadata': {'image_min_ram': '0'},
            'info_cache': {'id': 3, 'instance_uuid': _row()['uuid'],
                           'network_info': None, 'deleted': 0,
                           'created_at': datetime.datetime(2026, 1, 2),
                           'updated_at': None, 'deleted_at': None},
            'device_metadata': None})
        self.assertEqual(('Instance', 'nova', '2.8'),
                         (primitive['nova_object.name'],
                          primitive['nova_object.namespace'],
                          primitive['nova_object.version']))
        # Fresh from the database: no changes, so no such key.
        self.assertNotIn('nova_object.changes', primitive)
        data = primitive['nova_object.data']
        self.assertEqual('2026-11-27T06:49:29Z', data['launched_at'])
        self.assertEqual('192.0.2.7', data['access_ip_v4'])
        self.assertEqual('admin', data['locked_by'])
        self.assertEqual('hvm', data['vm_mode'])
        self.assertEqual(4, data['compute_id'])
        self.assertEqual(12, data['id'])
        self.assertNotIn('internal_id', data)  # not an Instance field
        self.assertEqual({'k': 'v'}, data['metadata'])
        self.assertEqual({'image_min_ram': '0'}, data['system_metadata'])
        self.assertEqual({
            'nova_object.name': 'InstanceInfoCache',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.5',
            'nova_object.data': {
                'instance_uuid': _row()['uuid'], 'network_info': None,
                'created_at': '2026-01-02T00:00:00Z', 'updated_at': None,
                'deleted_at': None, 'deleted': False}}, data['info_cache'])
        self.assertEqual({
            'nova_object.name': 'SecurityGroupList',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.1',
            'nova_object.data': {'objects': []}}, data['security_groups'])
        self.assertIsNone(data['device_metadata'])

    def test_no_info_cache_row_is_none(self):
        data = objects.instance_data(objects.instance_primitive(
            {'instance': _row(), 'info_cache': None}))
        self.assertIsNone(data['info_cache'])
