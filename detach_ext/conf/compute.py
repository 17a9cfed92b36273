"""Options of the compute RPC client and the reference compute worker."""

import socket

from oslo_config import cfg
from oslo_config import types

from detach_ext.compute import versions
from detach_ext.conf import groups

DEFAULT_OPTS = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<current hostname>',
               help='The name of the compute host this worker serves.  It '
                    'must equal the "host" column of the servers it runs, '
                    'since the API addresses each cast to that host.'),
]

API_DEFAULT_OPTS = [
    cfg.IntOpt('service_down_time',
               default=60,
               min=1,
               help='Seconds after its last report that a nova-compute '
                    'service counts as down (Nova\'s option of the same '
                    'name).  The API refuses to cast to a server whose '
                    'host has a nova-compute that is down or forced down '
                    '(409), as Nova\'s does; a host without a nova-compute '
                    'row is not checked.'),
]

RPC_GROUP = cfg.OptGroup('compute_rpc', title='Compute RPC client options')

RPC_OPTS = [
    cfg.IntOpt('cast_retry',
               default=2,
               min=0,
               help='How many times the API retries connecting to the '
                    'message bus to publish a detach_volume cast before it '
                    'gives up, rolls the volume back to in-use and answers '
                    '503.  Keep it small: a request waits for it.'),
    cfg.FloatOpt('cast_timeout',
                 default=8.0,
                 min=0.1,
                 help='Seconds the API waits for a detach_volume cast to be '
                      'published and confirmed by the broker, retries '
                      'included, before it rolls the volume back to in-use '
                      'and answers 503.  A broker that accepts the '
                      'connection and then stops answering would otherwise '
                      'hold the request until the WSGI server kills it '
                      '(gunicorn\'s default timeout is 30 s; set uwsgi\'s '
                      'harakiri above the API\'s bound).  A cast that the '
                      'broker takes after this is ignored by the compute '
                      'host: its instance action is gone.'),
]

UPGRADE_GROUP = cfg.OptGroup('upgrade_levels', title='RPC version caps')


class _UpgradeLevel(types.String):
    """A compute RPC version, a release name or ``auto``, checked when the
    option is read, so a typo fails at start-up with the accepted values
    instead of failing every cast."""

    def __init__(self):
        super().__init__(type_name='version, release name or auto')

    def __call__(self, value):
        return versions.check_level(super().__call__(value))


UPGRADE_OPTS = [
    cfg.Opt('compute',
            type=_UpgradeLevel(),
            help='The highest version of the compute RPC API to send, as '
                 'Nova\'s option of the same name: a version number '
                 '(e.g. 6.0), a release name (e.g. victoria, yoga: the '
                 'version that release\'s nova-compute speaks, as in '
                 'Nova 34), or "auto" (the version of the oldest '
                 'nova-compute in the services table that is neither '
                 'deleted nor forced down, cached once known until the '
                 'API restarts; the newest version while none is '
                 'registered).  Unset means the newest version.  '
                 'detach_volume goes as version 6.0 under a cap of 6.0 '
                 'or more, as 5.0 under a 5.x cap, and is refused (503, '
                 'nothing changed) under a cap below 5.0.'),
]


WORKER_GROUP = cfg.OptGroup(
    'compute_worker', title='Reference compute worker options')

WORKER_OPTS = [
    cfg.IntOpt('repair_interval',
               default=60,
               min=0,
               help='Seconds between two runs of the worker\'s repair of '
                    'half-done detaches of its host (a lost message, a '
                    'crash between two steps, a request that failed after '
                    'the volume went detaching).  The repair runs beside '
                    'the message consumer, never in its way; the first run '
                    'starts with the worker.  0 turns the periodic runs '
                    'off.'),
    cfg.IntOpt('repair_age',
               default=120,
               min=0,
               help='Seconds a volume must have been left detaching (or '
                    'detached with its attachment still recorded) before '
                    'the repair touches it.  Keep it well above the API\'s '
                    'longest answer (see [compute_rpc] cast_timeout and '
                    'the database timeouts), so a detach in flight is '
                    'never taken for an abandoned one.'),
]

DRIVER_GROUP = cfg.OptGroup('reference_driver',
                            title='Reference compute driver options')

DRIVER_OPTS = [
    cfg.FloatOpt('detach_delay',
                 default=0.0,
                 min=0.0,
                 help='Seconds the reference driver takes to unplug a '
                      'volume, to rehearse a slow hypervisor (worker '
                      'restarts, SIGTERM during a detach).  0 in '
                      'production.'),
]


def register_opts(conf):
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(API_DEFAULT_OPTS)
    groups.register(conf, RPC_GROUP, RPC_OPTS)
    groups.register(conf, UPGRADE_GROUP, UPGRADE_OPTS)
    groups.register(conf, WORKER_GROUP, WORKER_OPTS)
    groups.register(conf, DRIVER_GROUP, DRIVER_OPTS)


def list_opts():
    return [('DEFAULT', DEFAULT_OPTS + API_DEFAULT_OPTS),
            (RPC_GROUP, RPC_OPTS),
            (UPGRADE_GROUP, UPGRADE_OPTS), (WORKER_GROUP, WORKER_OPTS),
            (DRIVER_GROUP, DRIVER_OPTS)]
