"""detach_ext's enforcer evaluates its rules through checks that know
their own signature (detach_ext.policy._Remembered): the same arguments
reach every check, the same decisions come out as from oslo.policy's own
evaluation, and nothing of oslo.policy is replaced."""

import inspect
from unittest import mock

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy as oslo_policy
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


# Rules of every kind oslo.policy parses, over the defaults' names.
RULES = {
    'a': 'role:member and not role:reader',
    'b': '(role:admin or project_id:%(project_id)s) and rule:a',
    'c': 'not rule:missing or @',
    'd': '!',
    'e': 'user_id:%(user_id)s or rule:context_is_admin',
    'f': 'rule:b or (rule:e and not role:member)',
}


class TestRemembered(testtools.TestCase):

    def test_oslo_policy_left_as_it_is(self):
        original = _checks._check
        enforcer = _enforcer()
        enforcer.is_admin(context.RequestContext(roles=['admin']))
        self.assertIs(original, _checks._check)
        self.assertEqual('oslo_policy._checks', _checks._check.__module__)

    def test_each_kind_of_check_gets_its_own_arguments(self):
        for _ in range(3):
            self.assertTrue(_checks._check(
                policy._Remembered(Legacy('user', 'u1')), {},
                {'user_id': 'u1'}, None, 'r'))
            self.assertFalse(_checks._check(
                policy._Remembered(Legacy('user', 'u1')), {},
                {'user_id': 'u2'}, None, 'r'))
            self.assertTrue(_checks._check(
                policy._Remembered(Current('rule', 'r')), {}, {}, None, 'r'))
            self.assertFalse(_checks._check(
                policy._Remembered(Current('rule', 'r')), {}, {}, None,
                'other'))

    def test_signatures_not_worked_out_at_evaluation(self):
        enforcer = _enforcer()
        ctx = context.RequestContext(user_id='u', project_id='p1',
                                     roles=['member'])
        enforcer.authorize(volumes_attachments.DELETE,
                           {'project_id': 'p1'}, ctx)
        with mock.patch('inspect._signature_from_function',
                        wraps=inspect._signature_from_function) as work:
            for _ in range(5):
                enforcer.authorize(volumes_attachments.DELETE,
                                   {'project_id': 'p1'}, ctx)
                enforcer.is_admin(ctx)
        # oslo.policy still asks for the signature of the top of each
        # rule, and is handed it.
        self.assertEqual(0, work.call_count)

    def test_rules_print_as_written(self):
        enforcer = _enforcer()
        rules = enforcer._enforcer.rules
        self.assertIsInstance(rules['context_is_admin'], policy._Remembered)
        self.assertEqual('role:admin', str(rules['context_is_admin']))

    def test_decisions_as_oslo_policys_own(self):
        conf = cfg.ConfigOpts()
        conf([], project='detach_ext')
        ours = policy.make_enforcer(conf)
        theirs = oslo_policy.Enforcer(conf)
        theirs.register_defaults(policy.policies.list_rules())
        theirs.load_rules()
        for enforcer in (ours, theirs):
            enforcer.set_rules(oslo_policy.Rules.from_dict(RULES),
                               overwrite=False, use_conf=False)
        policy._remember_rules(ours)
        self.assertIsInstance(ours.rules['f'], policy._Remembered)
        self.assertNotIsInstance(theirs.rules['f'], policy._Remembered)
        seen = set()
        for roles in ([], ['member'], ['member', 'reader'], ['admin'],
                      ['reader']):
            for user, project in (('u1', 'p1'), ('u2', 'p2')):
                creds = {'roles': roles, 'user_id': user,
                         'project_id': project}
                target = {'project_id': 'p1', 'user_id': 'u1'}
                for rule in list(RULES) + [volumes_attachments.DELETE,
                                           'context_is_admin']:
                    decision = ours.enforce(rule, target, dict(creds))
                    self.assertEqual(
                        theirs.enforce(rule, target, dict(creds)), decision,
                        '%s %s' % (rule, creds))
                    seen.add(bool(decision))
        self.assertEqual({True, False}, seen)

    def test_decisions_unchanged(self):
        enforcer = _enforcer()
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
                enforcer.authorize(delete, {'project_id': target}, ctx)
            else:
                self.assertRaises(exception.PolicyNotAuthorized,
                                  enforcer.authorize, delete,
                                  {'project_id': target}, ctx)
            self.assertEqual('admin' in roles, enforcer.is_admin(ctx))
