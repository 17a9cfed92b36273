"""Client side of the compute RPC API (the part detach_ext casts)."""

import concurrent.futures

from oslo_log import log as logging
import oslo_messaging

from detach_ext.compute import objects
from detach_ext.compute import versions
from detach_ext import context as detach_context
from detach_ext import exception
from detach_ext import rpc

LOG = logging.getLogger(__name__)

TOPIC = 'compute'

# Threads publishing casts per client: a stalled broker holds some of
# them; the requests behind get their 503 after cast_timeout all the same.
_PUBLISHERS = 8
BINARY = 'nova-compute'
# Prepared call contexts kept (one per host and cap): beyond, start over.
_PREPARED = 4096


class ComputeAPI:
    """Client side of the compute RPC API.

    API version history (of the methods detach_ext sends):

        * 5.0 - ``detach_volume(instance, volume_id, attachment_id)``, as
          in Nova's compute RPC API 5.x (Stein to Xena).
        * 6.0 - the same arguments, Nova's compute RPC API 6.0 (Yoga on).

    The version cap is ``[upgrade_levels] compute``: a version number, a
    release name (:data:`detach_ext.compute.versions.VERSION_ALIASES`) or
    ``auto``, the version of the oldest nova-compute registered
    (:meth:`version_cap`).  Under a cap of 6.0 or more the cast goes as
    6.0; under a 5.x cap (older nova-computes during a rolling upgrade) as
    5.0; under a cap below 5.0 oslo.messaging refuses it
    (``RPCVersionCapError``), as Nova 34's API does.

    :param conf: the ConfigOpts (``[upgrade_levels] compute``,
        ``[compute_rpc] cast_retry``).
    :param transport: the oslo.messaging transport to publish on.
    :param min_compute_version: for ``auto``: a callable
        ``(context, binary)`` returning the minimum service version of the
        live, not forced down services of ``binary`` (an int, 0 if there
        are none), e.g. :meth:`detach_ext.db.api.Database.
        service_get_minimum_version`.  It is called with an admin context
        and ``'nova-compute'``.
    :raises ValueError: for a level that is not a version, a release name
        or ``auto``, or ``auto`` without ``min_compute_version``.
    """

    VERSION = '6.0'

    def __init__(self, conf, transport, min_compute_version=None):
        self.retry = conf.compute_rpc.cast_retry
        self.timeout = conf.compute_rpc.cast_timeout
        self._publisher = concurrent.futures.ThreadPoolExecutor(
            max_workers=_PUBLISHERS, thread_name_prefix='cast')
        self.transport = transport
        level = conf.upgrade_levels.compute
        self._auto = level == versions.AUTO
        if self._auto and min_compute_version is None:
            raise ValueError('[upgrade_levels] compute = auto needs the '
                             'services table of the compute database')
        self._min_compute_version = min_compute_version
        # A number or a release name is fixed; auto is found on first use.
        self._cap = (None if self._auto or not level
                     else versions.cap_for_level(level))
        self._auto_cap = None
        target = oslo_messaging.Target(topic=TOPIC, version=self.VERSION)
        # The cap goes with each cast (prepare), since auto can change it.
        self.client = rpc.get_client(transport, target)
        # (cap, host) -> the call context a cast there goes through.
        self._prepared = {}

    def version_cap(self):
        """The compute RPC version cap of the next cast.

        With ``auto``, as Nova's ``_determine_version_cap``: the
        ``compute_rpc`` version of the minimum nova-compute service
        version, kept for the life of this client once nova-computes are
        registered (:meth:`reset_version_cap` forgets it), and the newest
        version, not kept, while none is.
        """
        if not self._auto:
            return self._cap or self.VERSION
        if self._auto_cap is not None:
            return self._auto_cap
        service_version = self._min_compute_version(
            detach_context.get_admin_context(), BINARY)
        cap = versions.cap_for_service_version(service_version)
        if service_version:
            self._auto_cap = cap
            LOG.info('Automatically selected compute RPC version %(rpc)s '
                     'from minimum service version %(service)d.',
                     {'rpc': cap, 'service': service_version})
        else:
            LOG.debug('No nova-compute service registered: not keeping '
                      'the compute RPC version cap %s.', cap)
        return cap

    def reset_version_cap(self):
        """Forget the cap ``auto`` found (as Nova's ``reset_globals`` on
        SIGHUP): the next cast reads the services table again."""
        self._auto_cap = None

    def _prepare(self, cap, host):
        """The call context of a cast to ``host`` under ``cap``: 6.0 if
        the cap allows it, else 5.0 (below 5.0 the cast is refused).
        oslo.messaging's call contexts do not change once prepared, so
        each is built once, not on every cast."""
        key = (cap, host)
        cctxt = self._prepared.get(key)
        if cctxt is None:
            capped = self.client.prepare(version_cap=cap)
            version = self.VERSION if capped.can_send_version(
                self.VERSION) else '5.0'
            cctxt = capped.prepare(server=host, version=version,
                                   retry=self.retry)
            if len(self._prepared) >= _PREPARED:
                self._prepared.clear()
            self._prepared[key] = cctxt
        return cctxt

    def detach_volume(self, ctxt, instance, volume_id, attachment_id):
        """Cast ``detach_volume`` to the compute worker of the instance's
        host.

        :param instance: an ``Instance`` primitive
            (:func:`detach_ext.compute.objects.instance_primitive`).

        Publishing is retried ``cast_retry`` times and waited for at most
        ``cast_timeout`` seconds, so an unreachable or stalled bus raises
        (CastTimedOut) within seconds instead of hanging.
        """
        cctxt = self._prepare(self.version_cap(),
                              objects.instance_data(instance)['host'])
        # oslo.messaging bounds neither the publisher confirm of a cast nor
        # the whole of its retries (a stalled broker holds the socket up to
        # the heartbeat threshold, 60 s, per attempt): publish in a thread
        # and wait for it here.
        future = self._publisher.submit(
            cctxt.cast, ctxt, 'detach_volume', instance=instance,
            volume_id=volume_id, attachment_id=attachment_id)
        try:
            future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            raise exception.CastTimedOut(seconds=self.timeout)
