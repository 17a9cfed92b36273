"""oslo.messaging plumbing: transport, context serializer, client, server."""

import oslo_messaging

from detach_ext import context as detach_context


class RequestContextSerializer(oslo_messaging.NoOpSerializer):
    """Carry the request context (with token and catalog) as a dict."""

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return detach_context.RequestContext.from_dict(context)


def get_transport(conf, url=None):
    """The RPC transport of ``url`` (default ``[DEFAULT] transport_url``)."""
    return oslo_messaging.get_rpc_transport(conf, url=url)


def get_client(transport, target, version_cap=None):
    return oslo_messaging.get_rpc_client(
        transport, target, version_cap=version_cap,
        serializer=RequestContextSerializer())


def get_server(transport, target, endpoints):
    """An RPC server on the threading executor (oslo.messaging's default).

    oslo.messaging 18 deprecates the ``executor`` argument and eventlet,
    so none is passed.
    """
    return oslo_messaging.get_rpc_server(
        transport, target, endpoints,
        serializer=RequestContextSerializer(),
        access_policy=oslo_messaging.DefaultRPCAccessPolicy)
