"""Work done with Nova's own code, run in the stage's Nova virtualenv.

    python -m tests.nova.nova_side --config-file nova.conf seed SPEC.json
    python -m tests.nova.nova_side --config-file nova.conf primitive UUID

``seed`` creates servers the way Nova's own objects store them: for each
entry of SPEC (a JSON list) an Instance in its cell, a volume
BlockDeviceMapping with a new-style attachment id (and the entry's
``connection_info`` if it has one; the root device, boot index 0, with
``root``), and the InstanceMapping in the API
database.  ``primitive`` prints the Instance primitive Nova's
API casts for a detach of a server (``API().get`` with ``device_metadata``
and the host's services loaded, then ``obj_to_primitive()``).
"""

import datetime
import json
import sys

from nova import config
from nova import context as nova_context
from nova import objects
from oslo_serialization import jsonutils


def _flavor():
    return objects.Flavor(
        id=1, flavorid='1', name='m1.tiny', memory_mb=512, vcpus=1,
        root_gb=1, ephemeral_gb=0, swap=0, rxtx_factor=1.0, vcpu_weight=0,
        disabled=False, is_public=True, extra_specs={}, description=None)


def seed(ctxt, spec):
    from nova.network import model as network_model
    cells = {c.name: c for c in objects.CellMappingList.get_all(ctxt)}
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    for entry in spec:
        cell = cells[entry['cell']]
        with nova_context.target_cell(ctxt, cell) as cctxt:
            # A server on a host nova-compute runs on names its compute
            # node (Nova requires compute_id with node); a host without a
            # nova-compute (the stage's wire tap) or none gets no node.
            node = compute_id = None
            if entry['host']:
                try:
                    cn = objects.ComputeNode.get_by_host_and_nodename(
                        cctxt, entry['host'], entry['host'])
                    node, compute_id = cn.hypervisor_hostname, cn.id
                except Exception:
                    pass
            instance = objects.Instance(
                context=cctxt, uuid=entry['uuid'],
                project_id=entry['project_id'], user_id=entry['user_id'],
                host=entry['host'], node=node, compute_id=compute_id,
                vm_state=entry['vm_state'], task_state=None,
                power_state=entry.get('power_state', 1),
                launched_at=now, launched_on=entry['host'],
                root_device_name='/dev/vda',
                display_name=entry['name'], hostname=entry['name'],
                availability_zone='nova', image_ref=entry['image_ref'],
                memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
                instance_type_id=1, flavor=_flavor(), old_flavor=None,
                new_flavor=None, metadata={'stage': 'nova'},
                system_metadata={'image_base_image_ref': entry['image_ref']},
                info_cache=objects.InstanceInfoCache(
                    network_info=network_model.NetworkInfo()),
                locked=False, config_drive='', key_name=None,
                reservation_id='r-stage', launch_index=0)
            instance.create()
            objects.BlockDeviceMapping(
                context=cctxt, instance_uuid=entry['uuid'],
                volume_id=entry['volume_id'],
                attachment_id=entry['attachment_id'],
                source_type='volume', destination_type='volume',
                # The entry's ``root``: the boot volume (boot index 0).
                device_name='/dev/vda' if entry.get('root') else '/dev/vdb',
                boot_index=0 if entry.get('root') else None, volume_size=1,
                disk_bus='virtio', device_type='disk',
                delete_on_termination=False,
                # What Cinder answered the attachment update with (a real
                # Cinder's volume), else a fake one (the stand-in's).
                connection_info=jsonutils.dumps(dict(
                    entry.get('connection_info') or {
                        'driver_volume_type': 'fake', 'data': {}},
                    serial=entry['volume_id']))).create()
        objects.InstanceMapping(
            context=ctxt, instance_uuid=entry['uuid'], cell_mapping=cell,
            project_id=entry['project_id'], user_id=entry['user_id'],
            queued_for_delete=False).create()
    print(json.dumps({'seeded': len(spec)}))


def primitive(ctxt, uuid):
    """The instance as nova-api's detach casts it: read as its volume
    attachments DELETE reads it (device_metadata besides get()'s
    defaults), with the host's services loaded by its is-up check."""
    from nova.compute import api as compute_api
    instance = compute_api.API().get(ctxt, uuid,
                                     expected_attrs=['device_metadata'])
    instance.services  # lazy-loaded by check_instance_host(check_is_up)
    print(jsonutils.dumps(instance.obj_to_primitive()))


def main():
    args = sys.argv[1:]
    command, operand = args[-2:]
    config.parse_args(['nova-stage'] + args[:-2])
    objects.register_all()
    ctxt = nova_context.get_admin_context()
    if command == 'seed':
        with open(operand) as f:
            seed(ctxt, json.load(f))
    elif command == 'primitive':
        primitive(ctxt, operand)
    else:
        sys.exit('unknown command %s' % command)


if __name__ == '__main__':
    main()
