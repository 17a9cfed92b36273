"""Every entry point setup.cfg declares is installed and loads."""

import configparser
import os

from importlib import metadata
import testtools

SETUP_CFG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'setup.cfg')


# What deployers and the oslo tools name.  The paste middleware of the
# shipped api-paste.ini is named there by module, so has no entry point.
EXPECTED = {
    ('paste.app_factory', 'main'),
    ('paste.filter_factory', 'detach_ext'),
    ('oslo.config.opts', 'detach_ext'),
    ('oslo.config.opts.defaults', 'detach_ext'),
    ('oslo.policy.policies', 'detach_ext'),
    ('oslo.policy.enforcer', 'detach_ext'),
    ('oslo.middleware.healthcheck', 'detach_ext_database'),
    ('oslo.middleware.healthcheck', 'detach_ext_message_bus'),
    ('sqlalchemy.plugins', 'detach_ext_pool'),
    ('console_scripts', 'detach-ext-api'),
    ('console_scripts', 'detach-ext-compute'),
    ('console_scripts', 'detach-ext-manage'),
    ('console_scripts', 'detach-ext-status'),
}


def declared():
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    for group, text in parser['entry_points'].items():
        for line in text.strip().splitlines():
            name, _sep, target = (p.strip() for p in line.partition('='))
            yield group, name, target


class TestEntryPoints(testtools.TestCase):

    def test_every_declared_entry_point_loads(self):
        installed = {(ep.group, ep.name): ep
                     for ep in metadata.distribution('detach_ext')
                     .entry_points}
        declared_points = {(group, name): target
                           for group, name, target in declared()}
        self.assertEqual(EXPECTED, set(declared_points))
        for (group, name), target in declared_points.items():
            ep = installed.get((group, name))
            self.assertIsNotNone(ep, '%s %s is not installed (pip install '
                                     '-e . again?)' % (group, name))
            self.assertEqual(target, ep.value)
            self.assertTrue(callable(ep.load()), '%s:%s' % (group, name))
        self.assertEqual(EXPECTED, {k for k in installed})

    def test_policy_and_config_entry_points_answer(self):
        eps = {ep.group: ep for ep in
               metadata.distribution('detach_ext').entry_points}
        rules = list(eps['oslo.policy.policies'].load()())
        self.assertIn('os_compute_api:os-volumes-attachments:delete',
                      [r.name for r in rules])
        groups = [g if isinstance(g, str) else g.name
                  for g, _opts in eps['oslo.config.opts'].load()()]
        self.assertIn('compute_rpc', groups)
