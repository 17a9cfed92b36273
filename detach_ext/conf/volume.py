"""Options of the volume API detach_ext talks to."""

from oslo_config import cfg

from detach_ext.conf import groups

GROUP = cfg.OptGroup('volume', title='Volume API options')

OPTS = [
    cfg.StrOpt('backend',
               default='local',
               choices=[('local', 'Volume status is kept in a table of '
                                  'detach_ext in the compute database.'),
                        ('cinder', 'The block storage API (Cinder) keeps '
                                   'it; see [cinder].')],
               help='Where the status of volumes lives.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return [(GROUP, OPTS)]
