"""Client side of the compute RPC API (the part detach_ext casts)."""

import oslo_messaging

from detach_ext.compute import objects
from detach_ext import rpc

TOPIC = 'compute'


class ComputeAPI:
    """Client side of the compute RPC API.

    API version history (of the methods detach_ext sends):

        * 5.0 - ``detach_volume(instance, volume_id, attachment_id)``, as
          in Nova's compute RPC API 5.x (Stein to Xena).
        * 6.0 - the same arguments, Nova's compute RPC API 6.0 (Yoga on).

    A version cap below 6.0 (``[upgrade_levels] compute``, during a rolling
    upgrade with older nova-computes) sends 5.0.

    :param conf: the ConfigOpts (``[upgrade_levels] compute``,
        ``[compute_rpc] cast_retry``).
    :param transport: the oslo.messaging transport to publish on.
    """

    VERSION = '6.0'

    def __init__(self, conf, transport):
        self.retry = conf.compute_rpc.cast_retry
        self.transport = transport
        target = oslo_messaging.Target(topic=TOPIC, version=self.VERSION)
        self.client = rpc.get_client(
            transport, target,
            version_cap=conf.upgrade_levels.compute or self.VERSION)

    def detach_volume(self, ctxt, instance, volume_id, attachment_id):
        """Cast ``detach_volume`` to the compute worker of the instance's
        host.

        :param instance: an ``Instance`` primitive
            (:func:`detach_ext.compute.objects.instance_primitive`).

        Publishing is retried ``cast_retry`` times, so an unreachable bus
        raises within seconds instead of hanging.
        """
        host = objects.instance_data(instance)['host']
        version = self.VERSION
        if not self.client.can_send_version(version):
            version = '5.0'
        cctxt = self.client.prepare(server=host, version=version,
                                    retry=self.retry)
        cctxt.cast(ctxt, 'detach_volume', instance=instance,
                   volume_id=volume_id, attachment_id=attachment_id)
