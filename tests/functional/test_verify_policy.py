"""Every route of detach_ext is protected by a policy rule: with every
rule of the code denied in the operator's file, each answers 403."""

from detach_ext.api import router
from detach_ext import policies
from tests.functional import base
from tests.functional import fixtures as ff


class TestEveryRouteIsProtected(base.TestCase):

    def test_all_rules_denied_403(self):
        operation_rules = [r.name for r in policies.list_rules()
                           if r.name.startswith('os_compute_api:')]
        dep = self.useFixture(ff.Deployment(policy=''.join(
            '"%s": "!"\n' % name for name in operation_rules)))
        server = dep.add_server()
        volume = dep.add_volume(server)
        values = {'project_id': ff.PROJECT, 'server_id': server,
                  'attachment_id': volume}
        checked = 0
        for path, methods in router.ROUTE_DECLARATIONS.items():
            for method in methods:
                url = path.format(**values)
                for user in ('demo', 'admin'):
                    response = dep.request(url, method,
                                           token='%s:%s' % (user,
                                                            ff.PROJECT))
                    self.assertFault(response, 403, 'forbidden')
                checked += 1
        # index, show and delete, under /v2/{p}, /v2.1/{p} and /v2.1.
        self.assertEqual(9, checked)
        self.assertEqual('in-use', dep.volume_status(volume))
