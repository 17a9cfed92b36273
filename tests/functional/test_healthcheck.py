"""``GET /healthcheck`` of the shipped api-paste.ini: oslo.middleware's
Healthcheck before authentication, drained by a file, detailed only for
the allowed sources."""

import json
import os

import fixtures
import oslo_messaging

from tests.functional import base
from tests.functional import fixtures as ff


class TestHealthcheck(base.TestCase):

    def deployment(self, extra=''):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.disable_file = os.path.join(self.dir, 'healthcheck_disable')
        return self.useFixture(ff.Deployment(
            pipeline='main', extra_conf=ff.KEYSTONE_CONF + (
                '[healthcheck]\ndisable_by_file_path = %s\n%s'
                % (self.disable_file, extra))))

    def check(self, dep, address='192.0.2.10', method='GET', accept=None):
        response = dep.request('/healthcheck', method, environ={
            'REMOTE_ADDR': address})
        if accept:
            response = dep.request('/healthcheck', method, environ={
                'REMOTE_ADDR': address}, headers={'Accept': accept})
        return response

    def test_healthy_without_a_token_200(self):
        dep = self.deployment()
        response = dep.request('/healthcheck', 'GET',
                               headers={'Accept': 'text/plain'})
        self.assertEqual(200, response.status_int)
        self.assertEqual('OK', response.text)
        self.assertRequestIds(response)
        response = dep.request('/healthcheck', 'HEAD')
        self.assertEqual(204, response.status_int)

    def test_drained_by_file_503_then_back(self):
        dep = self.deployment()
        with open(self.disable_file, 'w'):
            pass
        response = dep.request('/healthcheck', 'GET')
        self.assertEqual(503, response.status_int)
        self.assertEqual({'detailed': False,
                          'reasons': ['DISABLED BY FILE']},
                         json.loads(response.body))
        os.unlink(self.disable_file)
        self.assertEqual(200, dep.request('/healthcheck').status_int)

    def test_other_requests_pass_to_authentication_401(self):
        dep = self.deployment()
        for path, method in (('/healthcheck/x', 'GET'),
                             ('/healthcheck', 'POST'),
                             ('/v2.1/healthcheck', 'GET')):
            response = dep.request(path, method)
            self.assertFault(response, 401, 'unauthorized')

    def test_not_detailed_by_default(self):
        dep = self.deployment()
        response = dep.request('/healthcheck', environ={
            'REMOTE_ADDR': '127.0.0.1'})
        self.assertEqual({'detailed': False, 'reasons': ['OK']},
                         json.loads(response.body))

    def test_detailed_only_for_allowed_sources(self):
        dep = self.deployment('detailed = true\n'
                              'allowed_source_ranges = 127.0.0.0/8,::1/128\n')
        for address in ('127.0.0.1', '::1'):
            response = dep.request('/healthcheck', environ={
                'REMOTE_ADDR': address})
            self.assertEqual(200, response.status_int, response.text)
            body = json.loads(response.body)
            self.assertTrue(body['detailed'])
            self.assertEqual(['OK', 'OK', 'OK'],
                             [r['reason'] for r in body['reasons']])
            self.assertIn('[database]', body['reasons'][1]['details'])
            self.assertIn('threads', body)
        for address in ('192.0.2.10', '', '2001:db8::1'):
            response = dep.request('/healthcheck', environ={
                'REMOTE_ADDR': address})
            self.assertEqual({'detailed': False, 'reasons': ['OK']},
                             json.loads(response.body))

    def test_detailed_reports_a_dead_message_bus_503(self):
        dep = self.deployment('detailed = true\n'
                              'allowed_source_ranges = 127.0.0.1/32\n')
        # Whatever the deployment's bus, the health check of this one
        # reaches for a broker on a port where nothing listens.
        oslo_messaging.TransportURL.parse(dep.conf)
        dep.conf.set_override('transport_url',
                              'rabbit://guest:guest@127.0.0.1:1/')
        self.addCleanup(dep.conf.clear_override, 'transport_url')
        response = dep.request('/healthcheck', environ={
            'REMOTE_ADDR': '127.0.0.1'})
        self.assertEqual(503, response.status_int)
        reasons = json.loads(response.body)['reasons']
        self.assertEqual(['OK', 'OK', 'message bus unreachable'],
                         [r['reason'] for r in reasons])
        self.assertIn('127.0.0.1:1', reasons[2]['details'])
        # The load balancer's answer does not depend on the bus.
        response = dep.request('/healthcheck', environ={
            'REMOTE_ADDR': '192.0.2.10'})
        self.assertEqual(200, response.status_int)

    def test_detailed_reports_a_dead_database_503(self):
        dep = self.deployment('detailed = true\n')
        dep.runtime.db.dispose()
        dep.conf.set_override('connection',
                              'mysql+pymysql://nobody@127.0.0.1:1/none',
                              group='database')
        self.addCleanup(dep.conf.clear_override, 'connection',
                        group='database')
        from detach_ext.db import api as db_api
        healthy_db = dep.runtime.db
        dep.runtime.db = db_api.Database(dep.conf)
        self.addCleanup(setattr, dep.runtime, 'db', healthy_db)
        self.addCleanup(dep.runtime.db.dispose)
        response = dep.request('/healthcheck', environ={
            'REMOTE_ADDR': '127.0.0.1'})
        self.assertEqual(503, response.status_int)
        reasons = json.loads(response.body)['reasons']
        self.assertEqual('[database] unreachable', reasons[1]['reason'])
