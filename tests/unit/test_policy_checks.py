"""oslo.policy's check evaluation, with the check signatures remembered
(detach_ext.policy._remember_check_signatures): the same arguments reach
every check, and the same decisions come out."""

from unittest import mock

from oslo_config import cfg
from oslo_policy import _checks
import testtools

from detach_ext import context
from detach_ext import exception
from detach_ext.policies import volumes_attachments
from detach_ext import policy


class Legacy(_checks.Check):
    """A check written before oslo.policy passed the rule's name."""

    def __call__(self, target, creds, enforcer):
        return creds.get('user_id') == self.match


class Current(_checks.Check):
    """A check that takes the name of the rule being enforced."""

    def __call__(self, target, creds, enforcer, current_rule=None):
        return current_rule == self.match


def _enforcer():
    conf = cfg.ConfigOpts()
    conf([], project='detach_ext')
    return policy.Enforcer(conf)


class TestRememberedSignatures(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.enforcer = _enforcer()

    def test_oslo_policy_evaluates_through_the_remembering_function(self):
        self.assertTrue(getattr(_checks._check, 'remembers', False))

    def test_replaced_once(self):
        installed = _checks._check
        _enforcer()
        self.assertIs(installed, _checks._check)

    def test_each_kind_of_check_gets_its_own_arguments(self):
        for _ in range(3):  # first evaluation, then remembered
            self.assertTrue(_checks._check(Legacy('user', 'u1'), {},
                                           {'user_id': 'u1'}, None, 'r'))
            self.assertFalse(_checks._check(Legacy('user', 'u1'), {},
                                            {'user_id': 'u2'}, None, 'r'))
            self.assertTrue(_checks._check(Current('rule', 'r'), {}, {},
                                           None, 'r'))
            self.assertFalse(_checks._check(Current('rule', 'r'), {}, {},
                                            None, 'other'))

    def test_signature_inspected_once_per_check_class(self):
        with mock.patch('inspect.getfullargspec',
                        wraps=__import__('inspect').getfullargspec) as spec:
            class Once(_checks.Check):
                def __call__(self, target, creds, enforcer, current_rule):
                    return True
            for _ in range(5):
                self.assertTrue(_checks._check(Once('x', 'y'), {}, {}, None,
                                               'r'))
        self.assertEqual(1, spec.call_count)

    def test_decisions_unchanged(self):
        delete = volumes_attachments.DELETE
        cases = [
            (['member'], 'p1', 'p1', True),
            (['member'], 'p1', 'p2', False),
            (['reader'], 'p1', 'p1', False),
            (['admin'], 'p1', 'p2', True),
            ([], 'p1', 'p1', False),
        ]
        for roles, own, target, allowed in cases:
            ctx = context.RequestContext(user_id='u', project_id=own,
                                         roles=roles)
            if allowed:
                self.enforcer.authorize(delete, {'project_id': target}, ctx)
            else:
                self.assertRaises(exception.PolicyNotAuthorized,
                                  self.enforcer.authorize, delete,
                                  {'project_id': target}, ctx)
            self.assertEqual('admin' in roles, self.enforcer.is_admin(ctx))
