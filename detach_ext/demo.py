"""Demo data for the embedded all-in-one mode: one project, three cases.

* server ``demo-server`` (active) with a data volume that can be detached
  (202) and a root volume that cannot (403);
* server ``demo-broken`` in vm_state ``error`` with a data volume (409).
"""

import uuid

from oslo_utils import timeutils

from detach_ext.db import models
from detach_ext.volume import local as volume_status

PROJECT_ID = 'b7a7b63e92174a95a999c95da856f143'
USER_ID = 'demo'
SERVER_ID = 'da5834e0-31d2-40f9-b271-6592f9f68370'
DATA_VOLUME_ID = 'eef897c2-e61b-4a18-84e9-ac44ebb34c7b'
ROOT_VOLUME_ID = '5f1f5c3a-6a1e-4a4b-9f3e-0c0b7d2d8a11'
BROKEN_SERVER_ID = '0b6c3cf4-3d1e-4b7c-9a57-7d0b5a6f3b2e'
BROKEN_VOLUME_ID = '9c0e2f6a-8d4b-4f7e-b1a3-2e5d6c7f8a90'


def _instance(uuid, name, host, vm_state):
    return models.Instance(
        uuid=uuid, user_id=USER_ID, project_id=PROJECT_ID, hostname=name,
        display_name=name, host=host, node=host, power_state=1,
        vm_state=vm_state, task_state=None, locked=False,
        launched_at=timeutils.utcnow(), root_device_name='/dev/vda',
        availability_zone='nova', deleted=0)


def _attachment(server_id, volume_id, device, boot_index):
    return [
        models.BlockDeviceMapping(
            uuid=str(uuid.uuid5(uuid.NAMESPACE_OID, 'bdm-' + volume_id)),
            attachment_id=str(uuid.uuid5(uuid.NAMESPACE_OID,
                                         'attachment-' + volume_id)),
            instance_uuid=server_id, volume_id=volume_id, device_name=device,
            boot_index=boot_index, source_type='volume',
            destination_type='volume', connection_info='{}', deleted=0),
        models.Volume(id=volume_id, project_id=PROJECT_ID,
                      status=volume_status.IN_USE),
    ]


def seed(db, context, host):
    """Add the demo rows unless the demo server is already there.

    :returns: True if rows were added.
    """
    if db.instance_get_by_uuid(context, SERVER_ID) is not None:
        return False
    with db.ctxmgr.writer.using(context) as session:
        session.add(_instance(SERVER_ID, 'demo-server', host, 'active'))
        session.add(_instance(BROKEN_SERVER_ID, 'demo-broken', host,
                              'error'))
        session.flush()
        session.add_all(
            _attachment(SERVER_ID, DATA_VOLUME_ID, '/dev/vdb', None) +
            _attachment(SERVER_ID, ROOT_VOLUME_ID, '/dev/vda', 0) +
            _attachment(BROKEN_SERVER_ID, BROKEN_VOLUME_ID, '/dev/vdb',
                        None))
    return True
