"""Rules of the os-volume_attachments API."""

from oslo_policy import policy

from detach_ext.policies import base

POLICY_ROOT = 'os_compute_api:os-volumes-attachments:%s'
DELETE = POLICY_ROOT % 'delete'
INDEX = POLICY_ROOT % 'index'
SHOW = POLICY_ROOT % 'show'

_COLLECTION = 'servers/{server_id}/os-volume_attachments'

rules = [
    policy.DocumentedRuleDefault(
        name=INDEX,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="List the volume attachments of a server.  The target "
                    "is the server's project.",
        operations=[
            {'method': 'GET', 'path': '/v2/{project_id}/' + _COLLECTION},
            {'method': 'GET', 'path': '/v2.1/' + _COLLECTION},
        ],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="Show one volume attachment of a server.  The target "
                    "is the server's project.",
        operations=[
            {'method': 'GET',
             'path': '/v2/{project_id}/' + _COLLECTION + '/{volume_id}'},
            {'method': 'GET', 'path': '/v2.1/' + _COLLECTION + '/{volume_id}'},
        ],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=DELETE,
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description='Detach a volume from a server.  The target is the '
                    "server's project.",
        operations=[
            {'method': 'DELETE',
             'path': '/v2/{project_id}/servers/{server_id}/'
                     'os-volume_attachments/{attachment_id}'},
            {'method': 'DELETE',
             'path': '/v2.1/servers/{server_id}/'
                     'os-volume_attachments/{attachment_id}'},
        ],
        scope_types=['project']),
]


def list_rules():
    return rules
