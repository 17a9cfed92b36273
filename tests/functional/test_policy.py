"""The operator's policy file overrides the rule registered in code."""

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
