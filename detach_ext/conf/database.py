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
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return [(GROUP, OPTS)]
