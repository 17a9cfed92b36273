"""The default pipeline authenticates with keystonemiddleware auth_token.

keystonemiddleware's own AuthTokenFixture stands in for Keystone: the
real AuthProtocol runs, only its token lookup is answered by the fixture.
"""

import io
import logging
import socket
import uuid

from keystoneauth1 import fixture as ksa_fixture
from keystonemiddleware import fixture as ksm_fixture
from oslo_context import context
from oslo_log import formatters

from tests.functional import base
from tests.functional import fixtures as ff


class KeystonePipelineTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        self.dep = self.useFixture(ff.Deployment(pipeline='main',
                                                 extra_conf=ff.KEYSTONE_CONF))
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server)

    def token(self, project=ff.PROJECT, roles=('member', 'reader')):
        # keystonemiddleware 13.0.1's add_token_data() returns None when
        # it makes up the token id itself, so the id is chosen here.
        token_id = uuid.uuid4().hex
        self.tokens.add_token_data(
            token_id=token_id, user_id='u1', user_name='alice',
            project_id=project, project_name='demo', role_list=list(roles))
        return token_id

    def test_valid_token_202_with_its_project_and_roles(self):
        response = self.dep.delete(self.server, self.volume,
                                   token=self.token())
        self.assertAccepted(response)
        self.assertTrue(self.dep.wait_for(lambda: self.worker.received))
        context = self.worker.received[0]['context']
        self.assertEqual(ff.PROJECT, context.project_id)
        self.assertEqual('u1', context.user_id)
        self.assertEqual(['member', 'reader'], sorted(context.roles))

    def test_token_of_other_project_400(self):
        response = self.dep.delete(self.server, self.volume,
                                   token=self.token(ff.OTHER_PROJECT))
        self.assertFault(
            response, 400, 'badRequest',
            "Malformed request URL: URL's project_id '%s' doesn't match "
            "Context's project_id '%s'" % (ff.PROJECT, ff.OTHER_PROJECT))

    def test_token_roles_reach_policy_403(self):
        response = self.dep.delete(self.server, self.volume,
                                   token=self.token(roles=['reader']))
        self.assertFault(response, 403, 'forbidden')

    def test_missing_token_401(self):
        req_path = '/v2/%s/servers/%s/os-volume_attachments/%s' % (
            ff.PROJECT, self.server, self.volume)
        response = self.dep.request(req_path, 'DELETE')
        self.assertFault(response, 401, 'unauthorized')
        self.assertIn('WWW-Authenticate', response.headers)
        self.assertEqual([], self.worker.received)

    def test_unknown_token_401(self):
        response = self.dep.delete(self.server, self.volume,
                                   token='not-a-token')
        self.assertFault(response, 401, 'unauthorized')
        self.assertEqual('in-use', self.dep.volume_status(self.volume))

    def test_client_identity_headers_are_not_trusted(self):
        response = self.dep.delete(
            self.server, self.volume, token='not-a-token',
            headers={'X-Identity-Status': 'Confirmed',
                     'X-Project-Id': ff.PROJECT, 'X-User-Id': 'u1',
                     'X-Roles': 'admin'})
        self.assertFault(response, 401, 'unauthorized')

    def capture_logs(self):
        """Lines of detach_ext and keystonemiddleware as oslo.log formats
        them in production (request id and user from the current
        context)."""
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatters.ContextFormatter(
            project='detach_ext', config=self.dep.conf))
        for name in ('detach_ext', 'keystonemiddleware'):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            self.addCleanup(logger.removeHandler, handler)
            self.addCleanup(logger.setLevel, logger.level)
            logger.setLevel(logging.INFO)
        return stream

    def test_failed_authentication_logs_its_own_request_id(self):
        # Both requests in this thread: the first one's context must not
        # be what the second one's log lines are written under.
        logs = self.capture_logs()
        first = self.dep.delete(self.server, self.volume,
                                token=self.token())
        self.assertAccepted(first)
        self.assertTrue(self.dep.wait_for(self.worker.idle))
        logs.seek(0)
        logs.truncate()
        second = self.dep.delete(self.server, self.volume,
                                 token='not-a-token')
        self.assertFault(second, 401, 'unauthorized')
        lines = logs.getvalue().splitlines()
        self.assertNotEqual([], lines)
        second_id = second.headers['x-openstack-request-id']
        first_id = first.headers['x-openstack-request-id']
        for line in lines:
            self.assertIn(second_id, line)
            self.assertNotIn(first_id, line)
            self.assertNotIn('u1', line)
            self.assertNotIn('alice', line)

    def test_no_context_is_left_behind(self):
        self.assertAccepted(self.dep.delete(self.server, self.volume,
                                            token=self.token()))
        self.assertIsNone(context.get_current())
        self.assertFault(self.dep.delete(self.server, self.volume,
                                         token='not-a-token'),
                         401, 'unauthorized')
        self.assertIsNone(context.get_current())


class ScopedTokenTestCase(KeystonePipelineTestCase):
    """Tokens Keystone scopes to the system or a domain carry no project:
    a context is still built (as Nova builds one) and the URL and policy
    checks answer."""

    def scoped_token(self, scope, roles=('admin', 'member', 'reader')):
        token = ksa_fixture.V3Token(user_id='u2', user_name='operator')
        if scope == 'system':
            token.set_system_scope()
        else:
            token.set_domain_scope(id='d1', name='domain')
        for role in roles:
            token.add_role(name=role)
        return self.tokens.add_token(token)

    def test_system_token_project_in_url_400(self):
        for prefix in ('/v2/%s' % ff.PROJECT, '/v2.1/%s' % ff.PROJECT):
            response = self.dep.delete(self.server, self.volume,
                                       prefix=prefix,
                                       token=self.scoped_token('system'))
            self.assertFault(
                response, 400, 'badRequest',
                "Malformed request URL: URL's project_id '%s' doesn't "
                "match Context's project_id 'None'" % ff.PROJECT)
        self.assertEqual('in-use', self.dep.volume_status(self.volume))

    def test_domain_token_project_in_url_400(self):
        response = self.dep.delete(self.server, self.volume,
                                   token=self.scoped_token('domain'))
        self.assertFault(
            response, 400, 'badRequest',
            "Malformed request URL: URL's project_id '%s' doesn't "
            "match Context's project_id 'None'" % ff.PROJECT)

    def test_system_admin_token_without_project_in_url_403(self):
        # The rule's scope_types are ['project']: oslo.policy refuses a
        # system-scoped token.
        for scope in ('system', 'domain'):
            response = self.dep.delete(self.server, self.volume,
                                       prefix='/v2.1',
                                       token=self.scoped_token(scope))
            self.assertFault(
                response, 403, 'forbidden',
                "Policy doesn't allow os_compute_api:os-volumes-attachments:"
                "delete to be performed.")
        self.assertEqual('in-use', self.dep.volume_status(self.volume))
        self.assertEqual([], self.worker.received)

    def test_scoped_token_of_non_admin_sees_no_server_404(self):
        # Without a project a non-administrator owns no server.
        for scope in ('system', 'domain'):
            response = self.dep.delete(
                self.server, self.volume, prefix='/v2.1',
                token=self.scoped_token(scope, roles=('member', 'reader')))
            self.assertFault(response, 404, 'itemNotFound',
                             'Instance %s could not be found.' % self.server)

    def test_system_token_reads_403(self):
        path = '/v2.1/servers/%s/os-volume_attachments' % self.server
        response = self.dep.request(path,
                                    token=self.scoped_token('system'))
        self.assertFault(response, 403, 'forbidden')


class KeystoneDownTestCase(base.TestCase):
    """With Keystone unreachable keystonemiddleware answers 503; the fault
    says so in one sentence."""

    def test_keystone_unreachable_503_clean_message(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        # Nothing listens on ``port`` now: connections are refused.
        url = 'http://127.0.0.1:%d/v3' % port
        dep = self.useFixture(ff.Deployment(
            pipeline='main', extra_conf=(
                '[keystone_authtoken]\nwww_authenticate_uri = %s\n'
                'auth_url = %s\nauth_type = password\nusername = nova\n'
                'password = secret\nproject_name = service\n'
                'user_domain_name = Default\nproject_domain_name = Default\n'
                'http_request_max_retries = 0\n' % (url, url))))
        server = dep.add_server()
        volume = dep.add_volume(server)
        response = dep.delete(server, volume, token=uuid.uuid4().hex)
        # keystonemiddleware's own sentence, without webob's page around it.
        self.assertFault(response, 503, 'serviceUnavailable',
                         'The Keystone service is temporarily unavailable.')
        self.assertEqual('in-use', dep.volume_status(volume))
        response = dep.delete(server, volume, token=uuid.uuid4().hex,
                              headers={'Accept': 'text/html'})
        self.assertFault(response, 503, 'serviceUnavailable',
                         'The Keystone service is temporarily unavailable.')
