"""The operator's policy file overrides the rule registered in code."""

import os
import time

import fixtures
from paste import deploy as paste_deploy

from detach_ext import conf as detach_conf
from detach_ext import runtime
from tests.functional import base
from tests.functional import fixtures as ff

RULE = 'os_compute_api:os-volumes-attachments:delete'


class PolicyFileTestCase(base.TestCase):

    def deployment(self, policy):
        dep = self.useFixture(ff.Deployment(policy=policy))
        dep.start_worker(ff.HOST)
        server = dep.add_server()
        return dep, server, dep.add_volume(server)

    def test_rule_set_to_never_403(self):
        dep, server, volume = self.deployment('"%s": "!"\n' % RULE)
        for user in ('demo', 'admin'):
            self.assertFault(dep.delete(server, volume, user=user), 403,
                             'forbidden',
                             "Policy doesn't allow %s to be performed." % RULE)
        self.assertEqual('in-use', dep.volume_status(volume))

    def test_rule_set_to_a_role_allows_only_that_role(self):
        dep, server, volume = self.deployment('"%s": "role:foo"\n' % RULE)
        self.assertFault(dep.delete(server, volume), 403, 'forbidden')
        self.assertFault(dep.delete(server, volume, user='admin'), 403,
                         'forbidden')
        self.assertAccepted(dep.delete(server, volume, roles='foo'))

    def test_base_rule_override_changes_who_is_admin(self):
        # context_is_admin decides who sees other projects' servers.
        dep = self.useFixture(ff.Deployment(
            policy='"context_is_admin": "role:cloud-admin"\n'))
        server = dep.add_server(project=ff.OTHER_PROJECT)
        volume = dep.add_volume(server)
        self.assertFault(dep.delete(server, volume, user='admin'), 404,
                         'itemNotFound')
        dep.start_worker(ff.HOST)
        self.assertAccepted(dep.delete(server, volume,
                                       roles='cloud-admin,member'))

    def test_default_rule_member_of_project_202(self):
        dep, server, volume = self.deployment(None)
        self.assertAccepted(dep.delete(server, volume, roles='member'))


class BrokenPolicyFileTestCase(base.TestCase):
    """A policy file edited into something oslo.policy cannot parse: the
    rules read from it last stay in force, an error is logged, and the
    file is read again once fixed."""

    def write_policy(self, dep, text):
        path = os.path.join(dep.dir, 'policy.yaml')
        with open(path, 'w') as f:
            f.write(text)
        # A later modification time than any before, however fast the
        # edits come (oslo.policy re-reads a file whose mtime grew).
        self.mtime = getattr(self, 'mtime', time.time()) + 10
        os.utime(path, (self.mtime, self.mtime))

    def test_broken_file_keeps_last_good_rules(self):
        dep = self.useFixture(ff.Deployment(policy='"%s": "role:foo"\n'
                                            % RULE))
        dep.start_worker(ff.HOST)
        server = dep.add_server()
        volumes = [dep.add_volume(server) for _ in range(3)]
        logs = dep.capture_logs()
        self.assertFault(dep.delete(server, volumes[0]), 403, 'forbidden')

        self.write_policy(dep, '"%s": ["role:bar"\n  nope: {\n' % RULE)
        for _ in range(2):
            self.assertFault(dep.delete(server, volumes[0]), 403,
                             'forbidden')
            self.assertFault(dep.delete(server, volumes[0], roles='bar'),
                             403, 'forbidden')
        self.assertAccepted(dep.delete(server, volumes[0], roles='foo'))
        errors = [line for line in logs.getvalue().splitlines()
                  if ' ERROR ' in line]
        self.assertEqual(1, len(errors), logs.getvalue())
        self.assertIn('policy.yaml', errors[0])

        self.write_policy(dep, '"%s": "role:bar"\n' % RULE)
        self.assertFault(dep.delete(server, volumes[1], roles='foo'), 403,
                         'forbidden')
        self.assertAccepted(dep.delete(server, volumes[1], roles='bar'))

    def test_file_not_a_mapping_keeps_last_good_rules(self):
        dep = self.useFixture(ff.Deployment(policy='"%s": "!"\n' % RULE))
        server = dep.add_server()
        volume = dep.add_volume(server)
        self.write_policy(dep, '- a list\n- of rules\n')
        self.assertFault(dep.delete(server, volume, user='admin'), 403,
                         'forbidden')

    def broken_at_start(self):
        folder = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(folder, 'detach_ext.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    % os.path.join(folder, 'db.sqlite'))
        with open(os.path.join(folder, 'policy.yaml'), 'w') as f:
            f.write('"%s": [\n' % RULE)
        return folder, conf

    def test_broken_file_at_start_refuses_to_load(self):
        folder, conf = self.broken_at_start()
        error = self.assertRaises(
            ValueError, paste_deploy.loadapp, 'config:' + ff.PASTE_INI,
            name='noauth2', global_conf={'config_file': conf})
        self.assertIn(os.path.join(folder, 'policy.yaml'), str(error))

    def test_broken_file_at_start_compute_worker_starts(self):
        # The worker enforces no policy: the file is none of its business.
        _folder, path = self.broken_at_start()
        conf = detach_conf.load(config_files=[path])
        rt = runtime.Runtime(conf)
        self.addCleanup(rt.close)
        self.assertEqual('compute-a', rt.compute_manager('compute-a').host)
