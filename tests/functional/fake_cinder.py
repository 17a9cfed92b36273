"""A block storage API for the tests, run on loopback.

It keeps the state rules of Cinder's volume actions that detach_ext uses
(in-use -> detaching -> available; anything else is a 400), answers with
Cinder's fault bodies, requires a token it was told about, and records
every call with the token and the service token it carried.

With ``service_tokens`` set it also refuses, as Cinder 2023.2 and newer
do (bug #2004555), to end a connected attachment for a request without
one of those service tokens: 409 ConflictNovaUsingAttachment.  (The real
Cinder first asks the compute API whether the server still uses the
attachment; detach_ext's own GET still shows it mid-detach, so the answer
is the same.  .ci/cinder-stage shows it against the real Cinder.)

It also answers what a real nova-compute asks when it detaches (the
version document for its microversion check, the full volume body
python-cinderclient reads, the attachment delete at 3.44), so
tests/nova/cinder_standin.py can run it as Nova's block storage API.
"""

import json
import re
import threading
import uuid

from keystoneauth1 import fixture as ksa_fixture
import webob
import webob.dec

_VOLUME = re.compile(r'^/v3/(?P<project>[^/]+)/volumes/(?P<id>[^/]+)'
                     r'(?P<action>/action)?$')
_VOLUMES = re.compile(r'^/v3/(?P<project>[^/]+)/volumes$')
_ATTACHMENT = re.compile(r'^/v3/(?P<project>[^/]+)/attachments/(?P<id>[^/]+)$')


def _fault(code, name, message):
    return webob.Response(status=code, json={name: {'message': message,
                                                    'code': code}})


class FakeCinder:

    # The version document of Cinder's root: nova-compute reads the
    # highest 3.x version here before a microversioned call.
    VERSIONS = {'versions': [{'id': 'v3.0', 'status': 'CURRENT',
                              'version': '3.70', 'min_version': '3.0',
                              'updated': '2023-08-31T00:00:00Z',
                              'links': []}]}

    def __init__(self, any_token=False):
        self.volumes = {}
        self.attachments = {}
        self.tokens = set()
        self.service_tokens = set()
        self.any_token = any_token
        self.calls = []
        # A status every volume call answers instead, with Cinder's body.
        self.fail_with = None
        # {action: status}: what those volume actions answer instead.
        self.fail_actions = {}
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
        if req.method == 'GET' and req.path.rstrip('/') in ('', '/v3'):
            return webob.Response(json=self.VERSIONS)
        token = req.headers.get('X-Auth-Token')
        if token not in self.tokens and not (self.any_token and token):
            return _fault(401, 'error', 'The request you have made '
                                        'requires authentication.')
        if self.fail_with:
            return _fault(self.fail_with, 'error', 'Failing as told.')
        with self._lock:
            return self._handle(req, token)

    def _handle(self, req, token):
        service_token = req.headers.get('X-Service-Token')
        call = {'method': req.method, 'path': req.path, 'token': token,
                'service_token': service_token,
                'action': None, 'volume_id': None,
                'microversion': req.headers.get('OpenStack-API-Version')}
        self.calls.append(call)
        if req.method == 'GET' and _VOLUMES.match(req.path):
            return webob.Response(json={'volumes': [
                {'id': v['id'], 'name': None, 'links': []}
                for v in self.volumes.values()]})
        match = _VOLUME.match(req.path)
        if match:
            volume = self.volumes.get(match.group('id'))
            call['volume_id'] = match.group('id')
            if volume is None:
                return _fault(404, 'itemNotFound', 'Volume %s could not '
                              'be found.' % match.group('id'))
            if req.method == 'GET' and not match.group('action'):
                return webob.Response(json={'volume': self._body(volume)})
            if req.method == 'POST' and match.group('action'):
                action, value = next(iter(json.loads(req.body).items()))
                call['action'] = action
                if action in self.fail_actions:
                    return _fault(self.fail_actions[action], 'error',
                                  'Failing as told.')
                if action in ('os-detach', 'os-terminate_connection'):
                    refused = self._guard(volume, service_token)
                    if refused:
                        return refused
                return self._action(volume, action, value)
        match = _ATTACHMENT.match(req.path)
        if match and req.method == 'DELETE':
            call['action'] = 'attachment_delete'
            version = (call['microversion'] or 'volume 3.0').split(' ')[-1]
            if tuple(int(p) for p in version.split('.')) < (3, 27):
                return _fault(404, 'itemNotFound', 'Not found.')
            volume_id = self.attachments.get(match.group('id'))
            if volume_id is None:
                return _fault(404, 'itemNotFound', 'Attachment %s could not'
                              ' be found.' % match.group('id'))
            call['volume_id'] = volume_id
            volume = self.volumes[volume_id]
            refused = self._guard(volume, service_token)
            if refused:
                return refused
            del self.attachments[match.group('id')]
            volume.update(status='available', attach_status='detached')
            return webob.Response(json={})
        return _fault(404, 'itemNotFound', 'Not found.')

    def _guard(self, volume, service_token):
        """Cinder's refusal to end a connected attachment for a request
        that is not a service's, or None."""
        if (self.service_tokens and service_token not in self.service_tokens
                and volume['attach_status'] == 'attached'):
            return _fault(409, 'conflictingRequest',
                          'Detach volume from instance using the Compute '
                          'API')
        return None

    @staticmethod
    def _body(volume):
        """The volume as Cinder's GET shows it (the fields
        python-cinderclient and Nova's volume API read)."""
        body = {'size': 1, 'availability_zone': 'nova',
                'created_at': '2026-01-01T00:00:00.000000', 'name': None,
                'description': None, 'volume_type': None,
                'snapshot_id': None, 'bootable': 'false', 'metadata': {},
                'attachments': [], 'multiattach': False,
                'shared_targets': False, 'encrypted': False,
                'service_uuid': 'a8bc4ff6-e7a2-4bbd-b4a5-3bd0dfd07b7c'}
        body.update(volume)
        return body

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


class FakeKeystone:
    """Keystone's password authentication (``POST /v3/auth/tokens``) for
    the ``[cinder]`` credentials: a token holding ``roles``, for the
    password ``secret`` only."""

    def __init__(self, roles):
        self.roles = roles

    @webob.dec.wsgify
    def __call__(self, req):
        if req.method != 'POST' or req.path != '/v3/auth/tokens':
            return _fault(404, 'error', 'Not found.')
        user = json.loads(req.body)['auth']['identity']['password']['user']
        if user.get('password') != 'secret':
            return _fault(401, 'error', 'The request you have made requires '
                                        'authentication.')
        token = ksa_fixture.V3Token(user_name=user['name'],
                                    project_name='service')
        for role in self.roles:
            token.add_role(name=role)
        return webob.Response(status=201, json=token,
                              headers={'X-Subject-Token': uuid.uuid4().hex})
