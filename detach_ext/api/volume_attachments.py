"""Handlers of ``/servers/{server_id}/os-volume_attachments``."""

import re

from oslo_utils import uuidutils
import webob

from detach_ext.api import ids
from detach_ext.api import microversion
from detach_ext import exception
from detach_ext.policies import volumes_attachments as policies

_PROJECT_ID = re.compile('^%s$' % ids.PROJECT_ID)


def check_project_id(context, project_id):
    """The URL's project must be well formed and the caller's own."""
    if not _PROJECT_ID.match(project_id):
        raise exception.ProjectIdMalformed(project_id)
    if project_id != context.project_id:
        raise exception.ProjectIdMismatch(project_id, context.project_id)


def _uuid(value):
    """``value`` in lower case if it is a UUID, else None.

    Nova's ids are stored in lower case; compared as the client wrote them
    an upper-case id would be found on MariaDB (case-insensitive collation)
    and not on PostgreSQL or SQLite.  Lower-cased, every backend answers
    alike.
    """
    return value.lower() if uuidutils.is_uuid_like(value) else None


def _authorized_instance(context, compute_api, server_id, project_id,
                         action):
    """Checks 2 to 5 of the table: project, server, policy."""
    if project_id is not None:
        check_project_id(context, project_id)
    if _uuid(server_id) is None:
        raise exception.InstanceNotFound(instance_id=server_id)
    instance = compute_api.get_instance(context, _uuid(server_id))
    context.can(action, target={'project_id': instance.project_id})
    return instance


def _attachment(context, compute_api, instance, volume_id):
    if _uuid(volume_id) is None:
        raise exception.VolumeNotAttached(instance_uuid=instance.uuid,
                                          volume_id=volume_id)
    return compute_api.get_attachment(context, instance, _uuid(volume_id))


def _view(bdm, version):
    """Nova's ``volumeAttachment`` at ``version``: the id is the volume
    id; ``tag`` from 2.70, ``delete_on_termination`` from 2.79, and from
    2.89 ``attachment_id`` and ``bdm_uuid`` instead of ``id``."""
    view = {}
    if version < microversion.SHOW_ATTACHMENT_ID:
        view['id'] = bdm.volume_id
    view['volumeId'] = bdm.volume_id
    view['serverId'] = bdm.instance_uuid
    if bdm.device_name:
        view['device'] = bdm.device_name
    if version >= microversion.SHOW_TAG:
        view['tag'] = bdm.tag
    if version >= microversion.SHOW_DELETE_ON_TERMINATION:
        view['delete_on_termination'] = bool(bdm.delete_on_termination)
    if version >= microversion.SHOW_ATTACHMENT_ID:
        view['attachment_id'] = bdm.attachment_id
        view['bdm_uuid'] = bdm.uuid
    return view


def _check_query(req, allowed, strict_from):
    """From ``strict_from`` on, Nova refuses query parameters it does not
    know (its schema's ``additionalProperties: false``)."""
    if microversion.of(req) < strict_from:
        return
    unexpected = sorted(set(req.GET) - set(allowed))
    if unexpected:
        raise exception.InvalidQuery(
            reason='Additional properties are not allowed (%s %s '
                   'unexpected)' % (', '.join(repr(u) for u in unexpected),
                                    'was' if len(unexpected) == 1
                                    else 'were'))


# Nova's [api] max_limit: the longest page, and the page of limit=0.
MAX_LIMIT = 1000


def _page(req):
    """Nova's ``limit``/``offset`` query parameters."""
    values = {}
    for name in ('limit', 'offset'):
        text = req.GET.get(name)
        if text is None:
            continue
        try:
            values[name] = int(text)
        except ValueError:
            values[name] = -1
        if values[name] < 0:
            raise exception.InvalidQuery(
                reason='%s param must be an integer >= 0' % name)
    return min(MAX_LIMIT, values.get('limit') or MAX_LIMIT), values.get(
        'offset', 0)


def index(req, context, compute_api, server_id, project_id=None):
    """The volume attachments of server ``server_id``: 200."""
    instance = _authorized_instance(context, compute_api, server_id,
                                    project_id, policies.INDEX)
    _check_query(req, ('limit', 'offset'), microversion.STRICT_INDEX_QUERY)
    limit, offset = _page(req)
    version = microversion.of(req)
    bdms = compute_api.get_attachments(context, instance)
    views = [_view(b, version) for b in bdms[offset:offset + limit]
             if version < microversion.SHOW_ATTACHMENT_ID or b.attachment_id]
    return webob.Response(json={'volumeAttachments': views})


def show(req, context, compute_api, server_id, attachment_id,
         project_id=None):
    """One volume attachment of server ``server_id``: 200."""
    instance = _authorized_instance(context, compute_api, server_id,
                                    project_id, policies.SHOW)
    _check_query(req, (), microversion.STRICT_SHOW_QUERY)
    bdm = _attachment(context, compute_api, instance, attachment_id)
    version = microversion.of(req)
    if version >= microversion.SHOW_ATTACHMENT_ID and not bdm.attachment_id:
        # Nova: the 2.89 view needs an attachment id this mapping lacks.
        raise exception.VolumeNotAttached(instance_uuid=instance.uuid,
                                          volume_id=bdm.volume_id)
    return webob.Response(json={'volumeAttachment': _view(bdm, version)})


def delete(req, context, compute_api, server_id, attachment_id,
           project_id=None):
    """Detach volume ``attachment_id`` from server ``server_id``: 202.

    The compute API looks the server up, asks ``authorize`` (policy, with
    the server's project as target) and makes every other check in the
    table's order.
    """
    if project_id is not None:
        check_project_id(context, project_id)
    if _uuid(server_id) is None:
        raise exception.InstanceNotFound(instance_id=server_id)

    def authorize(instance):
        context.can(policies.DELETE, target={'project_id':
                                             instance.project_id})

    compute_api.detach_volume(
        context, _uuid(server_id), _uuid(attachment_id) or attachment_id,
        authorize, allow_shelved=(
            microversion.of(req) >= microversion.SHELVED_DETACH))
    return webob.Response(status=202, content_type='text/html',
                          charset='UTF-8')
