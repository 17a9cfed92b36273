"""Options of the compute database (oslo.db registers the [database] group)."""

from oslo_config import cfg

from detach_ext.conf import groups

DEFAULT_CONNECTION = 'sqlite:///detach_ext.sqlite'

GROUP = cfg.OptGroup('detach_ext_database',
                     title='Schema options of detach_ext')

OPTS = [
    cfg.BoolOpt('create_nova_schema',
                default=False,
                help='Let "detach-ext-manage db sync" create the Nova '
                     'tables detach_ext reads (instances, '
                     'block_device_mapping, instance_faults) when they are '
                     'missing.  Only for a standalone deployment: an '
                     'existing Nova schema is never altered.'),
    cfg.FloatOpt('connect_timeout',
                 default=3.0,
                 min=0.5,
                 help='Seconds to wait for a connection to a database '
                      'server (MariaDB/MySQL, PostgreSQL) before the '
                      'request answers 503.'),
    cfg.FloatOpt('query_timeout',
                 default=5.0,
                 min=0.5,
                 help='Seconds to wait for a database server\'s answer to '
                      'one statement (MariaDB/MySQL: the driver\'s read '
                      'and write timeouts; PostgreSQL: a wait for the '
                      'socket with this bound, process-wide for psycopg2) '
                      'before the connection is dropped and the request '
                      'answers 503.  With the retries of a write, a '
                      'request waits at most about three times this for '
                      'the database; keep that well under the WSGI '
                      'server\'s timeout (gunicorn: 30 s).'),
    cfg.FloatOpt('commit_outcome_timeout',
                 default=5.0,
                 min=0.5,
                 help='Seconds a request goes on asking the database whether '
                      'the COMMIT of its begin-detaching took effect, when '
                      'that COMMIT failed or its answer was lost (a Galera '
                      'cluster stalls commits for several seconds while it '
                      'loses a node).  Found committed, the detach goes on '
                      'and answers 202; found not committed, 503 "nothing '
                      'was changed"; not found out in this time, a 503 '
                      'saying that the outcome is unknown (if the begin was '
                      'recorded, the repair of the compute host finishes '
                      'the detach).  One try may outlast it by '
                      'query_timeout: with the defaults such an answer '
                      'comes within 15 s.'),
    cfg.FloatOpt('ping_after_idle',
                 default=1.0,
                 min=0.0,
                 help='Seconds a pooled connection to a database server '
                      'may have been idle and still be used without a '
                      'ping first (one round trip).  A connection the '
                      'server dropped within that time fails its first '
                      'statement; reads and writes are then retried on a '
                      'new connection.  0 pings every connection before '
                      'use, as oslo.db does.'),
]


API_GROUP = cfg.OptGroup('api_database', title="Nova's API database",
                         help='Cells v2: where Nova records which cell holds '
                              'each server.')

API_OPTS = [
    cfg.StrOpt('connection',
               secret=True,
               help="The SQLAlchemy URL of Nova's API database (the same "
                    "value as nova.conf's [api_database] connection).  When "
                    "set, a server is looked up in instance_mappings and "
                    "cell_mappings, and read, changed and cast to in its "
                    "own cell's database and message bus.  Unset: one "
                    "cell, [database] connection and transport_url.  The "
                    "pool settings of [database] apply to every "
                    "database."),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)
    groups.register(conf, API_GROUP, API_OPTS)


def list_opts():
    return [(GROUP, OPTS), (API_GROUP, API_OPTS)]
