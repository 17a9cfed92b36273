"""Volume status kept by the block storage API (Cinder).

Calls made for a request use the user's token and, for the endpoint, the
service catalog that came with it (as nova-compute does); a worker with no
user token uses the ``[cinder]`` service credentials.  With
``[service_user] send_service_user_token`` every call also carries a
service token (keystoneauth's ServiceTokenAuthWrapper, as Nova sends it):
Cinder deletes a connected attachment only for a service, and accepts the
expired token of a user whose detach waited in the queue.
"""

from keystoneauth1.access import service_catalog
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import plugin
from keystoneauth1 import service_token
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from detach_ext import exception
from detach_ext.volume import local

LOG = logging.getLogger(__name__)


class _ContextAuth(plugin.BaseAuthPlugin):
    """The user's token, and endpoints from the catalog it came with."""

    def __init__(self, context):
        super().__init__()
        self.context = context
        self._catalog = service_catalog.ServiceCatalogV2(
            context.service_catalog)

    def get_token(self, session, **kwargs):
        return self.context.auth_token

    def get_project_id(self, session, **kwargs):
        return self.context.project_id

    def get_endpoint(self, session, service_type=None, interface=None,
                     region_name=None, service_name=None, **kwargs):
        interfaces = interface if isinstance(interface, (list, tuple)) \
            else [interface]
        for candidate in interfaces:
            try:
                return self._catalog.url_for(
                    service_type=service_type,
                    interface=candidate or 'public',
                    region_name=region_name, service_name=service_name)
            except ks_exc.EndpointNotFound:
                continue
        return None


class _OwnSession(plugin.BaseAuthPlugin):
    """An auth plugin that gets its token through a session of its own
    (``[service_user]``'s TLS and timeout options), whichever session the
    request it signs goes through."""

    def __init__(self, auth, session):
        super().__init__()
        self.auth = auth
        self.session = session

    def get_token(self, session, **kwargs):
        return self.auth.get_token(self.session, **kwargs)

    def invalidate(self):
        return self.auth.invalidate()


# What keystoneauth raises when the identity or block storage API cannot
# be reached at all.
_UNREACHABLE = (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                ks_exc.DiscoveryFailure, ks_exc.EndpointNotFound,
                ks_exc.EmptyCatalog, ks_exc.SSLError)


def _message(response):
    """The ``message`` of a block storage fault body, or its text."""
    try:
        body = response.json()
        return next(iter(body.values()))['message']
    except Exception:
        return response.text or response.reason


class API:
    """The ``cinder`` volume backend.

    :param conf: the ConfigOpts with the ``[cinder]`` group.
    """

    def __init__(self, conf):
        self.conf = conf
        self._session = ks_loading.load_session_from_conf_options(
            conf, 'cinder')
        self._service_auth = ks_loading.load_auth_from_conf_options(
            conf, 'cinder')
        self._service_token = None
        if conf.service_user.send_service_user_token:
            auth = ks_loading.load_auth_from_conf_options(conf,
                                                          'service_user')
            if auth is None:
                # Nova logs this and sends no service token; every detach
                # would then end refused by Cinder (409), after its 202.
                raise cfg.RequiredOptError('auth_type',
                                           cfg.OptGroup('service_user'))
            self._service_token = _OwnSession(
                auth, ks_loading.load_session_from_conf_options(
                    conf, 'service_user'))

    def _adapter(self, context):
        if context is not None and context.auth_token:
            auth = _ContextAuth(context)
        elif self._service_auth is not None:
            auth = self._service_auth
        else:
            raise exception.VolumeServiceUnavailable(
                reason='no user token and no [cinder] credentials')
        if self._service_token is not None:
            auth = service_token.ServiceTokenAuthWrapper(
                user_auth=auth, service_auth=self._service_token)
        return ks_loading.load_adapter_from_conf_options(
            self.conf, 'cinder', session=self._session, auth=auth)

    def _request(self, context, method, path, volume_id, body=None,
                 microversion=None):
        """One call; maps unreachable to 503 and 404 to VolumeNotFound.

        :returns: the response (any 2xx, 400 or 409; raise on others).
        """
        headers = {}
        if microversion:
            headers['OpenStack-API-Version'] = 'volume %s' % microversion
        try:
            response = self._adapter(context).request(
                path, method, json=body, headers=headers,
                raise_exc=False)
        except _UNREACHABLE as exc:
            LOG.error('The block storage API is unreachable: %s', exc)
            raise exception.VolumeServiceUnavailable(reason=str(exc))
        if response.status_code == 404:
            raise exception.VolumeNotFound(volume_id=volume_id)
        if response.status_code >= 500 or response.status_code in (401,
                                                                   403):
            LOG.error('The block storage API answered %(code)s to '
                      '%(method)s %(path)s: %(message)s',
                      {'code': response.status_code, 'method': method,
                       'path': path, 'message': _message(response)})
            raise exception.VolumeServiceUnavailable(
                reason='%s %s' % (response.status_code, _message(response)))
        return response

    def _action(self, context, volume_id, action, value=None):
        return self._request(context, 'POST',
                             '/volumes/%s/action' % volume_id, volume_id,
                             body={action: value})

    # Cinder keeps the status: the mapping is finished after it.
    shares_database = False

    def check_admin_credentials(self):
        """Check that the ``[cinder]`` credentials, used where there is no
        user (the repair), may read and change every project's volumes:
        that they authenticate, and that their token holds one of
        ``[cinder] admin_roles`` (Cinder's ``context_is_admin`` rule).

        An auth plugin that has no token to look into (``admin_token``,
        ``noauth``) is not checked.

        :raises VolumeServiceMisconfigured: naming the options to fix.
        :raises VolumeServiceUnavailable: Keystone cannot be reached now.
        """
        if self._service_auth is None:
            raise exception.VolumeServiceMisconfigured(
                reason='[cinder] auth_type is not set: the repair of '
                       'half-done detaches calls the block storage API '
                       'with no user, with [cinder]\'s credentials (a '
                       'user with the "admin" role, see [cinder] '
                       'admin_roles).')
        get_access = getattr(self._service_auth, 'get_access', None)
        if get_access is None:
            return
        who = ('[cinder] username %s' % self.conf.cinder.username
               if self.conf.cinder.username else 'the [cinder] credentials')
        try:
            access = get_access(self._session)
        except _UNREACHABLE as exc:
            raise exception.VolumeServiceUnavailable(reason=str(exc))
        except ks_exc.ClientException as exc:
            raise exception.VolumeServiceMisconfigured(
                reason='Keystone refused %s: %s.  Fix the credentials of '
                       '[cinder] (auth_url, username, password, project '
                       'and domains).' % (who, exc))
        roles = set(access.role_names or ())
        wanted = set(self.conf.cinder.admin_roles)
        if not roles & wanted:
            raise exception.VolumeServiceMisconfigured(
                reason='%s holds the roles %s on its project, none of '
                       '[cinder] admin_roles (%s): Cinder would show it no '
                       'other project\'s volume, so the repair could '
                       'settle none.  Give that user one of those roles '
                       '(openstack role add --user USER --project PROJECT '
                       'admin), or change admin_roles to the role '
                       'Cinder\'s policy (context_is_admin) names.'
                       % (who, ', '.join(sorted(roles)) or 'none',
                          ', '.join(sorted(wanted))))

    def get(self, context, volume_id):
        """``{'status', 'updated_at'}`` of a volume."""
        response = self._request(context, 'GET', '/volumes/%s' % volume_id,
                                 volume_id)
        volume = response.json()['volume']
        updated = volume.get('updated_at') or volume.get('created_at')
        return {'status': volume['status'],
                'updated_at': timeutils.normalize_time(
                    timeutils.parse_isotime(updated)) if updated else None}

    def get_status(self, context, volume_id):
        return self.get(context, volume_id)['status']

    def begin_detaching(self, context, volume_id):
        response = self._action(context, volume_id, 'os-begin_detaching')
        if response.ok:
            return
        # Refused: say why, with the status it has now.
        if self.get_status(context, volume_id) == local.AVAILABLE:
            raise exception.InvalidVolume(reason='already detached')
        raise exception.InvalidVolume(reason=_message(response))

    def roll_detaching(self, context, volume_id):
        return self._action(context, volume_id, 'os-roll_detaching').ok

    def _delete_attachment(self, context, volume_id, attachment_id):
        """Cinder's attachments API (3.27 on) ends a new-style attachment."""
        return self._request(
            context, 'DELETE', '/attachments/%s' % attachment_id, volume_id,
            microversion=self.conf.cinder.attachment_microversion)

    def detach(self, context, volume_id, attachment_id=None, connector=None):
        """Finish at the block storage service.

        A new-style attachment (the mapping has its id) is deleted; an old
        one is closed with os-terminate_connection and os-detach.  Returns
        False when the volume is no longer detaching (a duplicate).
        """
        if self.get_status(context, volume_id) != local.DETACHING:
            return False
        if attachment_id:
            response = self._delete_attachment(context, volume_id,
                                               attachment_id)
        else:
            response = self._action(context, volume_id,
                                    'os-terminate_connection',
                                    {'connector': connector or {}})
            if response.ok:
                response = self._action(context, volume_id, 'os-detach',
                                        {'attachment_id': None})
        if not response.ok:
            raise exception.InvalidVolume(reason=_message(response))
        return True

    def detach_unplugged(self, context, volume_id, attachment_id=None):
        """Detach a volume no host has plugged, as Nova's API cleans up a
        shelved offloaded server's volume: a new-style attachment is
        deleted, an old one begun and closed with os-detach."""
        if attachment_id:
            response = self._delete_attachment(context, volume_id,
                                               attachment_id)
        else:
            self.begin_detaching(context, volume_id)
            response = self._action(context, volume_id, 'os-detach',
                                    {'attachment_id': None})
        if not response.ok:
            raise exception.InvalidVolume(reason=_message(response))
