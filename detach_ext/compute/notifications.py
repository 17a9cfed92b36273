"""Notifications of the compute worker, in Nova's shapes.

Versioned: ``instance.volume_detach.start`` / ``.end`` (INFO) and
``.error`` (ERROR), payload ``InstanceActionVolumePayload``, publisher
``nova-compute:<host>``, topic ``versioned_notifications``.  Legacy:
``compute.instance.volume.detach`` (INFO), publisher ``compute.<host>``,
topic ``[oslo_messaging_notifications] topics``.  The driver is
``[oslo_messaging_notifications] driver``: none configured means noop.
"""

import oslo_messaging
from oslo_utils import timeutils

from detach_ext import rpc

PAYLOAD_VERSION = '1.6'

_POWER_STATES = {0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown',
                 6: 'crashed', 7: 'suspended'}

# Fields of Nova's InstancePayload taken from the instance primitive.
_SAME = ('uuid', 'user_id', 'reservation_id', 'display_name',
         'display_description', 'host', 'node', 'os_type', 'architecture',
         'availability_zone', 'key_name', 'kernel_id', 'ramdisk_id',
         'created_at', 'launched_at', 'terminated_at', 'deleted_at',
         'updated_at', 'task_state', 'progress', 'locked', 'locked_reason',
         'auto_disk_config', 'metadata')


def _versioned_payload(context, instance, volume_id, fault=None):
    data = {name: instance.get(name) for name in _SAME}
    data.update({
        'tenant_id': instance.get('project_id'),
        'host_name': instance.get('hostname'),
        'image_uuid': instance.get('image_ref'),
        'state': instance.get('vm_state'),
        'power_state': _POWER_STATES.get(instance.get('power_state')),
        'action_initiator_user': context.user_id,
        'action_initiator_project': context.project_id,
        'request_id': context.request_id,
        'volume_id': volume_id,
        'fault': fault,
    })
    return {'nova_object.name': 'InstanceActionVolumePayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': PAYLOAD_VERSION,
            'nova_object.data': data}


def _fault(exc):
    return {'nova_object.name': 'ExceptionPayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.1',
            'nova_object.data': {
                'exception': type(exc).__name__,
                'exception_message': str(exc),
                'function_name': 'detach_volume',
                'module_name': 'detach_ext.compute.manager',
                'traceback': None}}


class Notifier:
    """Emit the detach notifications of one compute host.

    :param transport: a notification transport
        (``oslo_messaging.get_notification_transport``), whose ConfigOpts
        names the driver and the legacy topics.
    :param host: the compute host, in the publisher ids.
    :param service: the binary named in the versioned publisher id
        (``nova-api`` for the detaches the API finishes itself).
    """

    def __init__(self, transport, host, service='nova-compute'):
        serializer = rpc.RequestContextSerializer()
        self._versioned = oslo_messaging.Notifier(
            transport, publisher_id='%s:%s' % (service, host),
            topics=['versioned_notifications'], serializer=serializer)
        self._legacy = oslo_messaging.Notifier(
            transport, publisher_id='compute.%s' % host,
            serializer=serializer)

    def detach(self, context, instance, volume_id, phase, exc=None):
        """``phase``: ``start``, ``end`` or ``error`` (with ``exc``)."""
        event = 'instance.volume_detach.%s' % phase
        payload = _versioned_payload(context, instance, volume_id,
                                     _fault(exc) if exc else None)
        if phase == 'error':
            self._versioned.error(context, event, payload)
            return
        self._versioned.info(context, event, payload)
        if phase == 'end':
            self._legacy.info(context, 'compute.instance.volume.detach', {
                'instance_id': instance.get('uuid'),
                'tenant_id': instance.get('project_id'),
                'user_id': instance.get('user_id'),
                'display_name': instance.get('display_name'),
                'host': instance.get('host'),
                'state': instance.get('vm_state'),
                'volume_id': volume_id,
                'audit_period_ending': timeutils.utcnow().isoformat(),
            })
