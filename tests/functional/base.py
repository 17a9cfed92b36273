"""Base class of the functional tests."""

import json

import sqlalchemy as sa
import testtools

from tests.functional import fixtures as func_fixtures


class TestCase(testtools.TestCase):

    def needs_database_server(self, what):
        """Skip unless the tests run on MariaDB or PostgreSQL
        (DETACH_EXT_TEST_DB_URL); ``what`` says what needs it."""
        url = func_fixtures.DB_SERVER_URL
        if not url or sa.engine.make_url(url).get_backend_name() not in (
                'mysql', 'postgresql'):
            self.skipTest('%s need MariaDB or PostgreSQL '
                          '(DETACH_EXT_TEST_DB_URL)' % what)

    def assertFault(self, response, code, name, message=None):
        """A fault body of ``name`` and ``code``, JSON, with both request
        id headers."""
        self.assertEqual(code, response.status_int, response.text)
        self.assertEqual('application/json; charset=UTF-8',
                         response.headers['Content-Type'])
        body = json.loads(response.body)
        self.assertEqual([name], list(body))
        self.assertEqual(code, body[name]['code'])
        if message is not None:
            self.assertEqual(message, body[name]['message'])
        self.assertRequestIds(response)
        return body[name]['message']

    def assertRequestIds(self, response):
        request_id = response.headers.get('x-openstack-request-id')
        self.assertIsNotNone(request_id)
        self.assertRegex(request_id, r'^req-[0-9a-f-]{36}$')
        self.assertEqual(request_id,
                         response.headers.get('x-compute-request-id'))

    def assertAccepted(self, response):
        self.assertEqual(202, response.status_int, response.text)
        self.assertEqual(b'', response.body)
        self.assertEqual('0', response.headers['Content-Length'])
        self.assertRequestIds(response)


class DeploymentTestCase(TestCase):
    """Each test gets a fresh deployment (noauth2) and a worker on HOST."""

    pipeline = 'noauth2'

    def setUp(self):
        super().setUp()
        self.dep = self.useFixture(
            func_fixtures.Deployment(pipeline=self.pipeline))
