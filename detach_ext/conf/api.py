"""Options of the API service."""

from oslo_config import cfg

from detach_ext.conf import groups

GROUP = cfg.OptGroup('api', title='API options')

OPTS = [
    cfg.StrOpt('api_paste_config',
               default='api-paste.ini',
               help='The paste configuration file of the API.  A relative '
                    'path is looked up in the directories of the '
                    'configuration files, then in the installed '
                    'etc/detach_ext directory.'),
    cfg.StrOpt('paste_pipeline',
               default='main',
               help='Which pipeline of the paste configuration file the '
                    'API serves: "main" authenticates with keystone, '
                    '"noauth2" trusts a token of the form user:project and '
                    'is for development only.'),
    cfg.BoolOpt('filter_serves_reads',
                default=False,
                help='As a filter in front of an existing compute API: '
                     'also answer GET of the volume attachments and the '
                     'version documents, instead of passing them to that '
                     'API (which already answers them).'),
    cfg.StrOpt('compute_link_prefix',
               help='Nova\'s option of the same name: the scheme, host, '
                    'port and path prefix of the links in the version '
                    'documents (e.g. https://compute.example.com/nova), in '
                    'place of those of the request, which come from the '
                    'client\'s Host header.  Set it behind a proxy or load '
                    'balancer.  Empty (the default): links follow the '
                    'request.'),
    cfg.HostAddressOpt('bind_host',
                       default='127.0.0.1',
                       help='The address the embedded API server (the '
                            'detach-ext-api command) listens on.  A '
                            'production WSGI server has its own setting.'),
    cfg.PortOpt('bind_port',
                default=8774,
                help='The port the embedded API server listens on.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return [(GROUP, OPTS)]
