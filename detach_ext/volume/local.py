"""Volume status kept in a table of the compute database (the default)."""

from detach_ext import exception

AVAILABLE = 'available'
IN_USE = 'in-use'
DETACHING = 'detaching'


class API:
    """The ``local`` volume backend.

    :param db: the :class:`detach_ext.db.api.Database` holding the
        ``detach_ext_volumes`` table.
    """

    # The table is in the compute database: the worker finishes the volume
    # and the mapping in one transaction (Database.detach_finish).
    shares_database = True

    def __init__(self, db):
        self.db = db

    def check_admin_credentials(self):
        """The table needs no credentials."""

    def get(self, context, volume_id):
        """``{'status', 'updated_at'}`` of a volume."""
        volume = self.db.volume_get(context, volume_id)
        if volume is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return {'status': volume.status,
                'updated_at': volume.updated_at or volume.created_at}

    def get_status(self, context, volume_id):
        return self.get(context, volume_id)['status']

    def begin_detaching(self, context, volume_id):
        self._swap_from_in_use(context, volume_id, DETACHING)

    def detach_unplugged(self, context, volume_id, attachment_id=None):
        self._swap_from_in_use(context, volume_id, AVAILABLE)

    def _swap_from_in_use(self, context, volume_id, status):
        if self.db.volume_update_status_on_match(
                context, volume_id, IN_USE, status):
            return
        raise self.refusal(context, volume_id)

    def refusal(self, context, volume_id):
        """The InvalidVolume (or VolumeNotFound) of a volume whose
        compare-and-swap from ``in-use`` failed, saying why."""
        try:
            status = self.get_status(context, volume_id)
        except exception.VolumeNotFound as exc:
            return exc
        if status == AVAILABLE:
            return exception.InvalidVolume(reason='already detached')
        return exception.InvalidVolume(
            reason="volume %s is '%s', not 'in-use'" % (volume_id, status))

    def roll_detaching(self, context, volume_id):
        return self.db.volume_update_status_on_match(
            context, volume_id, DETACHING, IN_USE)

    def detach(self, context, volume_id, attachment_id=None, connector=None):
        return self.db.volume_update_status_on_match(
            context, volume_id, DETACHING, AVAILABLE)
