"""Which configuration a deployment reads, and the Runtime its paste
factories share until released."""

import gc
import importlib
import os
import sys

import fixtures
import webob

from detach_ext import deploy
from tests.functional import base
from tests.functional import fixtures as ff


class TestRegistry(base.TestCase):

    def test_factories_of_one_configuration_share_one_runtime(self):
        dep = self.useFixture(ff.Deployment())
        settings = {'config_file': dep.conf_path}
        app = deploy.app_factory(settings)
        self.assertIs(dep.runtime, app.runtime)
        self.assertIs(dep.runtime,
                      deploy.runtime_for({}, {'config_file': dep.conf_path}))

    def test_released_runtime_is_forgotten(self):
        dep = self.useFixture(ff.Deployment())
        settings = {'config_file': dep.conf_path}
        deploy.release(dep.runtime)
        fresh = deploy.runtime_for(settings, {})
        self.addCleanup(deploy.release, fresh)
        self.assertIsNot(dep.runtime, fresh)

    def test_config_file_of_the_section_then_default_then_environment(self):
        environ = {'DETACH_EXT_CONFIG_FILE': 'env.conf, env2.conf'}
        self.assertEqual(('a.conf', 'b.conf'), deploy.config_files(
            {'config_file': 'g.conf'}, {'config_file': 'a.conf,b.conf'},
            environ))
        self.assertEqual(('g.conf',), deploy.config_files(
            {'config_file': 'g.conf'}, {}, environ))
        self.assertEqual(('env.conf', 'env2.conf'),
                         deploy.config_files({}, {}, environ))
        # None: oslo.config's own search for detach_ext.conf.
        self.assertIsNone(deploy.config_files({'config_file': ''}, {}, {}))


class TestWSGIApplication(base.TestCase):

    def test_application_reads_DETACH_EXT_CONFIG_FILE(self):
        dep = self.useFixture(ff.Deployment(
            extra_conf='[api]\npaste_pipeline = noauth2\n'))
        server = dep.add_server()
        volume = dep.add_volume(server)
        self.useFixture(fixtures.EnvironmentVariable(
            'DETACH_EXT_CONFIG_FILE', dep.conf_path))
        # The WSGI server's command line is none of the app's business.
        self.useFixture(fixtures.MonkeyPatch(
            'sys.argv', ['gunicorn', '-w', '2', '--config-file', 'x']))
        sys.modules.pop('detach_ext.wsgi', None)
        self.addCleanup(sys.modules.pop, 'detach_ext.wsgi', None)
        self.addCleanup(gc.unfreeze)
        gc.unfreeze()
        app = importlib.import_module('detach_ext.wsgi').application
        # What loading made is out of the collector's way (cmd.loaded).
        self.assertGreater(gc.get_freeze_count(), 0)
        rt = deploy.runtime_for({'config_file': dep.conf_path}, {})
        self.addCleanup(deploy.release, rt)
        self.assertIsNot(dep.runtime, rt)
        response = webob.Request.blank(
            '/v2/%s/servers/%s/os-volume_attachments/%s'
            % (ff.PROJECT, server, volume), method='DELETE',
            headers={'X-Auth-Token': 'demo:' + ff.PROJECT}).get_response(app)
        self.assertAccepted(response)
        # Begun in the deployment's database (no worker runs here).
        self.assertEqual('detaching', dep.volume_status(volume))


class TestPasteConfig(base.TestCase):

    def test_found_beside_the_configuration_files(self):
        dep = self.useFixture(ff.Deployment())
        dep.conf.set_override('api_paste_config', 'mine.ini', group='api')
        dep.conf.set_override('paste_pipeline', 'mine', group='api')
        path = os.path.join(dep.dir, 'mine.ini')
        with open(path, 'w') as f:
            f.write('[app:mine]\n'
                    'paste.app_factory = detach_ext.deploy:app_factory\n')
        self.assertEqual(path, deploy.find_paste_config(dep.conf))
        app = deploy.loadapp(dep.runtime)
        self.assertIs(dep.runtime, app.runtime)

    def test_shipped_one_by_default(self):
        dep = self.useFixture(ff.Deployment())
        self.assertEqual(
            'api-paste.ini',
            os.path.basename(deploy.find_paste_config(dep.conf)))

    def test_missing_names_the_option(self):
        dep = self.useFixture(ff.Deployment())
        dep.conf.set_override('api_paste_config', 'missing.ini', group='api')
        error = self.assertRaises(RuntimeError, deploy.find_paste_config,
                                  dep.conf)
        self.assertIn('[api] api_paste_config', str(error))
