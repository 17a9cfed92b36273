"""A block storage API for the tests, run on loopback.

It keeps the state rules of Cinder's volume actions that detach_ext uses
(in-use -> detaching -> available; anything else is a 400), answers with
Cinder's fault bodies, requires a token it was told about, and records
every call with the token it carried.
"""

import json
import re
import threading

import webob
import webob.dec

_VOLUME = re.compile(r'^/v3/(?P<project>[^/]+)/volumes/(?P<id>[^/]+)'
                     r'(?P<action>/action)?$')
_ATTACHMENT = re.compile(r'^/v3/(?P<project>[^/]+)/attachments/(?P<id>[^/]+)$')


def _fault(code, name, message):
    return webob.Response(status=code, json={name: {'message': message,
                                                    'code': code}})


class FakeCinder:

    def __init__(self):
        self.volumes = {}
        self.attachments = {}
        self.tokens = set()
        self.calls = []
        self._lock = threading.Lock()

    def add_volume(self, volume_id, status='in-use', attachment_id=None):
        self.volumes[volume_id] = {'id': volume_id, 'status': status,
                                   'attach_status': 'attached' if status in
                                   ('in-use', 'detaching') else 'detached'}
        if attachment_id:
            self.attachments[attachment_id] = volume_id

    def status(self, volume_id):
        return self.volumes[volume_id]['status']

    def actions(self, volume_id=None):
        return [c['action'] for c in self.calls if c['action'] and (
            volume_id is None or c['volume_id'] == volume_id)]

    @webob.dec.wsgify
    def __call__(self, req):
        token = req.headers.get('X-Auth-Token')
        if token not in self.tokens:
            return _fault(401, 'error', 'The request you have made '
                                        'requires authentication.')
        with self._lock:
            return self._handle(req, token)

    def _handle(self, req, token):
        call = {'method': req.method, 'path': req.path, 'token': token,
                'action': None, 'volume_id': None,
                'microversion': req.headers.get('OpenStack-API-Version')}
        self.calls.append(call)
        match = _VOLUME.match(req.path)
        if match:
            volume = self.volumes.get(match.group('id'))
            call['volume_id'] = match.group('id')
            if volume is None:
                return _fault(404, 'itemNotFound', 'Volume %s could not '
                              'be found.' % match.group('id'))
            if req.method == 'GET' and not match.group('action'):
                return webob.Response(json={'volume': dict(volume)})
            if req.method == 'POST' and match.group('action'):
                action, value = next(iter(json.loads(req.body).items()))
                call['action'] = action
                return self._action(volume, action, value)
        match = _ATTACHMENT.match(req.path)
        if match and req.method == 'DELETE':
            call['action'] = 'attachment_delete'
            version = (call['microversion'] or 'volume 3.0').split(' ')[-1]
            if tuple(int(p) for p in version.split('.')) < (3, 27):
                return _fault(404, 'itemNotFound', 'Not found.')
            volume_id = self.attachments.pop(match.group('id'), None)
            if volume_id is None:
                return _fault(404, 'itemNotFound', 'Attachment %s could not'
                              ' be found.' % match.group('id'))
            call['volume_id'] = volume_id
            volume = self.volumes[volume_id]
            volume.update(status='available', attach_status='detached')
            return webob.Response(json={})
        return _fault(404, 'itemNotFound', 'Not found.')

    def _action(self, volume, action, value):
        status = volume['status']
        if action == 'os-begin_detaching':
            if status != 'in-use' or volume['attach_status'] != 'attached':
                return _fault(400, 'badRequest', "Invalid volume: Unable to "
                              "detach volume. Volume status must be 'in-use' "
                              "and attach_status must be 'attached' to "
                              "detach.")
            volume['status'] = 'detaching'
        elif action == 'os-roll_detaching':
            if status == 'detaching':
                volume['status'] = 'in-use'
        elif action == 'os-terminate_connection':
            if not (value or {}).get('connector'):
                return _fault(400, 'badRequest', 'Invalid input: connector')
        elif action == 'os-detach':
            if status not in ('in-use', 'detaching'):
                return _fault(400, 'badRequest', 'Invalid volume: Volume '
                              'must be attached in order to detach.')
            volume.update(status='available', attach_status='detached')
        else:
            return _fault(400, 'badRequest', 'Unknown action %s' % action)
        return webob.Response(status=202)
