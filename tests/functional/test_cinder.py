"""The ``cinder`` volume backend against a block storage API on loopback
that enforces Cinder's state rules and checks the token."""

import contextlib
import io
import threading
import uuid

from keystoneauth1 import fixture as ksa_fixture
from keystonemiddleware import fixture as ksm_fixture

from detach_ext.cmd import manage
from detach_ext import exception
from tests.functional import base
from tests.functional import fake_cinder
from tests.functional import fixtures as ff

TOKEN = 'demo:' + ff.PROJECT


class CinderTestCase(base.TestCase):

    # More lines of detach_ext.conf.
    extra_conf = ''

    def setUp(self):
        super().setUp()
        self.cinder = fake_cinder.FakeCinder()
        self.cinder.tokens.add(TOKEN)
        self.http = self.useFixture(ff.HTTPServer(self.cinder))
        self.dep = self.useFixture(ff.Deployment(extra_conf=(
            '[volume]\nbackend = cinder\n'
            '[cinder]\nendpoint_override = %s/v3/%%(project_id)s\n'
            % self.http.url) + self.extra_conf))
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server()

    def volume(self, status='in-use', attachment_id=None):
        volume_id = self.dep.add_volume(self.server,
                                        attachment_id=attachment_id)
        self.cinder.add_volume(volume_id, status, attachment_id)
        return volume_id

    def wait_detached(self, volume):
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(self.server, volume) is None),
            self.cinder.calls)
        self.assertEqual('available', self.cinder.status(volume))


class TestCinderBackend(CinderTestCase):

    def test_old_style_attachment_202(self):
        volume = self.volume()
        self.assertAccepted(self.dep.delete(self.server, volume))
        self.wait_detached(volume)
        self.assertEqual(['os-begin_detaching', 'os-terminate_connection',
                          'os-detach'], self.cinder.actions(volume))
        connector = [c for c in self.cinder.calls
                     if c['action'] == 'os-terminate_connection']
        self.assertTrue(connector)
        # Every call, API side and worker side, carried the user's token.
        self.assertEqual({TOKEN}, {c['token'] for c in self.cinder.calls})

    def test_new_style_attachment_deleted_202(self):
        attachment = str(uuid.uuid4())
        volume = self.volume(attachment_id=attachment)
        self.assertAccepted(self.dep.delete(self.server, volume))
        self.wait_detached(volume)
        self.assertEqual(['os-begin_detaching', 'attachment_delete'],
                         self.cinder.actions(volume))
        delete, = [c for c in self.cinder.calls
                   if c['action'] == 'attachment_delete']
        self.assertEqual('/v3/%s/attachments/%s' % (ff.PROJECT, attachment),
                         delete['path'])
        self.assertEqual('volume 3.44', delete['microversion'])

    def test_volume_not_found_404(self):
        volume = self.dep.add_volume(self.server)  # unknown to Cinder
        self.assertFault(self.dep.delete(self.server, volume), 404,
                         'itemNotFound',
                         'Volume %s could not be found.' % volume)

    def test_already_detached_400(self):
        volume = self.volume(status='available')
        self.assertFault(self.dep.delete(self.server, volume), 400,
                         'badRequest', 'Invalid volume: already detached')
        self.assertEqual([], self.worker.received)

    def test_other_refusal_400_with_cinders_reason(self):
        for status in ('detaching', 'attaching', 'error'):
            volume = self.volume(status=status)
            message = self.assertFault(self.dep.delete(self.server, volume),
                                       400, 'badRequest')
            self.assertIn("Volume status must be 'in-use'", message)
            self.assertEqual(status, self.cinder.status(volume))

    def test_unreachable_503(self):
        volume = self.volume()
        self.http.stop()  # the block storage API goes away
        self.assertFault(self.dep.delete(self.server, volume), 503,
                         'serviceUnavailable')
        self.assertEqual('in-use', self.cinder.status(volume))
        self.assertIsNotNone(self.dep.attachment(self.server, volume))

    def test_cinder_errors_503_nothing_changed(self):
        # Cinder's 5xx, and its 401/403 to the user's own token (nothing
        # the user can fix by asking again differently), are the volume
        # service being unavailable.
        for code in (500, 502, 503, 401, 403):
            volume = self.volume()
            before = self.dep.snapshot()
            self.cinder.fail_with = code
            self.assertFault(self.dep.delete(self.server, volume), 503,
                             'serviceUnavailable',
                             'The block storage service could not be '
                             'reached; nothing was changed.  Try again '
                             'later.')
            self.cinder.fail_with = None
            self.assertEqual('in-use', self.cinder.status(volume))
            self.assertEqual(before, self.dep.snapshot())
        self.assertEqual([], self.worker.received)

    def test_cast_failure_rolls_back_detaching(self):
        volume = self.volume()
        self.dep.break_the_bus()
        self.assertFault(self.dep.delete(self.server, volume), 503,
                         'serviceUnavailable')
        self.assertEqual(['os-begin_detaching', 'os-roll_detaching'],
                         self.cinder.actions(volume))
        self.assertEqual('in-use', self.cinder.status(volume))

    def test_concurrent_one_202(self):
        # The worker is held until every request is answered: the losers
        # all meet the volume detaching (400), none after the worker
        # finished (which would be an honest 404).
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.dep.start_worker('compute-gated', driver=ff.GatedDriver(gate))
        self.server = self.dep.add_server(host='compute-gated')
        volume = self.volume()
        responses = ff.run_concurrently(
            10, lambda: self.dep.delete(self.server, volume))
        self.assertEqual([202] + [400] * 9,
                         sorted(r.status_int for r in responses))
        gate.set()
        self.wait_detached(volume)
        self.assertEqual(1, self.cinder.actions(volume).count('os-detach'))


class TestCinderRepairOwnWork(CinderTestCase):
    """With Cinder the repair changes only what detach_ext began."""

    # [cinder] credentials for the repair (the stand-in knows the token).
    extra_conf = ('auth_type = admin_token\nendpoint = http://unused\n'
                  'token = service-token\n')

    def setUp(self):
        super().setUp()
        self.cinder.tokens.add('service-token')
        # A fixed token has no project to put in the endpoint.
        self.dep.conf.set_override(
            'endpoint_override', '%s/v3/%s' % (self.http.url, ff.PROJECT),
            'cinder')

    def repair(self):
        return self.dep.runtime.compute_manager(
            self.dep.host(ff.HOST)).repair()

    def test_roll_back_owed_is_recorded_and_made_by_the_repair(self):
        # The cast fails and Cinder cannot take the roll back either: the
        # 503 says so, and the repair of the server's host owes it.
        volume = self.volume()
        self.dep.break_the_bus()
        self.cinder.fail_actions['os-roll_detaching'] = 503
        message = self.assertFault(self.dep.delete(self.server, volume),
                                   503, 'serviceUnavailable')
        self.assertIn('until the repair of its compute host does it',
                      message)
        self.assertEqual('detaching', self.cinder.status(volume))
        self.assertEqual([], [a for a in self.dep.snapshot()[
            'instance_actions']])
        self.cinder.fail_actions.clear()
        self.assertEqual(1, self.repair())
        self.assertEqual('in-use', self.cinder.status(volume))
        self.assertEqual([], self.dep.snapshot()['detach_ext_rollbacks'])
        self.assertIsNotNone(self.dep.attachment(self.server, volume))

    def test_others_detaching_left_alone(self):
        # Cinder's detaching with no detach of detach_ext's behind it (Nova's
        # swap of a volume begins detaching the old one).
        volume = self.volume(status='detaching')
        before = self.dep.snapshot()
        self.assertEqual(0, self.repair())
        self.assertEqual('detaching', self.cinder.status(volume))
        self.assertEqual([], self.cinder.actions(volume))
        self.assertEqual(before, self.dep.snapshot())


class TestCinderShelvedOffloaded(CinderTestCase):
    """From 2.20 the API finishes a shelved offloaded server's detach at
    Cinder itself, as Nova's API does."""

    def detach(self, attachment_id):
        server = self.dep.add_server(vm_state='shelved_offloaded', host=None)
        volume = self.dep.add_volume(server, attachment_id=attachment_id)
        self.cinder.add_volume(volume, 'in-use', attachment_id)
        response = self.dep.delete(
            server, volume, prefix='/v2.1', token=TOKEN,
            headers={'OpenStack-API-Version': 'compute 2.20'})
        self.assertAccepted(response)
        self.assertIsNone(self.dep.attachment(server, volume))
        self.assertEqual('available', self.cinder.status(volume))
        self.assertEqual([], self.worker.received)
        return volume

    def test_new_style_attachment_deleted(self):
        volume = self.detach(str(uuid.uuid4()))
        self.assertEqual(['attachment_delete'], self.cinder.actions())
        self.assertEqual([volume], [c['volume_id'] for c in
                                    self.cinder.calls])

    def test_old_style_begun_and_detached(self):
        volume = self.detach(None)
        self.assertEqual(['os-begin_detaching', 'os-detach'],
                         self.cinder.actions(volume))


class TestCinderRepair(base.TestCase):
    """The worker's repair asks Cinder with [cinder]'s own credentials."""

    def test_crash_between_cinder_and_the_mapping_is_repaired(self):
        cinder = fake_cinder.FakeCinder()
        cinder.tokens.update({TOKEN, 'service-token'})
        http = self.useFixture(ff.HTTPServer(cinder))
        dep = self.useFixture(ff.Deployment(extra_conf=(
            '[volume]\nbackend = cinder\n'
            '[cinder]\nendpoint_override = %s/v3/%s\n'
            'auth_type = admin_token\nendpoint = %s/v3/%s\n'
            'token = service-token\n'
            % (http.url, ff.PROJECT, http.url, ff.PROJECT))))
        server = dep.add_server()
        volume = dep.add_volume(server)
        bdm = dep.attachment(server, volume)
        # Cinder finished (attachment deleted, volume available), the
        # worker died before dropping the mapping.
        cinder.add_volume(volume, 'available')
        action_id = dep.db.action_start(dep.context, server, 'detach_volume')
        dep.db.action_event_start(dep.context, action_id,
                                  'compute_detach_volume', dep.host(ff.HOST))
        manager = dep.runtime.compute_manager(dep.host(ff.HOST))
        self.assertEqual(1, manager.repair())
        self.assertIsNone(dep.attachment(server, volume))
        self.assertEqual([('compute_detach_volume', 'Success')],
                         [(e.event, e.result)
                          for e in dep.action_events(action_id)])
        self.assertIsNotNone(bdm.attachment_id)
        self.assertEqual(['service-token'],
                         [c['token'] for c in cinder.calls])


class TestCinderCatalog(base.TestCase):
    """No endpoint_override: the endpoint comes from the token's catalog,
    as keystonemiddleware hands it on."""

    def test_endpoint_from_the_token_catalog(self):
        cinder = fake_cinder.FakeCinder()
        http = self.useFixture(ff.HTTPServer(cinder))
        tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        dep = self.useFixture(ff.Deployment(
            pipeline='main',
            extra_conf=ff.KEYSTONE_CONF + '[volume]\nbackend = cinder\n'))
        dep.start_worker(ff.HOST)
        token = ksa_fixture.V3Token(user_id='u1', project_id=ff.PROJECT)
        token.add_role(name='member')
        token.add_service('volumev3', name='cinderv3').add_standard_endpoints(
            public='%s/v3/%s' % (http.url, ff.PROJECT),
            internal='%s/v3/%s' % (http.url, ff.PROJECT))
        token_id = tokens.add_token(token, token_id=uuid.uuid4().hex)
        cinder.tokens.add(token_id)
        server = dep.add_server()
        volume = dep.add_volume(server)
        cinder.add_volume(volume, attachment_id=dep.attachment(
            server, volume).attachment_id)
        self.assertAccepted(dep.delete(server, volume, token=token_id))
        self.assertTrue(dep.wait_for(
            lambda: dep.attachment(server, volume) is None), cinder.calls)
        self.assertEqual('available', cinder.status(volume))
        self.assertEqual({token_id}, {c['token'] for c in cinder.calls})


# [service_user] as a deployment writes it; admin_token hands out a fixed
# token, which the stand-in knows as a service's.
SERVICE_USER_CONF = ('[service_user]\nsend_service_user_token = true\n'
                     'auth_type = admin_token\nendpoint = http://unused\n'
                     'token = service-token\n')


class TestCinderServiceToken(CinderTestCase):
    """Cinder ends a connected attachment only for a service: every call
    carries the user's token and [service_user]'s service token."""

    extra_conf = SERVICE_USER_CONF

    def setUp(self):
        super().setUp()
        self.cinder.service_tokens.add('service-token')

    def test_every_call_carries_both_tokens(self):
        new_style = self.volume(attachment_id=str(uuid.uuid4()))
        old_style = self.volume()
        for volume in (new_style, old_style):
            self.assertAccepted(self.dep.delete(self.server, volume))
            self.wait_detached(volume)
        self.assertEqual({(TOKEN, 'service-token')},
                         {(c['token'], c['service_token'])
                          for c in self.cinder.calls})
        self.assertIn('attachment_delete', self.cinder.actions(new_style))
        self.assertIn('os-detach', self.cinder.actions(old_style))


class TestCinderWithoutServiceToken(CinderTestCase):
    """What a deployment without [service_user] meets, and why the option
    exists: the 202 is followed by Cinder's refusal, the volume goes back
    to in-use with its attachment, and the fault is recorded."""

    def test_refused_detach_rolls_back(self):
        self.cinder.service_tokens.add('service-token')
        volume = self.volume(attachment_id=str(uuid.uuid4()))
        self.assertAccepted(self.dep.delete(self.server, volume))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.snapshot()['instance_faults']), self.cinder.calls)
        self.assertEqual('in-use', self.cinder.status(volume))
        self.assertIsNotNone(self.dep.attachment(self.server, volume))
        self.assertEqual([None], list({c['service_token']
                                       for c in self.cinder.calls}))


class TestCinderAdminCredentials(base.TestCase):
    """The repair calls Cinder with no user: it checks first that the
    [cinder] credentials may see every project's volumes, and says which
    options to fix instead of meeting each volume as not found."""

    def deployment(self, roles, password='secret', auth=True):
        keystone = self.useFixture(ff.HTTPServer(
            fake_cinder.FakeKeystone(roles)))
        conf = '[volume]\nbackend = cinder\n[cinder]\n'
        if auth:
            conf += ('auth_type = v3password\nauth_url = %s/v3\n'
                     'username = detach-ext\npassword = %s\n'
                     'user_domain_name = Default\nproject_name = service\n'
                     'project_domain_name = Default\n'
                     % (keystone.url, password))
        return self.useFixture(ff.Deployment(extra_conf=conf))

    def repair_refused(self, dep):
        manager = dep.runtime.compute_manager(dep.host(ff.HOST))
        exc = self.assertRaises(exception.VolumeServiceMisconfigured,
                                manager.repair)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(1, manage.main([
                '--config-file', dep.conf_path, 'volume', 'repair']))
        self.assertEqual('Cannot repair: %s\n' % exc, stderr.getvalue())
        return str(exc)

    def test_service_role_only_refused_naming_the_role(self):
        message = self.repair_refused(self.deployment(['member',
                                                       'service']))
        self.assertIn('[cinder] username detach-ext holds the roles member, '
                      'service on its project, none of [cinder] admin_roles '
                      '(admin)', message)

    def test_wrong_password_refused_naming_the_options(self):
        message = self.repair_refused(self.deployment(['admin'],
                                                      password='wrong'))
        self.assertIn('Keystone refused [cinder] username detach-ext', message)

    def test_no_credentials_refused(self):
        message = self.repair_refused(self.deployment([], auth=False))
        self.assertIn('[cinder] auth_type is not set', message)

    def test_admin_role_repairs(self):
        dep = self.deployment(['admin', 'service'])
        manager = dep.runtime.compute_manager(dep.host(ff.HOST))
        self.assertEqual(0, manager.repair())
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(0, manage.main([
                '--config-file', dep.conf_path, 'volume', 'repair']))
