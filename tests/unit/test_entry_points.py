"""Every entry point setup.cfg declares is installed and loads."""

import configparser
import os

from importlib import metadata
import testtools

SETUP_CFG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'setup.cfg')


def declared():
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    for group, text in parser['entry_points'].items():
        for line in text.strip().splitlines():
            name, _sep, target = (p.strip() for p in line.partition('='))
            yield group, name, target


class TestEntryPoints(testtools.TestCase):

    def test_every_declared_entry_point_loads(self):
        points = declared()
        installed = {(ep.group, ep.name): ep
                     for ep in metadata.distribution('detach_ext')
                     .entry_points}
        count = 0
        for group, name, target in points:
            ep = installed.get((group, name))
            self.assertIsNotNone(ep, '%s %s is not installed (pip install '
                                     '-e . again?)' % (group, name))
            self.assertEqual(target, ep.value)
            self.assertTrue(callable(ep.load()), '%s:%s' % (group, name))
            count += 1
        self.assertGreaterEqual(count, 11)

    def test_policy_and_config_entry_points_answer(self):
        eps = {ep.group: ep for ep in
               metadata.distribution('detach_ext').entry_points}
        rules = list(eps['oslo.policy.policies'].load()())
        self.assertIn('os_compute_api:os-volumes-attachments:delete',
                      [r.name for r in rules])
        groups = [g if isinstance(g, str) else g.name
                  for g, _opts in eps['oslo.config.opts'].load()()]
        self.assertIn('compute_rpc', groups)
