"""Options of the service token sent beside a user's token.

``[service_user]``: the same group, options and meaning as Nova's
(``nova/conf/service_token.py``), so a deployer's ``[service_user]``
section of nova.conf can be copied over.  With ``send_service_user_token``
every call to the block storage API carries ``X-Service-Token``, a token
of these credentials.  Cinder deletes a
connected attachment only for a request carrying a service token whose user
holds one of its ``[keystone_authtoken] service_token_roles`` (``service``
by default), and its keystonemiddleware accepts an expired user token when a
valid service token comes with it: a detach queued longer than the user's
token lives still finishes.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from detach_ext.conf import groups

GROUP = cfg.OptGroup(
    'service_user', title='Service token authentication options',
    help='Credentials of the service user whose token is sent, as '
         'X-Service-Token, beside the user\'s token on every call to the '
         'block storage API (Nova\'s [service_user]).  The user needs a '
         'role of Cinder\'s [keystone_authtoken] service_token_roles '
         '(usually "service").  keystoneauth\'s session options here '
         '(cafile, certfile, keyfile, insecure, timeout) apply to getting '
         'that token from Keystone.')

OPTS = [
    cfg.BoolOpt('send_service_user_token',
                default=False,
                help='Send a service token beside the user\'s token on every '
                     'call to the block storage API.  Needed with Cinder '
                     '2023.2 or newer, which refuses to delete a connected '
                     'attachment (the end of every detach) for a request '
                     'that carries no service token (409 '
                     'ConflictNovaUsingAttachment), and for detaches that '
                     'wait in the queue longer than the user\'s token '
                     'lives.  Set auth_type and the credentials of this '
                     'group with it.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts():
    return [(GROUP, OPTS + ks_loading.get_session_conf_options() +
             ks_loading.get_auth_common_conf_options() +
             ks_loading.get_auth_plugin_conf_options('password'))]
