"""tests/functional/fake_cinder.py as its own process: Nova's block storage
API for the Nova stage (tests/nova/stage.py).

    python -m tests.nova.cinder_standin PORT_FILE

It listens on a free loopback port (written to PORT_FILE once it is
serving), accepts any token, and adds a control API for the stage:

    POST /_standin/volumes         {"id", "status", "attachment_id"}
    GET  /_standin/volumes/{id}    the volume, its live attachment ids and
                                   the calls made for it

Under ``/placement`` it answers only placement's version document: Nova's
services build a placement client at start-up (version discovery) and
refuse to start without one; the stage runs no placement, so their
resource reports fail and are logged, which a detach does not need.
"""

import json
import os
import sys

import webob
import webob.dec

from detach_ext import server as embedded_server
from tests.functional import fake_cinder


class StandIn:

    def __init__(self):
        self.cinder = fake_cinder.FakeCinder(any_token=True)

    PLACEMENT_VERSIONS = {'versions': [{
        'id': 'v1.0', 'max_version': '1.39', 'min_version': '1.0',
        'status': 'CURRENT', 'links': [{'rel': 'self',
                                        'href': ''}]}]}

    @webob.dec.wsgify
    def __call__(self, req):
        if req.path.startswith('/placement'):
            if req.path.rstrip('/') == '/placement':
                return webob.Response(json=self.PLACEMENT_VERSIONS)
            return webob.Response(status=503, json={'errors': [{
                'status': 503, 'title': 'No placement in this stage'}]})
        if not req.path.startswith('/_standin/'):
            return req.get_response(self.cinder)
        parts = req.path.split('/')[2:]
        with self.cinder._lock:
            if parts == ['volumes'] and req.method == 'POST':
                body = json.loads(req.body)
                self.cinder.add_volume(body['id'], body.get('status',
                                                            'in-use'),
                                       body.get('attachment_id'))
                return webob.Response(status=201, json={})
            if len(parts) == 2 and parts[0] == 'volumes':
                volume_id = parts[1]
                volume = self.cinder.volumes.get(volume_id)
                if volume is None:
                    return webob.Response(status=404, json={})
                return webob.Response(json={
                    'volume': dict(volume),
                    'attachments': sorted(
                        a for a, v in self.cinder.attachments.items()
                        if v == volume_id),
                    'calls': [dict(c, token=None)
                              for c in self.cinder.calls
                              if c['volume_id'] == volume_id or
                              volume_id in c['path']]})
        return webob.Response(status=404, json={})


def main():
    port_file = sys.argv[1]
    # The embedded server of detach-ext-api, as the functional tests serve
    # fake_cinder.
    server = embedded_server.Server(StandIn(), '127.0.0.1', 0)
    tmp = port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(server.port))
    os.rename(tmp, port_file)
    server.serve()


if __name__ == '__main__':
    main()
