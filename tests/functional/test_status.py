"""``detach-ext-status upgrade check`` against real databases (SQLite, or
the server of DETACH_EXT_TEST_DB_URL), Nova API databases, a block storage
API on loopback."""

import json
import os
import subprocess
import sys
from unittest import mock
import uuid

import sqlalchemy as sa

from detach_ext.cmd import status
from detach_ext.db import mappings
from detach_ext.db import migration
from detach_ext import exception
from detach_ext.volume import cinder
from tests.functional import base
from tests.functional import fake_cinder
from tests.functional import fixtures as ff

Code = status.Code


class StatusTestCase(base.TestCase):

    def checks(self, dep):
        return status.Checks(dep.conf)

    def assertResult(self, code, result, *phrases):
        self.assertEqual(code, result.code, result.details)
        for phrase in phrases:
            self.assertIn(phrase, result.details)

    def override(self, dep, name, value, group=None):
        dep.conf.set_override(name, value, group=group)
        self.addCleanup(dep.conf.clear_override, name, group=group)


class TestSchema(StatusTestCase):

    def test_synced_deployment_success(self):
        dep = self.useFixture(ff.Deployment())
        self.assertResult(Code.SUCCESS, self.checks(dep)._check_schema(),
                          'revision %s' % migration.head_revision())

    def test_empty_database_failure_says_db_sync(self):
        dep = self.useFixture(ff.Deployment())
        empty = self.useFixture(ff.Database())
        self.override(dep, 'connection', empty.url, 'database')
        self.assertResult(
            Code.FAILURE, self.checks(dep)._check_schema(),
            'no table instances, block_device_mapping',
            '--create-nova-schema', 'revision None, this code needs',
            'detach-ext-manage db sync')

    def test_cinder_backend_behind_warning(self):
        dep = self.useFixture(ff.Deployment())
        engine = sa.create_engine(dep.db_url)
        self.addCleanup(engine.dispose)
        with engine.begin() as connection:
            connection.execute(sa.text('DELETE FROM %s'
                                       % migration.VERSION_TABLE))
        self.assertResult(Code.FAILURE, self.checks(dep)._check_schema(),
                          'revision None')
        self.override(dep, 'backend', 'cinder', 'volume')
        self.assertResult(Code.WARNING, self.checks(dep)._check_schema(),
                          'revision None', 'roll back Cinder could not take')


class TestUpgradeLevels(StatusTestCase):

    def test_number_and_release_name_success(self):
        dep = self.useFixture(ff.Deployment())
        for level, cap, sent in (('6.2', '6.2', '6.0'),
                                 ('victoria', '5.12', '5.0')):
            self.override(dep, 'compute', level, 'upgrade_levels')
            self.assertResult(
                Code.SUCCESS, self.checks(dep)._check_upgrade_levels(),
                'cap %s' % cap, 'sent as %s' % sent)

    def test_too_old_failure(self):
        dep = self.useFixture(ff.Deployment())
        self.override(dep, 'compute', 'pike', 'upgrade_levels')
        self.assertResult(Code.FAILURE,
                          self.checks(dep)._check_upgrade_levels(),
                          'below 5.0', '503')

    def test_auto_reads_the_services_table(self):
        dep = self.useFixture(ff.Deployment())
        self.override(dep, 'compute', 'auto', 'upgrade_levels')
        self.assertResult(Code.WARNING,
                          self.checks(dep)._check_upgrade_levels(),
                          'no nova-compute service is registered')
        dep.add_service(66)
        self.assertResult(Code.SUCCESS,
                          self.checks(dep)._check_upgrade_levels(),
                          'service version 66', 'cap 6.2')
        dep.add_service(20, host=ff.OTHER_HOST)
        self.assertResult(Code.FAILURE,
                          self.checks(dep)._check_upgrade_levels(),
                          'service version 20', 'below 5.0')


class TestPolicy(StatusTestCase):

    def write_policy(self, dep, text, name='policy.yaml'):
        with open(os.path.join(dep.dir, name), 'w') as f:
            f.write(text)

    def test_policy_file_success(self):
        dep = self.useFixture(ff.Deployment(
            policy='"os_compute_api:os-volumes-attachments:delete": '
                   '"role:admin"\n'))
        self.assertResult(Code.SUCCESS,
                          self.checks(dep)._check_policy_rules(),
                          'policy.yaml: 1 rules overridden')

    def test_unparsable_policy_failure(self):
        dep = self.useFixture(ff.Deployment())
        self.write_policy(dep, 'rules: [unclosed\n')
        self.assertResult(Code.FAILURE,
                          self.checks(dep)._check_policy_rules(),
                          'cannot be read as rules', 'will not start')

    def test_json_policy_file_failure(self):
        # oslo.upgradecheck's common check.
        dep = self.useFixture(ff.Deployment())
        self.write_policy(dep, '{"context_is_admin": "role:admin"}')
        checks = self.checks(dep)
        self.assertEqual(Code.FAILURE, checks.check())


class TestCells(StatusTestCase):

    def setUp(self):
        super().setUp()
        api_db = self.useFixture(ff.Database())
        self.dep = self.useFixture(ff.Deployment(extra_conf=(
            '[api_database]\nconnection = %s\n' % api_db.url)))
        self.api_engine = sa.create_engine(api_db.url)
        self.addCleanup(self.api_engine.dispose)
        mappings.NovaAPIBase.metadata.create_all(self.api_engine)

    def add_cell(self, name, url, cell_uuid=None):
        with self.api_engine.begin() as connection:
            connection.execute(sa.insert(mappings.CellMapping).values(
                uuid=cell_uuid or str(uuid.uuid4()), name=name,
                database_connection=url, transport_url='none:///',
                disabled=False))

    def test_no_cell_but_cell0_failure(self):
        self.add_cell('cell0', self.dep.db_url, mappings.CELL0_UUID)
        self.assertResult(Code.FAILURE,
                          self.checks(self.dep)._check_cells(),
                          'maps no cell but cell0')

    def test_every_cell_reachable_success_then_one_down_failure(self):
        self.add_cell('cell0', self.dep.db_url, mappings.CELL0_UUID)
        self.add_cell('cell1', self.dep.db_url)
        checks = self.checks(self.dep)
        self.assertResult(Code.SUCCESS, checks._check_cells(),
                          'cell0, cell1')
        self.assertResult(Code.SUCCESS, checks._check_schema(),
                          'in cell cell1')
        self.add_cell('cell2', 'mysql+pymysql://nova:secret@127.0.0.1:1/x')
        self.assertResult(Code.FAILURE, checks._check_cells(),
                          'cell cell2: database', '127.0.0.1:1', '503')
        self.assertNotIn('secret', checks._check_cells().details)
        self.assertResult(Code.FAILURE, checks._check_schema(),
                          'cell cell2 cannot be read')


class TestCinder(StatusTestCase):

    def deployment(self, credentials):
        self.cinder = fake_cinder.FakeCinder()
        self.cinder.tokens.add('service-token')
        self.http = self.useFixture(ff.HTTPServer(self.cinder))
        return self.useFixture(ff.Deployment(extra_conf=(
            '[volume]\nbackend = cinder\n[cinder]\n' + credentials
            % {'url': self.http.url, 'project': ff.PROJECT})))

    def test_credentials_answered_success(self):
        dep = self.deployment('auth_type = admin_token\n'
                              'endpoint = %(url)s/v3/%(project)s\n'
                              'token = service-token\n')
        self.assertResult(Code.SUCCESS, self.checks(dep)._check_cinder(),
                          'answers the [cinder] credentials')
        self.assertEqual('/v3/%s/volumes' % ff.PROJECT,
                         self.cinder.calls[-1]['path'])

    def test_credentials_refused_failure(self):
        dep = self.deployment('auth_type = admin_token\n'
                              'endpoint = %(url)s/v3/%(project)s\n'
                              'token = wrong\n')
        self.assertResult(Code.FAILURE, self.checks(dep)._check_cinder(),
                          'refused the [cinder] credentials (401)')

    def test_unreachable_failure(self):
        dep = self.deployment('auth_type = admin_token\n'
                              'endpoint = http://127.0.0.1:1/v3\n'
                              'token = service-token\n')
        self.assertResult(Code.FAILURE, self.checks(dep)._check_cinder(),
                          'cannot be reached')

    def test_no_credentials_warning(self):
        dep = self.deployment('')
        self.assertResult(Code.WARNING, self.checks(dep)._check_cinder(),
                          'no auth_type', 'repair')


class TestCommand(StatusTestCase):

    def run_command(self, dep, *args):
        return subprocess.run(
            [os.path.join(os.path.dirname(sys.executable),
                          'detach-ext-status'),
             '--config-file', dep.conf_path, 'upgrade', 'check'] + list(args),
            capture_output=True, text=True, timeout=120)

    def test_ready_deployment_exit_0(self):
        dep = self.useFixture(ff.Deployment())
        done = self.run_command(dep, '--json')
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        checks = json.loads(done.stdout)['checks']
        self.assertEqual(
            ['detach_ext database schema',
             'Compute RPC version ([upgrade_levels] compute)',
             'Policy File JSON to YAML Migration', 'Policy file rules',
             'Cells v2', 'Block storage API ([cinder])'],
            [c['check'] for c in checks])
        self.assertEqual({0}, {c['result'] for c in checks})

    def test_bad_upgrade_level_exit_2(self):
        dep = self.useFixture(ff.Deployment())
        with open(dep.conf_path, 'a') as f:
            f.write('\n[upgrade_levels]\ncompute = 6.x\n')
        done = self.run_command(dep)
        self.assertEqual(2, done.returncode, done.stdout + done.stderr)
        self.assertIn('Result: Failure', done.stdout)
        self.assertIn('is not a compute RPC version', done.stdout)


class TestCinderRoles(StatusTestCase):
    """The volume backend's own check of the [cinder] credentials
    (detach_ext.volume.cinder.API.check_admin_credentials) decides first."""

    def test_credentials_without_an_admin_role_failure(self):
        dep = self.useFixture(ff.Deployment(extra_conf=(
            '[volume]\nbackend = cinder\n[cinder]\n'
            'auth_type = admin_token\nendpoint = http://127.0.0.1:1/v3\n'
            'token = t\n')))
        refused = exception.VolumeServiceMisconfigured(
            reason='[cinder] username nova holds the roles service')
        with mock.patch.object(cinder.API, 'check_admin_credentials',
                               side_effect=refused):
            self.assertResult(Code.FAILURE, self.checks(dep)._check_cinder(),
                              'holds the roles service')
