"""The reference compute worker: carries out a cast ``detach_volume``."""

import datetime
import time
import traceback

from oslo_db import exception as db_exc
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
        # The states the repair left alone and has logged, not to log them
        # at every run.
        self._reported = set()

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
        :meth:`repair` recognises, and a database error is treated as one
        (nothing is rolled back for it): the event is recorded first; with
        the ``local`` backend the volume status, the mapping and the
        event's result change in one transaction; with Cinder the mapping
        is dropped (with the event's result) right after Cinder's detach,
        and a crash between the two leaves a live mapping of an
        ``available`` volume.
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
        except db_exc.DBError as exc:
            # The database failed the completion, not the detach: the API
            # answered 202, so the volume is never rolled back for it.
            if self._took_effect(context, bdm):
                # The COMMIT went through and its answer was lost (a retry
                # then met the work done, or a cluster losing a node).
                LOG.warning('Finishing the detach of volume %(volume)s '
                            'raised %(error)s, but it took effect: its '
                            'mapping is gone.', dict(log, error=exc),
                            instance_uuid=instance_uuid)
                self.notifier.detach(context, instance, volume_id, 'end')
                return True
            LOG.warning('Finishing the detach of volume %(volume)s met a '
                        'database error (%(error)s); it stays as it is, '
                        'with its action and open event, for the repair of '
                        'this host to finish.', dict(log, error=exc),
                        instance_uuid=instance_uuid)
            return False
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

    def _took_effect(self, context, bdm):
        """Whether a completion that raised a database error was made all
        the same (its mapping is gone), read back as the API reads back a
        begin whose COMMIT's answer was lost."""
        try:
            return self.db.detach_finished(context, bdm.id)
        except Exception:
            LOG.exception('Could not read back whether the detach of volume '
                          '%s took effect.', bdm.volume_id,
                          instance_uuid=bdm.instance_uuid)
            return False

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
        """Finish or roll back the detaches of this host that detach_ext
        began and left half-done; leave every other state alone.

        Each live mapping of this host's servers whose volume is unsettled
        for ``older_than`` seconds is judged once (:meth:`judge`):

        * ``detaching`` with a ``detach_volume`` action of the server begun
          after the volume went ``detaching`` (and not finished): the API
          answered 202 and cast (or was about to): the detach is finished,
          with a ``compute_detach_volume`` event.
        * ``detaching`` with no such action, which only a request of
          detach_ext's that failed can leave (its client got an error): the
          volume goes back to ``in-use``.  With the ``local`` backend the
          volume table is detach_ext's own, so any ``detaching`` there is
          detach_ext's; with Cinder only a volume the API recorded in
          ``detach_ext_rollbacks`` (a roll back it could not make), since
          Cinder's ``detaching`` may be another's (Nova's swap of a
          volume).
        * ``available`` while the mapping is live, with a detach of the
          worker's begun on it (its ``compute_detach_volume`` event open):
          the block storage service finished, the worker died before
          dropping the mapping; the mapping is dropped.

        Anything else (an ``available`` volume with a live mapping and no
        detach behind it, the contract's "already detached" and what an
        operator's reset of a volume's status leaves; another's
        ``detaching``) is logged once, with what an operator can do, and
        left as it is.  A volume the database or the volume service cannot
        be asked about now is skipped (the next run tries again).

        :returns: how many volumes were repaired.
        :raises VolumeServiceMisconfigured: the volume backend's own
            credentials cannot see every project's volumes (checked first,
            not met as a VolumeNotFound per volume).
        :raises VolumeServiceUnavailable: they cannot be checked now.
        """
        repaired = 0
        for verdict in self.verdicts(older_than):
            if verdict.action == LEAVE:
                self._report_once(verdict)
                continue
            bdm = verdict.bdm
            LOG.warning('Volume %(volume)s was %(why)s; %(do)s.',
                        {'volume': bdm.volume_id, 'why': verdict.why,
                         'do': verdict.action},
                        instance_uuid=bdm.instance_uuid)
            try:
                verdict.apply()
            except Exception:
                LOG.exception('Could not repair volume %(volume)s.',
                              {'volume': bdm.volume_id},
                              instance_uuid=bdm.instance_uuid)
                continue
            repaired += 1
        return repaired

    def verdicts(self, older_than=0):
        """The :class:`Verdict` on each volume of this host unsettled for
        ``older_than`` seconds (what :meth:`repair` would do, and why);
        nothing is changed."""
        self.volume_api.check_admin_credentials()
        context = detach_context.get_admin_context()
        for bdm, volume in self._unsettled(context, older_than):
            try:
                verdict = self.judge(context, bdm, volume)
            except Exception:
                LOG.exception('Could not check volume %(volume)s.',
                              {'volume': bdm.volume_id},
                              instance_uuid=bdm.instance_uuid)
                continue
            if verdict is not None:
                yield verdict

    def _unsettled(self, context, older_than):
        """(mapping, volume) of this host's live mappings whose volume is
        ``detaching`` or ``available`` and has been for ``older_than``."""
        now = timeutils.utcnow()
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
            except Exception:
                LOG.exception('Could not read volume %(volume)s.',
                              {'volume': bdm.volume_id},
                              instance_uuid=bdm.instance_uuid)
                continue
            since = volume['updated_at']
            if volume['status'] not in (volume_status.DETACHING,
                                        volume_status.AVAILABLE):
                continue
            if since is not None and (now - since).total_seconds() < (
                    older_than):
                continue
            yield bdm, volume

    def judge(self, context, bdm, volume):
        """The :class:`Verdict` on one unsettled volume, or None."""
        status, since = volume['status'], volume['updated_at']
        if status == volume_status.DETACHING:
            action = self._begun_action(context, bdm, since)
            if action is not None:
                return Verdict(
                    bdm, status, since, FINISH,
                    'left detaching by request %s, which was answered 202 '
                    'and cast (action %s)' % (action.request_id, action.id),
                    lambda: self._finish_begun(context, bdm, action))
            if self.volume_api.shares_database:
                return Verdict(
                    bdm, status, since, ROLL_BACK,
                    'left detaching by a request that failed before it '
                    'recorded its action, or could not undo its begin; its '
                    'client got an error',
                    lambda: self.volume_api.roll_detaching(context,
                                                           bdm.volume_id))
            rollback = self.db.rollback_get(context, bdm.volume_id)
            if rollback is not None:
                return Verdict(
                    bdm, status, since, ROLL_BACK,
                    'left detaching by request %s, which answered 503 and '
                    'could not set it back to in-use then'
                    % rollback.request_id,
                    lambda: self._roll_back_recorded(context, bdm))
            return Verdict(
                bdm, status, since, LEAVE,
                'detaching at the block storage service with no detach of '
                "detach_ext's behind it (another service's operation, such "
                'as a swap of the volume, or an administrator\'s reset)',
                None)
        action = self._begun_action(context, bdm, bdm.created_at)
        event = action and _open_detach_event(action)
        if event is not None:
            return Verdict(
                bdm, status, since, DROP_MAPPING,
                'detached by request %s at the block storage service, its '
                'mapping left behind (the worker stopped between the two)'
                % action.request_id,
                lambda: self.db.detach_finish(context, bdm.id, None,
                                              action.id, event.id))
        return Verdict(
            bdm, status, since, LEAVE,
            'available while its mapping to the server is live, with no '
            "detach of detach_ext's behind it: the contract's \"already "
            'detached\" (a DELETE answers 400), or an administrator\'s '
            'reset of the volume\'s status.  If the server no longer uses '
            'the volume, delete the mapping (block_device_mapping row %s); '
            'if it does, set the volume back to in-use' % bdm.id,
            None)

    def _report_once(self, verdict):
        """Log a state the repair leaves alone, once per state."""
        key = (verdict.bdm.id, verdict.status, verdict.since)
        if key in self._reported:
            return
        self._reported.add(key)
        LOG.warning('Volume %(volume)s: %(why)s.  Left as it is.',
                    {'volume': verdict.bdm.volume_id, 'why': verdict.why},
                    instance_uuid=verdict.bdm.instance_uuid)

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

    def _finish_begun(self, context, bdm, action):
        instance = objects.instance_data(objects.instance_primitive(
            self.db.instance_get_full(context, bdm.instance_uuid)))
        self._detach(context, instance, bdm, bdm.attachment_id, action.id)

    def _roll_back_recorded(self, context, bdm):
        self.volume_api.roll_detaching(context, bdm.volume_id)
        self.db.rollback_destroy(context, bdm.volume_id)


def _open_detach_event(action):
    """The action's ``compute_detach_volume`` event not finished yet, or
    None."""
    for event in action.events:
        if event.event == 'compute_detach_volume' and (
                event.finish_time is None):
            return event
    return None


# What the repair does with a volume (Verdict.action).
FINISH = 'finishing the detach'
ROLL_BACK = 'rolling it back to in-use'
DROP_MAPPING = 'dropping the mapping'
LEAVE = 'leaving it alone'


class Verdict:
    """What the repair does with one unsettled volume, and why.

    :param apply: a callable making the change (None for LEAVE).
    """

    def __init__(self, bdm, status, since, action, why, apply):
        self.bdm = bdm
        self.status = status
        self.since = since
        self.action = action
        self.why = why
        self.apply = apply

    def __str__(self):
        return ('volume %s of server %s: %s since %s: %s (%s)'
                % (self.bdm.volume_id, self.bdm.instance_uuid, self.status,
                   self.since, self.action, self.why))


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
