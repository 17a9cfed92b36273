"""gunicorn configuration of the API-kill process test: hold a worker at
a chosen point of a detach, so the test can ``kill -9`` it there.

Loaded with ``gunicorn -c tests/functional/kill_points.py``; nothing of
detach_ext's own code knows about it.  In each worker process, after the
app is loaded, it wraps two methods of detach_ext from the outside:

* ``Database.detach_begin`` (the compare-and-swap and the instance
  action, inside the transaction, before its COMMIT): point
  ``before_commit``;
* ``ComputeAPI.detach_volume`` (the cast): points ``before_cast`` (the
  transaction committed, nothing cast yet), ``casting`` (noted, not held:
  the cast then goes on, into a broker the test has stalled) and
  ``after_cast`` (cast and confirmed, the answer not yet written).

A point is armed for one volume by a file ``<volume>.<point>`` in
``$DETACH_EXT_TEST_KILL_DIR``; a worker reaching it writes
``<volume>.<point>.reached`` (its pid and the request id) and, but at
``casting``, sleeps until it is killed.
"""

import os
import time

KILL_DIR = os.environ.get('DETACH_EXT_TEST_KILL_DIR', '')


def _point(volume_id, point, request_id, hold=True):
    base = os.path.join(KILL_DIR, '%s.%s' % (volume_id, point))
    if not KILL_DIR or not os.path.exists(base):
        return
    with open(base + '.reached.tmp', 'w') as f:
        f.write('%d %s\n' % (os.getpid(), request_id))
    os.rename(base + '.reached.tmp', base + '.reached')
    while hold:
        time.sleep(1)


def post_worker_init(worker):
    from detach_ext.compute import rpcapi
    from detach_ext.db import api as db_api

    detach_begin = db_api.Database.detach_begin
    cast = rpcapi.ComputeAPI.detach_volume

    def held_detach_begin(self, context, instance_uuid, volume_id,
                          *args, **kwargs):
        found = detach_begin(self, context, instance_uuid, volume_id,
                             *args, **kwargs)
        _point(volume_id, 'before_commit', context.request_id)
        return found

    def held_cast(self, ctxt, instance, volume_id, *args, **kwargs):
        _point(volume_id, 'before_cast', ctxt.request_id)
        _point(volume_id, 'casting', ctxt.request_id, hold=False)
        result = cast(self, ctxt, instance, volume_id, *args, **kwargs)
        _point(volume_id, 'after_cast', ctxt.request_id)
        return result

    db_api.Database.detach_begin = held_detach_begin
    rpcapi.ComputeAPI.detach_volume = held_cast
