"""The reference compute worker: carries out a cast ``detach_volume``."""

import datetime
import time
import traceback

from oslo_log import log as logging
import oslo_messaging
from oslo_utils import timeutils

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
        """Repair what a previous run of this host left behind.

        Kept for callers that want it done before anything else; the
        worker command runs :meth:`repair` in the background instead, so
        consuming messages never waits for it.  Returns how many volumes
        were repaired.
        """
        return self.repair()

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
        ``instance_faults``.  A message this worker cannot act on because
        the database or the volume service is unreachable is left to
        :meth:`repair`, which finds the volume still ``detaching``.
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
        self._detach(context, instance, bdm, attachment_id, action.id)

    def _detach(self, context, instance, bdm, attachment_id, action_id):
        """Unplug, then finish at the volume service and drop the mapping.

        The steps are ordered so that every crash point leaves a state
        :meth:`repair` recognises: the event is recorded first; with the
        ``local`` backend the volume status, the mapping and the event's
        result change in one transaction; with Cinder the mapping is
        dropped (with the event's result) right after Cinder's detach, and
        a crash between the two leaves a live mapping of an ``available``
        volume.
        """
        instance_uuid = instance['uuid']
        volume_id = bdm.volume_id
        log = {'volume': volume_id}
        event_id = self.db.action_event_start(
            context, action_id, 'compute_detach_volume', self.host)
        self.notifier.detach(context, instance, volume_id, 'start')
        try:
            self.driver.detach_volume(context, bdm.connection_info,
                                      instance_uuid, bdm.device_name)
            changed = self._finish(context, bdm, attachment_id, action_id,
                                   event_id)
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
            self.db.action_event_finish(context, action_id, event_id,
                                        'Error', traceback.format_exc())
            self.notifier.detach(context, instance, volume_id, 'error', exc)
            return False
        if not changed:
            LOG.info('Volume %(volume)s was finished by another delivery '
                     'of this message.', log, instance_uuid=instance_uuid)
            self.db.action_event_finish(context, action_id, event_id,
                                        'Success')
            return False
        LOG.info('Detached volume %(volume)s.', log,
                 instance_uuid=instance_uuid)
        self.notifier.detach(context, instance, volume_id, 'end')
        return True

    def _finish(self, context, bdm, attachment_id, action_id, event_id):
        """The volume service's part and the mapping; True if this call
        made the change."""
        if self.volume_api.shares_database:
            return self.db.detach_finish(context, bdm.id, bdm.volume_id,
                                         action_id, event_id)
        if not self.volume_api.detach(
                context, bdm.volume_id, attachment_id,
                connector=self.driver.get_volume_connector()):
            return False
        return self.db.detach_finish(context, bdm.id, None, action_id,
                                     event_id)

    def repair(self, older_than=0):
        """Finish or roll back the detaches of this host left half-done.

        Each live mapping of this host's servers is looked at once:

        * volume ``detaching`` for ``older_than`` seconds: if a
          ``detach_volume`` action of the server started after the volume
          went ``detaching``, the API answered 202 and cast (or was about
          to): the detach is finished, with a ``compute_detach_volume``
          event.  Without such an action the API failed before recording
          it (its client got an error): the volume goes back to ``in-use``.
        * volume ``available`` while the mapping is live: the volume
          service finished a detach whose mapping was not dropped (a crash
          between the two): the mapping is dropped if a detach of it was
          begun, else (``local`` backend) the volume goes back to
          ``in-use``.

        A volume the database or the volume service cannot be asked about
        now is skipped (the next run tries again).  Returns how many
        volumes were repaired.

        :raises VolumeServiceMisconfigured: the volume backend's own
            credentials cannot see every project's volumes (checked first,
            not met as a VolumeNotFound per volume).
        :raises VolumeServiceUnavailable: they cannot be checked now.
        """
        self.volume_api.check_admin_credentials()
        context = detach_context.get_admin_context()
        now = timeutils.utcnow()
        repaired = 0
        # With the local backend the volumes are in this database: only
        # the mappings of volumes left detaching or available for
        # older_than are read (one statement), not every mapping of the
        # host with a read of its volume each.
        left = {}
        if self.volume_api.shares_database:
            left = {'volume_statuses': (volume_status.DETACHING,
                                        volume_status.AVAILABLE),
                    'volume_changed_before': now - datetime.timedelta(
                        seconds=older_than)}
        for bdm in self.db.bdm_get_all_by_host(context, self.host, **left):
            try:
                volume = self.volume_api.get(context, bdm.volume_id)
                status, since = volume['status'], volume['updated_at']
                if since is not None and (now - since).total_seconds() < (
                        older_than):
                    continue
                if status == volume_status.DETACHING:
                    self._repair_detaching(context, bdm, since)
                elif status == volume_status.AVAILABLE:
                    self._repair_available(context, bdm, since)
                else:
                    continue
                repaired += 1
            except Exception:
                LOG.exception('Could not check or repair volume %(volume)s.',
                              {'volume': bdm.volume_id},
                              instance_uuid=bdm.instance_uuid)
        return repaired

    def _begun_action(self, context, bdm, since):
        """The detach_volume action of the server that began this volume's
        detach, or None: of the server's actions begun after ``since``
        (less a little clock skew) and not finished yet, the one begun
        closest to ``since``.

        An action carries no volume id: on a server with several detaches
        the newest action may be another volume's, already finished (a
        second Success on it, none on this one's).
        """
        since = since or bdm.created_at
        actions = [a for a in self.db.actions_since(
            context, bdm.instance_uuid, 'detach_volume',
            since - datetime.timedelta(seconds=_CLOCK_SKEW))
            if not any(e.finish_time is not None for e in a.events)]
        if not actions:
            return None
        return min(actions, key=lambda a: (
            abs((a.start_time - since).total_seconds()), -a.id))

    def _repair_detaching(self, context, bdm, since):
        action = self._begun_action(context, bdm, since)
        log = {'volume': bdm.volume_id}
        if action is None:
            LOG.warning('Volume %(volume)s was left detaching by a request '
                        'that failed before it was recorded; rolling it '
                        'back to in-use.', log,
                        instance_uuid=bdm.instance_uuid)
            self.volume_api.roll_detaching(context, bdm.volume_id)
            return
        LOG.warning('Volume %(volume)s was left detaching (request '
                    '%(request)s); finishing the detach.',
                    dict(log, request=action.request_id),
                    instance_uuid=bdm.instance_uuid)
        instance = objects.instance_data(objects.instance_primitive(
            self.db.instance_get_full(context, bdm.instance_uuid)))
        self._detach(context, instance, bdm, bdm.attachment_id, action.id)

    def _repair_available(self, context, bdm, since):
        action = self._begun_action(context, bdm, bdm.created_at)
        log = {'volume': bdm.volume_id}
        if action is None:
            if self.volume_api.reattach(context, bdm.volume_id):
                LOG.warning('Volume %(volume)s was available while still '
                            'attached; back to in-use.', log,
                            instance_uuid=bdm.instance_uuid)
            return
        LOG.warning('Volume %(volume)s was detached but its attachment '
                    'was left (request %(request)s); dropping it.',
                    dict(log, request=action.request_id),
                    instance_uuid=bdm.instance_uuid)
        open_events = [e for e in action.events
                       if e.event == 'compute_detach_volume' and
                       e.finish_time is None]
        if open_events:
            self.db.detach_finish(context, bdm.id, None, action.id,
                                  open_events[0].id)
        else:
            event_id = self.db.action_event_start(
                context, action.id, 'compute_detach_volume', self.host)
            self.db.detach_finish(context, bdm.id, None, action.id,
                                  event_id)


# Seconds the API host's clock may differ from the database's between the
# volume's begin-detaching and its instance action.
_CLOCK_SKEW = 5


class ComputeV5Proxy:
    """Compute RPC 5.x: ``detach_volume`` 5.0 has the arguments of 6.0."""

    target = oslo_messaging.Target(version='5.13')

    def __init__(self, manager):
        self.manager = manager

    def detach_volume(self, context, instance, volume_id,
                      attachment_id=None):
        return self.manager.detach_volume(context, instance, volume_id,
                                          attachment_id)
