"""Read the state of detaches back from the database, row by row.

Shared by the process tests, the request fuzz and ``tools/soak.py``: each
volume of a deployment ends in one of two states, and :func:`verdict`
says which one (or what else it found).
"""

import collections

import sqlalchemy as sa

from detach_ext.db import models

# What a volume's rows say about its detach (see verdict()).
ATTACHED = 'attached'
DETACHED = 'detached'


def read(engine):
    """The rows a detach touches, per volume and per server.

    :returns: dict with ``volumes`` (volume id -> status), ``bdms`` (volume
        id -> list of (instance_uuid, deleted) of its mappings), ``actions``
        (instance uuid -> list of (request_id, [(event, result,
        finished)])) and ``faults`` (instance uuid -> count).
    """
    bdms = collections.defaultdict(list)
    actions = collections.defaultdict(list)
    faults = collections.Counter()
    with engine.connect() as conn:
        volumes = dict(conn.execute(sa.select(
            models.Volume.id, models.Volume.status)).all())
        t = models.BlockDeviceMapping
        for volume, instance, deleted in conn.execute(sa.select(
                t.volume_id, t.instance_uuid, t.deleted).order_by(t.id)):
            bdms[volume].append((instance, int(deleted)))
        events = collections.defaultdict(list)
        e = models.InstanceActionEvent
        for action_id, event, result, finish in conn.execute(sa.select(
                e.action_id, e.event, e.result, e.finish_time).order_by(
                e.id)):
            events[action_id].append((event, result, finish is not None))
        a = models.InstanceAction
        for action_id, instance, request_id, name in conn.execute(sa.select(
                a.id, a.instance_uuid, a.request_id, a.action).order_by(
                a.id)):
            assert name == 'detach_volume', name
            actions[instance].append((request_id, events[action_id]))
        f = models.InstanceFault
        for (instance,) in conn.execute(sa.select(f.instance_uuid)):
            faults[instance] += 1
    return {'volumes': volumes, 'bdms': dict(bdms),
            'actions': dict(actions), 'faults': faults}


def verdict(state, server, volume, request_ids=(),
            event='compute_detach_volume'):
    """The end state of one volume attached (once) to ``server``.

    :param request_ids: the request ids of the DELETEs of this volume that
        were answered 202 (at most one may be).
    :param event: the event that finishes the detach (``api_detach_volume``
        for a shelved offloaded server, which the API detaches itself).
    :returns: ATTACHED (volume in-use, mapping live, no action of these
        requests), DETACHED (volume available, its one mapping soft-deleted,
        exactly one action of the 202's request whose one finished
        compute_detach_volume event is a Success), or a sentence saying what is
        wrong.
    """
    status = state['volumes'].get(volume)
    mappings = [d for i, d in state['bdms'].get(volume, ()) if i == server]
    if len(mappings) != 1:
        return 'volume %s has %d mappings: %r' % (volume, len(mappings),
                                                  mappings)
    live = mappings[0] == 0
    request_ids = list(request_ids)
    if len(request_ids) > 1:
        return 'volume %s: %d requests answered 202' % (volume,
                                                        len(request_ids))
    if status == 'in-use' and live:
        return ATTACHED
    if status == 'available' and not live:
        if not request_ids:
            return DETACHED  # the caller decides whether a 202 was due
        found = [events for rid, events in state['actions'].get(server, ())
                 if rid == request_ids[0]]
        if len(found) != 1:
            return 'volume %s: %d actions of request %s' % (
                volume, len(found), request_ids[0])
        # A worker killed mid-detach leaves its event unfinished beside
        # the one of the repair that finished the detach.
        finished = [e for e in found[0] if e[0] == event and e[2]]
        if finished != [(event, 'Success', True)]:
            return 'volume %s: events %r' % (volume, found[0])
        return DETACHED
    return 'volume %s is %r with its mapping %s' % (
        volume, status, 'live' if live else 'deleted')
