"""Options of the ``cinder`` volume backend (keystoneauth's own helpers).

``[cinder]`` carries keystoneauth's session options (TLS, timeout), its
adapter options (``service_type``, ``valid_interfaces``, ``region_name``,
``endpoint_override``) and the credentials of a service user
(``auth_type`` and the plugin's options), used only when there is no
user token: the compute worker's repair and ``detach-ext-manage volume
repair``, which read and change the volumes of every project.  The service
token sent beside every call is ``[service_user]``'s.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from detach_ext.conf import groups

GROUP = cfg.OptGroup(
    'cinder', title='Block storage API options',
    help='Used with [volume] backend = cinder.  Calls for a request are '
         "made with the user's token (and [service_user]'s service token); "
         "the endpoint comes from the token's service catalog unless "
         'endpoint_override is set (it may contain %(project_id)s).  The '
         'credentials of this group (auth_type and its options) are used '
         'when there is no user: the repair of half-done detaches reads '
         'and changes the volumes of every project, which Cinder\'s '
         'default policy lets only a user with the "admin" role do '
         '(admin_roles).')

OPTS = [
    cfg.StrOpt('attachment_microversion',
               default='3.44',
               help='The block storage API microversion sent when deleting '
                    'an attachment (new-style attachments, 3.27 or newer).'),
    cfg.ListOpt('admin_roles',
                default=['admin'],
                help='Roles of which the user of this group\'s credentials '
                     'must hold one for Cinder\'s policy to let it read and '
                     'change the volumes of every project (Cinder\'s '
                     'context_is_admin rule, "role:admin" by default).  '
                     'Checked when the repair of half-done detaches starts: '
                     'without one of them the repair stops with an error '
                     'naming these credentials, instead of meeting every '
                     'other project\'s volume as not found.'),
]


# keystoneauth's options with detach_ext's defaults.
_DEFAULTS = {'service_type': 'block-storage',
             'valid_interfaces': ['internal', 'public'],
             'timeout': 30}


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)
    ks_loading.register_adapter_conf_options(conf, GROUP.name)
    for name, value in _DEFAULTS.items():
        conf.set_default(name, value, group=GROUP.name)


def list_opts():
    ks_opts = (ks_loading.get_session_conf_options() +
               ks_loading.get_adapter_conf_options(include_deprecated=False))
    cfg.set_defaults(ks_opts, **_DEFAULTS)
    return [(GROUP, OPTS + ks_opts +
             ks_loading.get_auth_common_conf_options() +
             ks_loading.get_auth_plugin_conf_options('password'))]
