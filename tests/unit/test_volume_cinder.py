"""The cinder volume backend's authentication, without a block storage API."""

import tempfile

from keystoneauth1 import service_token
from oslo_config import cfg
import testtools

from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext.volume import cinder


def _conf(text=''):
    """A ConfigOpts of the cinder backend with ``text`` more lines."""
    with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
        f.write('[volume]\nbackend = cinder\n' + text)
        f.flush()
        return detach_conf.load(config_files=[f.name])


class TestServiceToken(testtools.TestCase):

    def test_sending_without_credentials_stops_the_load(self):
        exc = self.assertRaises(cfg.RequiredOptError, cinder.API, _conf(
            '[service_user]\nsend_service_user_token = true\n'))
        self.assertIn('auth_type', str(exc))
        self.assertIn('service_user', str(exc))

    def test_user_and_service_tokens_in_the_headers(self):
        api = cinder.API(_conf(
            '[service_user]\nsend_service_user_token = true\n'
            'auth_type = admin_token\nendpoint = http://keystone.test\n'
            'token = service-token\n'))
        context = detach_context.RequestContext(auth_token='user-token',
                                                project_id='p')
        auth = api._adapter(context).auth
        self.assertIsInstance(auth, service_token.ServiceTokenAuthWrapper)
        self.assertEqual({'X-Auth-Token': 'user-token',
                          'X-Service-Token': 'service-token'},
                         auth.get_headers(api._session))

    def test_user_token_alone_by_default(self):
        api = cinder.API(_conf())
        context = detach_context.RequestContext(auth_token='user-token',
                                                project_id='p')
        self.assertEqual({'X-Auth-Token': 'user-token'},
                         api._adapter(context).auth.get_headers(
                             api._session))
