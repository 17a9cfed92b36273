"""The detach operation: lookups, state rules, begin-detaching, cast."""

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils

from detach_ext.compute import objects
from detach_ext.compute import states
from detach_ext.db import api as db_api
from detach_ext import exception

LOG = logging.getLogger(__name__)


def check_instance_lock(context, instance):
    """A locked server refuses everyone but administrators."""
    if instance.locked and not context.is_admin:
        raise exception.InstanceIsLocked(instance_uuid=instance.uuid)


def check_instance_state(instance, method, vm_states, task_states):
    """Raise InstanceInvalidState (409) unless the server is in a state
    ``method`` is allowed in."""
    for attr, allowed in (('vm_state', vm_states),
                          ('task_state', task_states)):
        state = getattr(instance, attr)
        if state not in allowed:
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance.uuid, attr=attr,
                state=state)


def _project_filter(context, instance_id):
    """The project whose servers the caller may see: None (every project)
    for an administrator, else the caller's own.

    :raises InstanceNotFound: for a system- or domain-scoped token of a
        non-administrator, which owns no server (Nova's project filter
        finds none either).
    """
    if context.is_admin:
        return None
    if not context.project_id:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return context.project_id


# look_check_begin's answer when the volume was no longer in-use.
_LOST = object()


class Record:
    """A row's columns as attributes (the lookup's instance and
    attachment), with the cell it was read from."""

    def __init__(self, columns, cell=None):
        self.__dict__.update(columns)
        self.cell = cell


def check_compute_is_up(services, down_time):
    """Raise ComputeServiceDown (409) if the server's host has a
    nova-compute service that is down, as Nova's API checks before it
    casts: forced down, or not seen for ``down_time`` seconds.

    A host with no nova-compute row (detach_ext's reference workers do not
    register one) is not checked.
    """
    computes = [s for s in services or () if s['binary'] == 'nova-compute']
    if not computes:
        return
    service = computes[0]
    if service.get('forced_down'):
        raise exception.ComputeServiceDown()
    seen = (service.get('last_seen_up') or service.get('updated_at') or
            service.get('created_at'))
    if seen is None or abs(
            (timeutils.utcnow() - seen).total_seconds()) > down_time:
        raise exception.ComputeServiceDown()


class API:
    """The compute API for detaching.

    :param cells: where servers live (:mod:`detach_ext.cells`); each cell
        has its database, volume backend and compute RPC client.
    :param notifier: a :class:`detach_ext.compute.notifications.Notifier`
        of this API host, for the detaches the API finishes itself.
    :param host: this API host's name (``[DEFAULT] host``), in the events
        of those detaches.
    :param service_down_time: seconds after its last report that a
        nova-compute counts as down (``[DEFAULT] service_down_time``).
    """

    def __init__(self, cells, notifier=None, host=None,
                 service_down_time=60):
        self.cells = cells
        self.service_down_time = service_down_time
        self.notifier = notifier
        self.host = host

    def get_instance(self, context, instance_id):
        """A live server the caller may see: their project's, or any for
        an administrator.  The instance carries its ``cell``, where
        everything else about it is read and changed."""
        project_id = _project_filter(context, instance_id)
        cell = self.cells.cell_of(context, instance_id)
        instance = cell.db.instance_get_by_uuid(context, instance_id,
                                                project_id=project_id)
        if instance is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        instance.cell = cell
        return instance

    def get_attachment(self, context, instance, volume_id):
        bdm = instance.cell.db.bdm_get_by_volume_and_instance(
            context, volume_id, instance.uuid)
        if bdm is None:
            raise exception.VolumeNotAttached(instance_uuid=instance.uuid,
                                              volume_id=volume_id)
        return bdm

    def get_attachments(self, context, instance):
        """The live volume attachments of a server, oldest first."""
        return instance.cell.db.bdm_get_volumes_by_instance(context,
                                                            instance.uuid)

    def detach_volume(self, context, instance_id, volume_id, authorize,
                      allow_shelved=True):
        """Detach volume ``volume_id`` from server ``instance_id``: look
        up, check, mark the volume detaching and cast to the compute host
        (or, for a shelved offloaded server, finish here).

        The server, its attachment and all the cast carries are read in
        one statement, and with the ``local`` volume backend the volume's
        compare-and-swap and the instance action are written in the same
        transaction (one connection, one commit).  Nothing is left changed
        when this raises before the cast; a failed cast is undone.

        :param authorize: called with the server once found (the policy
            check, row 5 of the table); it raises to refuse.
        :param allow_shelved: whether shelved servers may detach (the
            caller's microversion is 2.20 or later).
        """
        project_id = _project_filter(context, instance_id)
        cell = self.cells.cell_of(context, instance_id)
        in_database = cell.volume_api.shares_database

        # What the block wrote before its COMMIT: if the COMMIT's answer
        # is lost, whether it took effect is found out from this.
        begun = []

        @db_api.retry_on_deadlock
        def look_check_begin():
            del begun[:]
            with cell.db.transaction(context):
                try:
                    instance, bdm, full = self._lookup(
                        context, cell, instance_id, volume_id, project_id)
                except db_exc.DBConnectionError as exc:
                    # Lost before anything was written (a connection the
                    # server dropped while it sat in the pool): run the
                    # block again, on a new connection.
                    raise db_exc.RetryRequest(exc) from exc
                authorize(instance)
                if (instance.vm_state in states.SHELVED_STATES and
                        not allow_shelved):
                    # Before 2.20 Nova refuses a shelved server right
                    # after policy, before it looks at the attachment.
                    raise exception.InstanceInvalidState(
                        method='detach_volume', instance_uuid=instance.uuid,
                        attr='vm_state', state=instance.vm_state)
                if bdm is None:
                    raise exception.VolumeNotAttached(
                        instance_uuid=instance.uuid, volume_id=volume_id)
                self._check(context, instance, bdm, full)
                action_id = None
                if (instance.vm_state != states.SHELVED_OFFLOADED and
                        in_database):
                    # The volume and the action that a nova-compute needs
                    # to find when the message arrives, together.
                    action_id = cell.db.detach_begin(context, instance.uuid,
                                                     volume_id)
                    if action_id is None:
                        return instance, bdm, full, _LOST
                    begun.append((instance, bdm, full, action_id))
                return instance, bdm, full, action_id

        try:
            instance, bdm, full, action_id = look_check_begin()
        except db_exc.DBError as exc:
            if not begun:
                raise
            # The COMMIT of the begin was sent and failed, or its answer
            # was lost (a Galera cluster stalls commits while it loses a
            # node, longer than a query's timeout): find out.
            instance, bdm, full, action_id = begun[0]
            self._begin_outcome(context, instance, bdm, exc)
        if action_id is _LOST:
            # Said from a read of its own: inside the transaction a
            # consistent read (InnoDB's repeatable read) still shows the
            # status from before the winner's commit.
            raise cell.volume_api.refusal(context, volume_id)
        if instance.vm_state == states.SHELVED_OFFLOADED:
            return self._detach_volume_shelved_offloaded(context, instance,
                                                         bdm, full)
        if not in_database:
            action_id = self._begin_at_volume_service(context, instance,
                                                      volume_id)
        try:
            cell.compute_rpcapi.detach_volume(
                context, objects.instance_primitive(full), volume_id,
                bdm.attachment_id)
        except Exception as exc:
            LOG.exception('Recording or casting detach_volume of volume '
                          '%(volume)s to host %(host)s failed; undoing.',
                          {'volume': volume_id, 'host': instance.host},
                          instance_uuid=instance.uuid)
            outcome = self._undo_begin(context, instance, volume_id,
                                       action_id)
            if isinstance(exc, db_exc.DBError):
                raise exception.DatabaseUnavailable(outcome) from exc
            raise exception.ComputeUnavailable(outcome) from exc
        LOG.info('Detaching volume %(volume)s: cast to host %(host)s.',
                 {'volume': volume_id, 'host': instance.host},
                 instance_uuid=instance.uuid)

    def _begin_outcome(self, context, instance, bdm, error):
        """Whether the begin's COMMIT that raised ``error`` took effect:
        returns if it did (the detach goes on: cast, 202); raises the 503
        that says what became of it otherwise.

        The volume's row is read with a lock on new connections, again
        until ``[detach_ext_database] commit_outcome_timeout``: on the
        database node of the COMMIT a locking read waits for that
        transaction to end (committed or rolled back), so what it then sees
        is the outcome (on Galera, causal reads see a dead node's last write
        set too).  If the database cannot be asked within that time the
        outcome stays unknown and the 503 says so; nothing is cast (its
        bound would come on top): if the begin was recorded, the repair of
        the server's host finishes the detach.
        """
        cell = instance.cell
        volume_id = bdm.volume_id
        LOG.warning('The COMMIT of the detach of volume %(volume)s failed '
                    'or its answer was lost (%(error)s); reading back '
                    'whether it took effect.',
                    {'volume': volume_id, 'error': error},
                    instance_uuid=instance.uuid)
        try:
            committed = cell.db.detach_begin_committed(
                context, instance.uuid, volume_id)
        except db_exc.DBError:
            # No cast: its bound would come on top.  If the begin was
            # recorded, the volume is detaching with its action, which the
            # repair of the server's host finishes.
            LOG.exception('Could not find out whether the detach of volume '
                          '%(volume)s was recorded; if it was, the repair '
                          'of host %(host)s finishes it.',
                          {'volume': volume_id, 'host': instance.host},
                          instance_uuid=instance.uuid)
            raise exception.DatabaseUnavailable(
                exception.UNKNOWN_OUTCOME) from error
        if not committed:
            LOG.info('The detach of volume %s was not recorded.', volume_id,
                     instance_uuid=instance.uuid)
            raise exception.DatabaseUnavailable() from error
        LOG.info('The detach of volume %s was recorded; going on.',
                 volume_id, instance_uuid=instance.uuid)

    def _begin_at_volume_service(self, context, instance, volume_id):
        """Record the action, then begin detaching at the block storage
        service (Cinder's compare-and-swap).

        The action goes first: a process killed between the two leaves an
        action beside an ``in-use`` volume (nothing to repair), or a
        ``detaching`` volume with its action, which the repair finishes
        (the client's answer was lost): never a ``detaching`` volume of no
        request, which the repair could not tell from another service's.

        :returns: the action's id.
        """
        cell = instance.cell
        try:
            action_id = cell.db.action_start(context, instance.uuid,
                                             'detach_volume')
        except db_exc.DBError as exc:
            LOG.exception('Recording the detach of volume %s failed.',
                          volume_id, instance_uuid=instance.uuid)
            raise exception.DatabaseUnavailable() from exc
        try:
            cell.volume_api.begin_detaching(context, volume_id)
        except Exception:
            # Refused or unreachable: nothing began but the action.
            self._undo_begin(context, instance, None, action_id)
            raise
        return action_id

    @staticmethod
    def _lookup(context, cell, instance_id, volume_id, project_id):
        found = cell.db.detach_lookup(context, instance_id, volume_id,
                                      project_id=project_id)
        if found is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        row, attachment, full = found
        instance = Record(row, cell=cell)
        bdm = Record(attachment) if attachment is not None else None
        return instance, bdm, full

    def _check(self, context, instance, bdm, full):
        """Rows 7 to 10 of the table, then what Nova checks before it
        casts (a host, and its nova-compute up)."""
        if bdm.boot_index == 0:
            raise exception.CantDetachRootDevice()
        check_instance_lock(context, instance)
        check_instance_state(instance, 'detach_volume',
                             states.DETACH_VOLUME_VM_STATES,
                             states.DETACH_VOLUME_TASK_STATES)
        if instance.vm_state == states.SHELVED_OFFLOADED:
            return
        if not instance.host:
            raise exception.InstanceNotOnHost(method='detach_volume',
                                              instance_uuid=instance.uuid)
        check_compute_is_up(full.get('services'), self.service_down_time)

    def _detach_volume_shelved_offloaded(self, context, instance, bdm,
                                         full):
        """Finish the detach here: no host has the volume plugged.

        As Nova's API does for a shelved offloaded server: the volume is
        detached at the volume service, the mapping soft-deleted, and the
        ``detach_volume`` action recorded with an ``api_detach_volume``
        event; nothing is cast.  A volume service that refuses or cannot
        be reached leaves everything as it was.
        """
        cell = instance.cell
        instance_data = objects.instance_data(
            objects.instance_primitive(full))
        action_id = event_id = None
        try:
            action_id = cell.db.action_start(context, instance.uuid,
                                             'detach_volume')
            event_id = cell.db.action_event_start(
                context, action_id, 'api_detach_volume', self.host)
        except db_exc.DBError as exc:
            LOG.exception('Recording the detach of volume %s failed.',
                          bdm.volume_id, instance_uuid=instance.uuid)
            self._undo_begin(context, instance, None, action_id)
            raise exception.DatabaseUnavailable() from exc
        self._notify(context, instance_data, bdm.volume_id, 'start')
        try:
            cell.volume_api.detach_unplugged(context, bdm.volume_id,
                                             bdm.attachment_id)
        except Exception as exc:
            self._undo_begin(context, instance, None, action_id)
            self._notify(context, instance_data, bdm.volume_id, 'error',
                         exc)
            raise
        cell.db.bdm_destroy(context, bdm.id)
        cell.db.action_event_finish(context, action_id, event_id, 'Success')
        self._notify(context, instance_data, bdm.volume_id, 'end')
        LOG.info('Detached volume %(volume)s from the shelved offloaded '
                 'server.', {'volume': bdm.volume_id},
                 instance_uuid=instance.uuid)

    def _notify(self, context, instance_data, volume_id, phase, exc=None):
        if self.notifier is not None:
            self.notifier.detach(context, instance_data, volume_id, phase,
                                 exc)

    def _undo_begin(self, context, instance, volume_id, action_id):
        """Undo a begun detach; returns what becomes of it.

        Each step is tried even when the one before failed.  The action
        goes first: a volume left detaching without its action is what the
        compute host's repair rolls back, and a cast that still arrives is
        refused for want of it.  A volume left detaching with its action
        is a detach the compute host (or its repair) finishes.

        :returns: ``exception.UNDONE``, ``ROLLS_BACK_LATER``,
            ``FINISHES_LATER`` or ``LEFT_DETACHING``.
        """
        cell = instance.cell
        action_left = False
        if action_id is not None:
            try:
                cell.db.action_destroy(context, action_id)
            except Exception:
                action_left = True
                LOG.exception('Could not remove instance action %s.',
                              action_id, instance_uuid=instance.uuid)
        if volume_id is None:
            return exception.UNDONE
        try:
            cell.volume_api.roll_detaching(context, volume_id)
        except Exception:
            LOG.exception('Could not roll volume %(volume)s back to in-use: '
                          'it stays detaching until host %(host)s or its '
                          'repair settles it.',
                          {'volume': volume_id, 'host': instance.host},
                          instance_uuid=instance.uuid)
            if action_left:
                return exception.FINISHES_LATER
            if cell.volume_api.shares_database:
                # detach_ext's own table: the repair knows its detaching.
                return exception.ROLLS_BACK_LATER
            try:
                cell.db.rollback_create(context, volume_id, instance.uuid)
            except Exception:
                LOG.exception('Could not record the roll back volume '
                              '%(volume)s needs: an administrator must set '
                              'it back to in-use.', {'volume': volume_id},
                              instance_uuid=instance.uuid)
                return exception.LEFT_DETACHING
            return exception.ROLLS_BACK_LATER
        return exception.UNDONE
