"""The reference compute worker: carries out a cast ``detach_volume``."""

from oslo_log import log as logging
import oslo_messaging

from detach_ext.volume import local as volume_status

LOG = logging.getLogger(__name__)


class ReferenceDriver:
    """A virt driver with no hypervisor behind it.

    A real driver unplugs the disk from the guest here; the reference one
    has nothing to unplug, so the detach succeeds once it is logged.
    """

    def detach_volume(self, context, connection_info, instance_uuid,
                      mountpoint):
        LOG.info('Unplugged volume at %(mountpoint)s.',
                 {'mountpoint': mountpoint}, instance_uuid=instance_uuid)


class ComputeManager:
    """The RPC endpoint of one compute host.

    :param host: the host this worker serves.
    :param db: the :class:`detach_ext.db.api.Database`.
    :param volume_api: the volume backend.
    :param driver: the virt driver; :class:`ReferenceDriver` by default.
    """

    target = oslo_messaging.Target(version='6.0')

    def __init__(self, host, db, volume_api, driver=None):
        self.host = host
        self.db = db
        self.volume_api = volume_api
        self.driver = driver or ReferenceDriver()

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        """Finish a detach the API began.

        Safe to receive twice: a message whose attachment is gone or whose
        volume is no longer ``detaching`` changes nothing.  On failure the
        volume goes back to ``in-use``, the attachment stays, and the fault
        is recorded in ``instance_faults``.
        """
        instance_uuid = instance['nova_object.data']['uuid']
        log = {'volume': volume_id, 'instance_uuid': instance_uuid}
        bdm = self.db.bdm_get_by_volume_and_instance(context, volume_id,
                                                     instance_uuid)
        if bdm is None:
            LOG.info('Volume %(volume)s is not attached any more; nothing '
                     'to do.', {'volume': volume_id},
                     instance_uuid=instance_uuid)
            return
        status = self.volume_api.get_status(context, volume_id)
        if status != volume_status.DETACHING:
            LOG.warning("Volume %(volume)s is '%(status)s', not "
                        "'detaching'; ignoring this detach_volume.",
                        dict(log, status=status),
                        instance_uuid=instance_uuid)
            return
        try:
            self.driver.detach_volume(context, bdm.connection_info,
                                      instance_uuid, bdm.device_name)
        except Exception as exc:
            LOG.exception('Detaching volume %(volume)s failed; rolling it '
                          'back to in-use.', log,
                          instance_uuid=instance_uuid)
            self.volume_api.roll_detaching(context, volume_id)
            self.db.instance_fault_create(
                context, instance_uuid, code=500,
                message='%s: %s' % (type(exc).__name__, exc),
                details='detach_volume of volume %s' % volume_id,
                host=self.host)
            return
        if not self.volume_api.detach(context, volume_id, attachment_id):
            LOG.info('Volume %(volume)s was finished by another delivery '
                     'of this message.', log, instance_uuid=instance_uuid)
            return
        self.db.bdm_destroy(context, bdm.id)
        LOG.info('Detached volume %(volume)s.', log,
                 instance_uuid=instance_uuid)
