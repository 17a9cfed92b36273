"""Handlers of ``/servers/{server_id}/os-volume_attachments``."""

import re

from oslo_utils import uuidutils
import webob

from detach_ext import exception
from detach_ext.policies import volumes_attachments as policies

# A keystone project id: 32 hex digits, or a UUID with dashes.
_PROJECT_ID = re.compile(r'^([0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-'
                         r'[0-9a-f]{12})$', re.IGNORECASE)


def check_project_id(context, project_id):
    """The URL's project must be well formed and the caller's own."""
    if not _PROJECT_ID.match(project_id):
        raise exception.ProjectIdMalformed(project_id)
    if project_id != context.project_id:
        raise exception.ProjectIdMismatch(project_id, context.project_id)


def delete(req, context, compute_api, server_id, attachment_id,
           project_id=None):
    """Detach volume ``attachment_id`` from server ``server_id``: 202."""
    if project_id is not None:
        check_project_id(context, project_id)
    if not uuidutils.is_uuid_like(server_id):
        raise exception.InstanceNotFound(instance_id=server_id)
    instance = compute_api.get_instance(context, server_id)
    context.can(policies.DELETE, target={'project_id': instance.project_id})
    if not uuidutils.is_uuid_like(attachment_id):
        raise exception.VolumeNotAttached(instance_uuid=instance.uuid,
                                          volume_id=attachment_id)
    bdm = compute_api.get_attachment(context, instance, attachment_id)
    compute_api.detach_volume(context, instance, bdm)
    return webob.Response(status=202, content_type='text/html',
                          charset='UTF-8')
