"""Client side of the compute RPC API (the part detach_ext casts)."""

import oslo_messaging

from detach_ext import rpc

TOPIC = 'compute'

# Columns of ``instances`` sent in the instance primitive.
_INSTANCE_FIELDS = (
    'id', 'uuid', 'user_id', 'project_id', 'hostname', 'display_name',
    'host', 'node', 'power_state', 'vm_state', 'task_state', 'locked',
    'locked_by', 'launched_at', 'terminated_at', 'root_device_name',
    'availability_zone', 'created_at', 'updated_at', 'deleted_at',
    'deleted',
)


def _field(value):
    if hasattr(value, 'isoformat'):
        # Nova's DateTimeField wire form.
        return value.strftime('%Y-%m-%dT%H:%M:%SZ')
    return value


def instance_primitive(instance):
    """An ``Instance`` in Nova's versioned-object wire form."""
    data = {name: _field(getattr(instance, name))
            for name in _INSTANCE_FIELDS}
    data['deleted'] = bool(data['deleted'])
    return {
        'nova_object.name': 'Instance',
        'nova_object.namespace': 'nova',
        'nova_object.version': '2.8',
        'nova_object.data': data,
        'nova_object.changes': [],
    }


class ComputeAPI:
    """Client side of the compute RPC API.

    API version history (of the methods detach_ext sends):

        * 6.0 - ``detach_volume(instance, volume_id, attachment_id)``, as
          in Nova's compute RPC API 6.0.

    :param conf: the ConfigOpts (``[upgrade_levels] compute``,
        ``[compute_rpc] cast_retry``).
    :param transport: the oslo.messaging transport to publish on.
    """

    VERSION = '6.0'

    def __init__(self, conf, transport):
        self.retry = conf.compute_rpc.cast_retry
        target = oslo_messaging.Target(topic=TOPIC, version=self.VERSION)
        self.client = rpc.get_client(
            transport, target,
            version_cap=conf.upgrade_levels.compute or self.VERSION)

    def detach_volume(self, ctxt, instance, volume_id, attachment_id):
        """Cast ``detach_volume`` to the compute worker of ``instance.host``.

        Publishing is retried ``cast_retry`` times, so an unreachable bus
        raises (MessageDeliveryFailure) within seconds instead of hanging.
        """
        cctxt = self.client.prepare(server=instance.host,
                                    version=self.VERSION, retry=self.retry)
        cctxt.cast(ctxt, 'detach_volume',
                   instance=instance_primitive(instance),
                   volume_id=volume_id, attachment_id=attachment_id)
