"""oslo.messaging plumbing: transport, context serializer, client, server."""

import oslo_messaging
from oslo_messaging import opts as messaging_opts

from detach_ext import context as detach_context

# The default of [DEFAULT] executor_thread_pool_size for detach_ext's RPC
# server (oslo.messaging's is 64).  Its threading executor runs native
# threads, not nova-compute's green ones, and each runnable thread more
# costs CPU in GIL hand-offs: one worker draining 500 queued detaches did
# 48 a second at 33 ms of CPU each with 64 threads, 71 at 21 ms with 16,
# 116 at 9 ms with 8 and 112 at 8 ms with 4.  A detach that waits long on
# its volume service or driver wants more: set the option.
WORKER_THREADS = 8


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
    """An RPC server on the threading executor (oslo.messaging's default),
    of ``[DEFAULT] executor_thread_pool_size`` threads (default
    :data:`WORKER_THREADS`).

    oslo.messaging 18 deprecates the ``executor`` argument and eventlet,
    so none is passed.
    """
    conf = transport.conf
    # oslo.messaging registers the option only once a server exists; its
    # own copy, registered here first, is the same option.
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts([opt for opt in opts
                                if opt.dest == 'executor_thread_pool_size'])
    messaging_opts.set_defaults(conf,
                                executor_thread_pool_size=WORKER_THREADS)
    return oslo_messaging.get_rpc_server(
        transport, target, endpoints,
        serializer=RequestContextSerializer(),
        access_policy=oslo_messaging.DefaultRPCAccessPolicy)
