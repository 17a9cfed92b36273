"""The default pipeline authenticates with keystonemiddleware auth_token.

keystonemiddleware's own AuthTokenFixture stands in for Keystone: the
real AuthProtocol runs, only its token lookup is answered by the fixture.
"""

import uuid

from keystonemiddleware import fixture as ksm_fixture

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
