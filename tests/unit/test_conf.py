"""Each ConfigOpts of detach_ext is its own: nothing leaks between two."""

import testtools

from detach_ext import conf as detach_conf


class TestPrivateConfigOpts(testtools.TestCase):

    def test_overrides_and_defaults_stay_in_their_configopts(self):
        first = detach_conf.load(config_files=[])
        second = detach_conf.load(config_files=[])
        for group, name, value in (('upgrade_levels', 'compute', '5.13'),
                                   ('compute_rpc', 'cast_retry', 7),
                                   ('api', 'paste_pipeline', 'noauth2'),
                                   ('volume', 'backend', 'cinder'),
                                   ('cinder', 'attachment_microversion',
                                    '3.27')):
            before = getattr(getattr(second, group), name)
            first.set_override(name, value, group)
            self.assertEqual(value, getattr(getattr(first, group), name))
            self.assertEqual(before, getattr(getattr(second, group), name),
                             '[%s] %s leaked' % (group, name))
