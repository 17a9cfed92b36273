"""The volume API: where the status of a volume lives.

Every backend offers the same five calls; the compute API and the worker
do not know which one they talk to.

``begin_detaching(context, volume_id)``
    compare-and-swap ``in-use`` -> ``detaching``; raises InvalidVolume
    (``already detached`` when the volume is ``available``) or
    VolumeNotFound.
``roll_detaching(context, volume_id)``
    ``detaching`` -> ``in-use`` (the cast failed, or the detach did).
``detach(context, volume_id, attachment_id, connector)``
    ``detaching`` -> ``available`` (the worker finished; ``connector``
    describes the compute host); returns whether this call made the
    change, so a duplicate message changes nothing.
``detach_unplugged(context, volume_id, attachment_id)``
    detach a volume no host has plugged (a shelved offloaded server's)
    in one step; raises as ``begin_detaching`` does when the volume is
    not attached.
``get_status(context, volume_id)``
    the status, or raises VolumeNotFound.
``check_admin_credentials()``
    check that calls with no user (the repair) may read and change every
    project's volumes; raises VolumeServiceMisconfigured saying which
    options to fix.
"""

from detach_ext.volume import cinder
from detach_ext.volume import local


def get_api(conf, db):
    """The volume API the configuration names."""
    if conf.volume.backend == 'cinder':
        return cinder.API(conf)
    return local.API(db)
