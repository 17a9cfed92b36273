"""Requests made up by hypothesis, through the paste-loaded app, with every
service healthy: no answer is a 5xx, every answer carries both request id
headers and (for an error) a JSON fault, and nothing changes in the
database without a 202, after which the volume is detached exactly once.

``DETACH_EXT_FUZZ_EXAMPLES`` sets the examples of the noauth2 pipeline
(300 by default; CI's MariaDB run sets 5000); the keystone ``main``
pipeline runs a quarter as many.  The count run is recorded as the
``fuzz`` detail and, with ``DETACH_EXT_FUZZ_REPORT`` naming a file, appended
to that file as one line (.ci/run prints it).
"""

import json
import os
import string
import time
import urllib.parse
import uuid

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from keystonemiddleware import fixture as ksm_fixture
from testtools import content
import webob

from tests.functional import base
from tests.functional import fixtures as ff
from tests.functional import rows

EXAMPLES = int(os.environ.get('DETACH_EXT_FUZZ_EXAMPLES') or 300)
REPORT = os.environ.get('DETACH_EXT_FUZZ_REPORT')

MAX_BODY = 114688  # oslo.middleware's max_request_body_size

# What the URL's server id names: a server of each state the checks tell
# apart, or none.
SERVER_KINDS = ('active', 'locked', 'other_project', 'deleted', 'error',
                'task_state', 'shelved_offloaded', 'no_host', 'unknown',
                'malformed', 'empty')
# What the URL's attachment id names, for that server.
VOLUME_KINDS = ('attached', 'root', 'available', 'detaching', 'gone',
                'other_server', 'unknown', 'malformed', 'empty')

junk = st.text(st.characters(codec='utf-8', exclude_categories=('Cs',)),
               max_size=12)
versions = st.one_of(
    st.builds('2.{}'.format, st.integers(0, 110)),
    st.sampled_from(['latest', 'LATEST', '', '2', '3.0', '2.01', '1.1',
                     ' 2.20', '2.20 ', 'a.b', '2.1.1', '-1.5']),
    st.text(st.characters(codec='latin-1'), max_size=6))
microversion_headers = st.dictionaries(
    st.sampled_from(['OpenStack-API-Version',
                     'X-OpenStack-Nova-API-Version']),
    st.one_of(versions,
              st.builds('compute {}'.format, versions),
              st.builds('volume {}'.format, versions),
              st.builds('compute {}, compute {}'.format, versions,
                        versions)),
    max_size=2)
other_headers = st.fixed_dictionaries({}, optional={
    'X-Roles': st.sampled_from(['admin', 'member', 'reader', '',
                                'admin,member', 'ADMIN', 'service']),
    'Content-Type': st.sampled_from(['application/json', 'text/plain',
                                     'application/xml', '', 'junk/\x7f',
                                     'application/json; charset=latin-1']),
    'Accept': st.sampled_from(['application/xml', '*/*', 'text/html', '']),
    'X-Openstack-Request-Id': st.sampled_from(
        ['req-%s' % uuid.UUID(int=7), 'junk', '']),
})
bodies = st.one_of(
    st.just(b''),
    st.builds(lambda v: json.dumps(v).encode(), st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(
            st.text(max_size=8), children, max_size=3), max_leaves=8)),
    st.binary(max_size=64),
    st.builds(lambda n, c: c * n, st.integers(MAX_BODY - 8, MAX_BODY + 8),
              st.sampled_from([b'x', b'{', b'\xff'])))


def mostly(usual, *others, weight=4):
    """``usual`` ``weight`` times as often as each of ``others``: most
    requests get far enough to reach the checks behind the first ones."""
    return st.sampled_from([usual] * weight * max(1, len(others)) +
                           list(others))


@st.composite
def plans(draw):
    """A request, with the things named by kind (resolved against the
    deployment by the test) and the rest literal."""
    plan = {
        'method': draw(mostly('DELETE', 'GET', 'HEAD', 'POST', 'PUT',
                              'PATCH', 'OPTIONS', 'FOO', weight=2)),
        'prefix': draw(mostly('/v2/{project}', '/v2.1/{project}', '/v2.1',
                              '/v2', '', '/v3/{project}',
                              '/v2.1/{project}/{project}', weight=1)),
        'project': draw(mostly('own', 'own_upper', 'own_dashed', 'other',
                               'malformed', 'junk')),
        'server': draw(mostly('active', *SERVER_KINDS[1:], weight=2)),
        'volume': draw(mostly('attached', *VOLUME_KINDS[1:], weight=2)),
        'upper': draw(mostly('', 'server', 'volume', 'both', weight=2)),
        'tail': draw(mostly('item', 'collection', 'item/', 'item/junk',
                            'none', 'servers_only')),
        'junk': draw(junk),
        'quote': draw(mostly('none', 'ids', 'all', weight=2)),
        'token': draw(mostly('demo', 'admin', 'other', 'missing', 'empty',
                             'junk', weight=2)),
        'microversion': draw(st.one_of(st.just({}), microversion_headers)),
        'headers': draw(other_headers),
        'body': draw(bodies),
        'length': draw(mostly('right', 'more', 'less', 'junk')),
    }
    if plan['volume'] in ('malformed',):
        plan['volume_text'] = draw(junk)
    if plan['server'] in ('malformed',):
        plan['server_text'] = draw(junk)
    if plan['token'] == 'junk':
        plan['token_text'] = draw(st.text(
            st.characters(codec='latin-1', exclude_characters='\r\n\x00'),
            max_size=20))
    return plan


def fuzz_settings(examples):
    return settings(max_examples=examples, deadline=None, database=None,
                    derandomize=True, print_blob=True,
                    suppress_health_check=list(HealthCheck))


class World:
    """The servers and volumes a plan's kinds name."""

    def __init__(self, dep):
        self.dep = dep
        self.servers = {
            'active': dep.add_server(),
            'locked': dep.add_server(locked=True),
            'other_project': dep.add_server(project=ff.OTHER_PROJECT),
            'deleted': dep.add_server(deleted=True),
            'error': dep.add_server(vm_state='error'),
            'task_state': dep.add_server(task_state='rebooting'),
            'shelved_offloaded': dep.add_server(
                vm_state='shelved_offloaded', host=None),
            'no_host': dep.add_server(host=None),
        }
        self.attached = {}
        self.volumes = {}
        other = dep.add_server()
        for kind, server in self.servers.items():
            self.attached[server] = dep.add_volume(server)
            self.volumes[server] = {
                'root': dep.add_volume(server, boot_index=0),
                'available': dep.add_volume(server, status='available'),
                'detaching': dep.add_volume(server, status='detaching'),
                'gone': dep.add_volume(server, deleted=True),
                'other_server': dep.add_volume(other),
            }

    def server(self, kind):
        if kind == 'unknown':
            return str(uuid.uuid4())
        if kind == 'empty':
            return ''
        return self.servers[kind]

    def volume(self, server, kind):
        if kind == 'unknown':
            return str(uuid.uuid4())
        if kind == 'empty':
            return ''
        if server not in self.attached:
            return self.volume(self.servers['active'], kind)
        if kind == 'attached':
            return self.attached[server]
        return self.volumes[server][kind]

    def detached(self, server):
        """The attached volume of ``server`` was detached: attach a new
        one for the next examples."""
        self.attached[server] = self.dep.add_volume(server)


def _quote(text, how):
    """``text`` for a URL path: every byte percent-encoded (``all``), all
    but the unreserved ones (``ids``), or only what HTTP cannot carry raw
    (``none``: so ``/``, ``%``, ``?`` and ``#`` stay as they are)."""
    if how == 'all':
        return ''.join('%%%02X' % b for b in text.encode('utf-8'))
    if how == 'ids':
        return urllib.parse.quote(text, safe='-._~')
    return urllib.parse.quote(text, safe=string.punctuation)


class FuzzTestCase(base.TestCase):
    pipeline = 'noauth2'
    extra_conf = ''
    examples = EXAMPLES

    def setUp(self):
        super().setUp()
        self.dep = self.useFixture(ff.Deployment(
            pipeline=self.pipeline, extra_conf=self.extra_conf))
        self.worker = self.dep.start_worker(ff.HOST)
        self.world = World(self.dep)
        self.count = 0
        self.answers = {}
        # The database as the last example left it (None: read it again).
        self.last = None

    def token(self, plan):
        kind = plan['token']
        return {'demo': 'demo:%s' % ff.PROJECT,
                'admin': 'admin:%s' % ff.PROJECT,
                'other': 'demo:%s' % ff.OTHER_PROJECT,
                'missing': None, 'empty': '',
                'junk': plan.get('token_text')}[kind]

    def build(self, plan):
        """The webob request of ``plan``, and the (server, volume) it
        names."""
        project = {
            'own': ff.PROJECT, 'own_upper': ff.PROJECT.upper(),
            'own_dashed': str(uuid.UUID(ff.PROJECT)),
            'other': ff.OTHER_PROJECT, 'malformed': ff.PROJECT[:-1] + 'g',
            'junk': plan['junk']}[plan['project']]
        server = (plan.get('server_text', '') if plan['server'] ==
                  'malformed' else self.world.server(plan['server']))
        volume = (plan.get('volume_text', '') if plan['volume'] ==
                  'malformed' else self.world.volume(server,
                                                     plan['volume']))
        server_text = (server.upper() if plan['upper'] in ('server', 'both')
                       else server)
        volume_text = (volume.upper() if plan['upper'] in ('volume', 'both')
                       else volume)
        server_text = _quote(server_text, plan['quote'])
        volume_text = _quote(volume_text, plan['quote'])
        path = plan['prefix'].replace('{project}', _quote(project, 'ids'))
        tail = plan['tail']
        if tail != 'none':
            path += '/servers/' + server_text
            if tail != 'servers_only':
                path += '/os-volume_attachments'
                if tail != 'collection':
                    path += '/' + volume_text
                if tail == 'item/':
                    path += '/'
                elif tail == 'item/junk':
                    path += '/' + _quote(plan['junk'], 'ids')
        req = webob.Request.blank(path, method=plan['method'])
        token = self.token(plan)
        if token is not None:
            req.headers['X-Auth-Token'] = token
        for name, value in list(plan['microversion'].items()) + list(
                plan['headers'].items()):
            req.headers[name] = value
        body = plan['body']
        if body:
            req.body = body
        length = {'right': len(body), 'more': len(body) + 10,
                  'less': max(0, len(body) - 1), 'junk': 'junk'}[
            plan['length']]
        req.environ['CONTENT_LENGTH'] = str(length)
        return req, server, volume

    def snapshot(self):
        return self.dep.snapshot()

    def check(self, plan):
        self.count += 1
        req, server, volume = self.build(plan)
        before, self.last = self.last or self.snapshot(), None
        response = req.get_response(self.dep.app)
        status = response.status_int
        self.answers[status] = self.answers.get(status, 0) + 1
        detail = '%s %s -> %s %s' % (req.method, req.path_qs, status,
                                     response.body[:300])
        self.assertLess(status, 500, detail)
        self.assertRequestIds(response)
        if status >= 400:
            if req.method == 'HEAD':
                self.assertEqual(b'', response.body, detail)
            else:
                self.assertEqual('application/json; charset=UTF-8',
                                 response.headers['Content-Type'], detail)
                body = json.loads(response.body)
                self.assertEqual(1, len(body), detail)
                self.assertEqual(status, list(body.values())[0]['code'],
                                 detail)
                self.assertIsInstance(list(body.values())[0]['message'],
                                      str)
        if status != 202:
            after = self.snapshot()
            self.assertEqual(before, after, detail)
            self.last = after
            return
        self.assertEqual('DELETE', req.method, detail)
        self.assertAccepted(response)
        self.assertEqual(volume, self.world.attached.get(server), detail)
        # Exactly one detach, of the volume the URL names.
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.volume_status(volume) != 'detaching'
            and self.worker.idle(), timeout=30), detail)
        event = ('api_detach_volume' if server ==
                 self.world.servers['shelved_offloaded']
                 else 'compute_detach_volume')
        self.assertEqual(rows.DETACHED, rows.verdict(
            rows.read(self.dep.db.engine), server, volume,
            [response.headers['x-openstack-request-id']], event=event),
            detail)
        self.world.detached(server)

    def run_fuzz(self):
        started = time.monotonic()
        given(plans())(fuzz_settings(self.examples)(
            lambda plan: self.check(plan)))()
        seconds = time.monotonic() - started
        line = ('fuzz %s on %s: %d examples in %.0f s (%.1f ms each); '
                'answers %s' % (
                    self.pipeline, self.dep.db.engine.url.get_backend_name(),
                    self.count, seconds, 1000 * seconds / max(1, self.count),
                    ' '.join('%s x%d' % kv
                             for kv in sorted(self.answers.items()))))
        self.addDetail('fuzz', content.text_content(line))
        if REPORT:
            with open(REPORT, 'a') as f:
                f.write(line + '\n')
        self.assertGreaterEqual(self.count, self.examples)
        # The plans reach every answer the table names, not only 4xx.
        self.assertIn(202, self.answers)


class TestFuzzNoAuth(FuzzTestCase):

    def test_requests_no_5xx_no_change_without_202(self):
        self.run_fuzz()


class TestFuzzKeystone(FuzzTestCase):
    """The ``main`` pipeline: keystonemiddleware's auth_token, with its
    AuthTokenFixture answering the token lookups."""

    pipeline = 'main'
    extra_conf = ff.KEYSTONE_CONF
    examples = max(1, EXAMPLES // 4)

    def setUp(self):
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        super().setUp()
        self.known = {}
        for name, project, roles in (
                ('demo', ff.PROJECT, ['member', 'reader']),
                ('admin', ff.PROJECT, ['admin', 'member', 'reader']),
                ('other', ff.OTHER_PROJECT, ['member', 'reader'])):
            token_id = uuid.uuid4().hex
            self.tokens.add_token_data(
                token_id=token_id, user_id=name, user_name=name,
                project_id=project, project_name=name, role_list=roles)
            self.known[name] = token_id

    def token(self, plan):
        if plan['token'] in self.known:
            return self.known[plan['token']]
        return super().token(plan)

    def test_requests_no_5xx_no_change_without_202(self):
        self.run_fuzz()
