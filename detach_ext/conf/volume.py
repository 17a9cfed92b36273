"""Options of the volume API detach_ext talks to."""

from oslo_config import cfg

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
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
