"""Handlers of ``/servers/{server_id}/os-volume_attachments``."""

import re

from oslo_utils import uuidutils
import webob

from detach_ext.api import ids
from detach_ext import exception
from detach_ext.policies import volumes_attachments as policies

_PROJECT_ID = re.compile('^%s$' % ids.PROJECT_ID)


def check_project_id(context, project_id):
    """The URL's project must be well formed and the caller's own."""
    if not _PROJECT_ID.match(project_id):
        raise exception.ProjectIdMalformed(project_id)
    if project_id != context.project_id:
        raise exception.ProjectIdMismatch(project_id, context.project_id)


def _authorized_instance(context, compute_api, server_id, project_id,
                         action):
    """Checks 2 to 5 of the table: project, server, policy."""
    if project_id is not None:
        check_project_id(context, project_id)
    if not uuidutils.is_uuid_like(server_id):
        raise exception.InstanceNotFound(instance_id=server_id)
    instance = compute_api.get_instance(context, server_id)
    context.can(action, target={'project_id': instance.project_id})
    return instance


def _attachment(context, compute_api, instance, volume_id):
    if not uuidutils.is_uuid_like(volume_id):
        raise exception.VolumeNotAttached(instance_uuid=instance.uuid,
                                          volume_id=volume_id)
    return compute_api.get_attachment(context, instance, volume_id)


def _view(bdm):
    """Nova 2.1's ``volumeAttachment``: the id is the volume id."""
    return {'id': bdm.volume_id, 'serverId': bdm.instance_uuid,
            'volumeId': bdm.volume_id, 'device': bdm.device_name}


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
    return values.get('limit'), values.get('offset', 0)


def index(req, context, compute_api, server_id, project_id=None):
    """The volume attachments of server ``server_id``: 200."""
    instance = _authorized_instance(context, compute_api, server_id,
                                    project_id, policies.INDEX)
    limit, offset = _page(req)
    bdms = compute_api.get_attachments(context, instance)
    bdms = bdms[offset:] if limit is None else bdms[offset:offset + limit]
    return webob.Response(json={'volumeAttachments': [_view(b)
                                                      for b in bdms]})


def show(req, context, compute_api, server_id, attachment_id,
         project_id=None):
    """One volume attachment of server ``server_id``: 200."""
    instance = _authorized_instance(context, compute_api, server_id,
                                    project_id, policies.SHOW)
    bdm = _attachment(context, compute_api, instance, attachment_id)
    return webob.Response(json={'volumeAttachment': _view(bdm)})


def delete(req, context, compute_api, server_id, attachment_id,
           project_id=None):
    """Detach volume ``attachment_id`` from server ``server_id``: 202."""
    instance = _authorized_instance(context, compute_api, server_id,
                                    project_id, policies.DELETE)
    bdm = _attachment(context, compute_api, instance, attachment_id)
    compute_api.detach_volume(context, instance, bdm)
    return webob.Response(status=202, content_type='text/html',
                          charset='UTF-8')
