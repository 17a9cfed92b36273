"""The reference compute worker: carries out a cast ``detach_volume``."""

import time
import traceback

from oslo_log import log as logging
import oslo_messaging

from detach_ext.compute import objects
from detach_ext import context as detach_context
from detach_ext.volume import local as volume_status

LOG = logging.getLogger(__name__)


class ReferenceDriver:
    """A virt driver with no hypervisor behind it.

    A real driver unplugs the disk from the guest here; the reference one
    has nothing to unplug, so the detach succeeds once it is logged.
    Unplugging twice is harmless, as with a real driver asked to detach a
    disk the guest no longer has.

    :param delay: seconds an unplug takes (``[reference_driver]
        detach_delay``).
    """

    def __init__(self, delay=0.0, host=None):
        self.delay = delay
        self.host = host

    def get_volume_connector(self):
        """What the block storage service is told about this host."""
        return {'host': self.host, 'ip': '127.0.0.1', 'platform': 'x86_64',
                'os_type': 'linux', 'multipath': False,
                'initiator': 'iqn.2026-11.org.detach-ext:%s' % self.host}

    def detach_volume(self, context, connection_info, instance_uuid,
                      mountpoint):
        LOG.info('Unplugging volume at %(mountpoint)s.',
                 {'mountpoint': mountpoint}, instance_uuid=instance_uuid)
        if self.delay:
            time.sleep(self.delay)
        LOG.info('Unplugged volume at %(mountpoint)s.',
                 {'mountpoint': mountpoint}, instance_uuid=instance_uuid)


class _NoNotifier:
    def detach(self, *args, **kwargs):
        pass


class ComputeManager:
    """The RPC endpoint of one compute host.

    :param host: the host this worker serves.
    :param db: the :class:`detach_ext.db.api.Database`.
    :param volume_api: the volume backend.
    :param driver: the virt driver; :class:`ReferenceDriver` by default.
    :param notifier: a :class:`detach_ext.compute.notifications.Notifier`;
        none by default.
    """

    target = oslo_messaging.Target(version='6.0')

    def __init__(self, host, db, volume_api, driver=None, notifier=None):
        self.host = host
        self.db = db
        self.volume_api = volume_api
        self.driver = driver or ReferenceDriver(host=host)
        self.notifier = notifier or _NoNotifier()

    def init_host(self):
        """Finish the detaches a previous run of this host left behind.

        A cast is acknowledged when it is received, so a worker killed in
        the middle of a detach loses the message; the volume then stays
        ``detaching``.  At start-up every attachment of this host whose
        volume is ``detaching`` is finished (the user was told 202).
        Returns how many were found.
        """
        context = detach_context.get_admin_context()
        found = 0
        for bdm in self.db.bdm_get_all_by_host(context, self.host):
            try:
                status = self.volume_api.get_status(context, bdm.volume_id)
                if status != volume_status.DETACHING:
                    continue
                found += 1
                LOG.info('Volume %(volume)s was left detaching; finishing '
                         'the detach.', {'volume': bdm.volume_id},
                         instance_uuid=bdm.instance_uuid)
                instance = objects.instance_data(objects.instance_primitive(
                    self.db.instance_get_full(context, bdm.instance_uuid)))
                self._detach(context, instance, bdm, bdm.attachment_id)
            except Exception:
                # One volume the service cannot reach now must not keep
                # the worker from starting; the next start tries again.
                LOG.exception('Could not check or finish volume %(volume)s '
                              'at start-up.', {'volume': bdm.volume_id},
                              instance_uuid=bdm.instance_uuid)
        return found

    def endpoints(self):
        """The RPC endpoints of this worker: compute RPC 6.x, and 5.x as
        nova-compute still serves it (its ``_ComputeV5Proxy``), for an API
        capped below 6.0 during a rolling upgrade."""
        return [self, ComputeV5Proxy(self)]

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        """Finish a detach the API began.

        As nova-compute, it acts only when the ``detach_volume`` action of
        the request id in the context exists, and records its own event
        (``compute_detach_volume``) on it.  Safe to receive twice: a
        message whose attachment is gone or whose volume is no longer
        ``detaching`` changes nothing.  On failure the volume goes back to
        ``in-use``, the attachment stays, and the fault is recorded in
        ``instance_faults``.
        """
        instance = objects.instance_data(instance)
        instance_uuid = instance['uuid']
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
                        {'volume': volume_id, 'status': status},
                        instance_uuid=instance_uuid)
            return
        action = self.db.action_get_by_request_id(context, instance_uuid,
                                                  context.request_id)
        if action is None:
            LOG.error('No detach_volume action of request %(request)s; '
                      'not acting on volume %(volume)s (nova-compute would '
                      'not either).', {'request': context.request_id,
                                       'volume': volume_id},
                      instance_uuid=instance_uuid)
            return
        event_id = self.db.action_event_start(
            context, action.id, 'compute_detach_volume', self.host)
        error = self._detach(context, instance, bdm, attachment_id)
        self.db.action_event_finish(context, action.id, event_id,
                                    'Error' if error else 'Success', error)

    def _detach(self, context, instance, bdm, attachment_id):
        """Unplug, finish at the volume service, drop the mapping.

        :returns: None, or the traceback text of a failure (rolled back).
        """
        instance_uuid = instance['uuid']
        volume_id = bdm.volume_id
        log = {'volume': volume_id}
        self.notifier.detach(context, instance, volume_id, 'start')
        try:
            self.driver.detach_volume(context, bdm.connection_info,
                                      instance_uuid, bdm.device_name)
            changed = self.volume_api.detach(
                context, volume_id, attachment_id,
                connector=self.driver.get_volume_connector())
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
            self.notifier.detach(context, instance, volume_id, 'error', exc)
            return traceback.format_exc()
        if not changed:
            LOG.info('Volume %(volume)s was finished by another delivery '
                     'of this message.', log, instance_uuid=instance_uuid)
            return None
        self.db.bdm_destroy(context, bdm.id)
        LOG.info('Detached volume %(volume)s.', log,
                 instance_uuid=instance_uuid)
        self.notifier.detach(context, instance, volume_id, 'end')
        return None


class ComputeV5Proxy:
    """Compute RPC 5.x: ``detach_volume`` 5.0 has the arguments of 6.0."""

    target = oslo_messaging.Target(version='5.13')

    def __init__(self, manager):
        self.manager = manager

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        return self.manager.detach_volume(context, instance, volume_id,
                                          attachment_id)
