"""Every row of DESIGN.md's table of checks, through the paste-loaded app.

Each error test also shows that the database is unchanged and that no
cast was sent.
"""

import datetime
import os
import threading
import uuid

from oslo_utils import timeutils
import sqlalchemy as sa

from detach_ext.compute import objects
from detach_ext.compute import states
from detach_ext.db import models
from tests.functional import base
from tests.functional import fixtures as ff


class TestDetachErrors(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server)

    def assertUnchanged(self, response_fn, code, name, message=None):
        before = self.dep.snapshot()
        response = response_fn()
        text = self.assertFault(response, code, name, message)
        self.assertEqual(before, self.dep.snapshot())
        self.assertEqual([], self.worker.received)
        return text

    def test_every_error_row_changes_nothing(self):
        # The status, fault name, message and headers of each row are the
        # contract's gabbi tests (gabbits/detach-checks.yaml); what they
        # cannot see is stated here: no row writes a row or casts.
        other_project = self.dep.add_server(project=ff.OTHER_PROJECT)
        foreign = self.dep.add_volume(other_project)
        deleted_server = self.dep.add_server(deleted=True)
        other_server = self.dep.add_server()
        elsewhere = self.dep.add_volume(other_server)
        gone = self.dep.add_volume(self.server, deleted=True)
        root = self.dep.add_volume(self.server, boot_index=0)
        locked = self.dep.add_server(locked=True)
        locked_volume = self.dep.add_volume(locked)
        busy = self.dep.add_server(task_state='rebooting')
        busy_volume = self.dep.add_volume(busy)
        available = self.dep.add_volume(self.server, status='available')
        path = '/v2/%s/servers/%s/os-volume_attachments/%s' % (
            ff.PROJECT, self.server, self.volume)
        rows = [
            ('1 no token', 401, lambda: self.dep.request(path, 'DELETE')),
            ('2 project id malformed', 400,
             lambda: self.dep.delete(self.server, self.volume,
                                     project='not-a-project')),
            ('3 project mismatch', 400,
             lambda: self.dep.delete(self.server, self.volume,
                                     token='admin:' + ff.OTHER_PROJECT)),
            ('4 server id not a uuid', 404,
             lambda: self.dep.delete('not-a-uuid', self.volume)),
            ('4 server missing', 404,
             lambda: self.dep.delete(str(uuid.uuid4()), self.volume)),
            ('4 server deleted', 404,
             lambda: self.dep.delete(deleted_server, self.volume)),
            ('4 server of another project', 404,
             lambda: self.dep.delete(other_project, foreign)),
            ('5 policy denies', 403,
             lambda: self.dep.delete(self.server, self.volume,
                                     roles='reader')),
            ('6 attachment id not a uuid', 404,
             lambda: self.dep.delete(self.server, 'vol-1')),
            ('6 attachment of another server', 404,
             lambda: self.dep.delete(self.server, elsewhere)),
            ('6 attachment deleted', 404,
             lambda: self.dep.delete(self.server, gone)),
            ('7 root device', 403, lambda: self.dep.delete(self.server, root)),
            ('8 locked', 409, lambda: self.dep.delete(locked, locked_volume)),
            ('10 task_state', 409,
             lambda: self.dep.delete(busy, busy_volume)),
            ('11 already detached', 400,
             lambda: self.dep.delete(self.server, available)),
            ('405 other method', 405,
             lambda: self.dep.request(path, 'PUT',
                                      token='demo:' + ff.PROJECT)),
        ]
        before = self.dep.snapshot()
        for row, code, send in rows:
            response = send()
            self.assertEqual(code, response.status_int,
                             '%s: %s' % (row, response.text))
            self.assertRequestIds(response)
            self.assertEqual(before, self.dep.snapshot(), row)
        self.assertEqual([], self.worker.received)

    def test_delete_project_id_malformed_400(self):
        for bad in ('not-a-project', 'b7a7b63e92174a95a999c95da856f14',
                    'b7a7b63e92174a95a999c95da856f143x'):
            message = self.assertUnchanged(
                lambda: self.dep.delete(self.server, self.volume,
                                        project=bad),
                400, 'badRequest')
            self.assertIn("project_id '%s'" % bad, message)
            self.assertTrue(message.startswith('Malformed request URL: '))

    def test_delete_vm_state_409(self):
        for vm_state in (states.BUILDING, states.ERROR, states.SUSPENDED,
                         states.RESCUED, states.SHELVED,
                         states.SHELVED_OFFLOADED, states.DELETED):
            server = self.dep.add_server(vm_state=vm_state)
            volume = self.dep.add_volume(server)
            self.assertUnchanged(
                lambda: self.dep.delete(server, volume),
                409, 'conflictingRequest',
                "Cannot 'detach_volume' instance %s while it is in "
                "vm_state %s" % (server, vm_state))

    def test_delete_volume_not_in_use_400(self):
        # What a request that lost the race to begin detaching sees.
        for status in ('detaching', 'attaching', 'error'):
            volume = self.dep.add_volume(self.server, status=status)
            message = self.assertUnchanged(
                lambda: self.dep.delete(self.server, volume),
                400, 'badRequest')
            self.assertEqual(
                "Invalid volume: volume %s is '%s', not 'in-use'"
                % (volume, status), message)

    def test_delete_other_method_405(self):
        for method in ('PUT', 'POST', 'PATCH'):
            response = self.assertUnchanged(
                lambda: self.dep.request(
                    '/v2/%s/servers/%s/os-volume_attachments/%s'
                    % (ff.PROJECT, self.server, self.volume), method,
                    token='demo:' + ff.PROJECT),
                405, 'badMethod')
            del response

    def test_unknown_path_404(self):
        response = self.dep.request('/v2/%s/servers' % ff.PROJECT, 'DELETE',
                                    token='demo:' + ff.PROJECT)
        self.assertFault(response, 404, 'itemNotFound')

    def test_405_names_allowed_method(self):
        response = self.dep.request(
            '/v2/%s/servers/%s/os-volume_attachments/%s'
            % (ff.PROJECT, self.server, self.volume), 'PUT',
            token='demo:' + ff.PROJECT)
        self.assertEqual('DELETE, GET', response.headers['Allow'])


class TestRequestBodyLimit(base.TestCase):

    def test_body_over_the_limit_413(self):
        dep = self.useFixture(ff.Deployment(
            extra_conf='[oslo_middleware]\nmax_request_body_size = 64\n'))
        server = dep.add_server()
        volume = dep.add_volume(server)
        response = dep.request(
            '/v2/%s/servers/%s/os-volume_attachments/%s' % (
                ff.PROJECT, server, volume), 'DELETE',
            token='demo:' + ff.PROJECT, body=b'x' * 65,
            headers={'Content-Type': 'application/json'})
        self.assertFault(response, 413, 'overLimit')
        self.assertEqual('in-use', dep.volume_status(volume))


class TestDetachOrder(base.DeploymentTestCase):
    """Where two rows apply, the earlier one answers."""

    def test_root_device_before_lock_and_state(self):
        server = self.dep.add_server(locked=True, vm_state='error')
        root = self.dep.add_volume(server, boot_index=0)
        self.assertFault(self.dep.delete(server, root), 403, 'forbidden')

    def test_lock_before_vm_state(self):
        server = self.dep.add_server(locked=True, vm_state='error')
        volume = self.dep.add_volume(server)
        self.assertFault(self.dep.delete(server, volume), 409,
                         'conflictingRequest',
                         'Instance %s is locked' % server)

    def test_vm_state_before_volume_status(self):
        server = self.dep.add_server(vm_state='error')
        volume = self.dep.add_volume(server, status='available')
        self.assertFault(self.dep.delete(server, volume), 409,
                         'conflictingRequest')


class TestDetachSuccess(base.DeploymentTestCase):

    def setUp(self):
        super().setUp()
        self.worker = self.dep.start_worker(ff.HOST)
        self.other_worker = self.dep.start_worker(ff.OTHER_HOST)

    def _detach_and_wait(self, server, volume, **kwargs):
        response = self.dep.delete(server, volume, **kwargs)
        self.assertAccepted(response)
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(server, volume) is None),
            'the worker did not finish the detach')
        self.assertTrue(self.dep.wait_for(
            lambda: self.worker.idle() and self.other_worker.idle()))
        self.assertEqual('available', self.dep.volume_status(volume))
        return response

    def test_delete_202_worker_finishes(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        response = self._detach_and_wait(server, volume)
        self.assertEqual(1, len(self.worker.received))
        self.assertEqual([], self.other_worker.received)
        cast = self.worker.received[0]
        self.assertEqual(volume, cast['volume_id'])
        self.assertEqual(server,
                         cast['instance']['nova_object.data']['uuid'])
        self.assertEqual('Instance', cast['instance']['nova_object.name'])
        # The request id travels to the worker.
        self.assertEqual(response.headers['x-openstack-request-id'],
                         cast['context'].request_id)
        self.assertEqual(ff.PROJECT, cast['context'].project_id)
        # The instance action of this request, and the worker's event.
        actions = self.dep.snapshot()['instance_actions']
        self.assertEqual(1, len(actions))
        self.assertIn('detach_volume', actions[0])
        self.assertIn(response.headers['x-openstack-request-id'],
                      actions[0])
        self.assertTrue(self.dep.wait_for(lambda: any(
            'Success' in e for e in
            self.dep.snapshot()['instance_actions_events'])))
        events = self.dep.snapshot()['instance_actions_events']
        self.assertIn('compute_detach_volume', events[0])
        self.assertIn(self.dep.host(ff.HOST), events[0])
        # A second DELETE finds no attachment.
        self.assertFault(self.dep.delete(server, volume), 404,
                         'itemNotFound')

    def test_delete_upper_case_ids_202(self):
        # Ids are compared in lower case, whatever the database's
        # collation: the same answer on SQLite, MariaDB and PostgreSQL.
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self.assertAccepted(self.dep.delete(server.upper(), volume.upper()))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(server, volume) is None))
        self.assertEqual(volume, self.worker.received[0]['volume_id'])
        self.assertEqual('available', self.dep.volume_status(volume))

    def test_delete_upper_case_missing_server_404(self):
        server = str(uuid.uuid4())
        self.assertFault(self.dep.delete(server.upper(), str(uuid.uuid4())),
                         404, 'itemNotFound',
                         'Instance %s could not be found.' % server)

    def test_delete_cast_goes_to_the_servers_host(self):
        server = self.dep.add_server(host=ff.OTHER_HOST)
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume)
        self.assertEqual([], self.worker.received)
        self.assertEqual(1, len(self.other_worker.received))

    def test_delete_soft_deletes_the_attachment_row(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume)
        rows = [r for r in self.dep.snapshot()['block_device_mapping']
                if volume in r]
        self.assertEqual(1, len(rows))  # still there, soft-deleted

    def test_delete_in_every_allowed_vm_state_202(self):
        for vm_state in ('active', 'paused', 'stopped', 'resized',
                         'soft-delete'):
            server = self.dep.add_server(vm_state=vm_state)
            volume = self.dep.add_volume(server)
            self._detach_and_wait(server, volume)

    def test_delete_shelved_from_2_20_202(self):
        server = self.dep.add_server(vm_state=states.SHELVED)
        volume = self.dep.add_volume(server)
        for version in ('2.1', '2.19'):
            before = self.dep.snapshot()
            response = self.dep.delete(
                server, volume, prefix='/v2.1',
                headers={'OpenStack-API-Version': 'compute ' + version})
            self.assertFault(response, 409, 'conflictingRequest',
                             "Cannot 'detach_volume' instance %s while it "
                             "is in vm_state shelved" % server)
            self.assertEqual(before, self.dep.snapshot())
        # Legacy v2 has no microversions: 2.1's rules.
        self.assertFault(self.dep.delete(server, volume), 409,
                         'conflictingRequest')
        self._detach_and_wait(
            server, volume, prefix='/v2.1',
            headers={'OpenStack-API-Version': 'compute 2.20'})
        self.assertEqual(1, len(self.worker.received))

    def test_delete_v21_with_and_without_project_202(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume,
                              prefix='/v2.1/%s' % ff.PROJECT)
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume, prefix='/v2.1')

    def test_delete_locked_by_admin_202(self):
        server = self.dep.add_server(locked=True)
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume, user='admin')

    def test_delete_admin_sees_other_projects_server_202(self):
        server = self.dep.add_server(project=ff.OTHER_PROJECT)
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume, user='admin')

    def test_delete_ignores_a_body(self):
        # Nova's detach takes no body; the attach call's is not read.
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self._detach_and_wait(
            server, volume,
            body=b'{"volumeAttachment": {"volumeId": "%s"}}' % (
                str(uuid.uuid4()).encode()),
            headers={'Content-Type': 'application/json'})

    def test_delete_ignores_a_body_with_a_wrong_length(self):
        for length in ('1000', '3'):
            server = self.dep.add_server()
            volume = self.dep.add_volume(server)
            self._detach_and_wait(
                server, volume, body=b'{"not": "json" ...',
                headers={'Content-Type': 'application/json',
                         'Content-Length': length})

    def test_delete_concurrent_one_202(self):
        # The worker's hypervisor is held until every request is answered,
        # so all 19 losers meet the volume detaching (400), none after the
        # worker finished (which would be an honest 404).
        gate = threading.Event()
        self.addCleanup(gate.set)
        worker = self.dep.start_worker('compute-gated',
                                       driver=ff.GatedDriver(gate))
        server = self.dep.add_server(host='compute-gated')
        volume = self.dep.add_volume(server)
        responses = ff.run_concurrently(
            20, lambda: self.dep.delete(server, volume))
        codes = sorted(r.status_int for r in responses)
        self.assertEqual([202] + [400] * 19, codes)
        for r in responses:
            self.assertRequestIds(r)
        gate.set()
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.attachment(server, volume) is None))
        # Give any stray second cast the time to arrive: there is none.
        self.dep.wait_for(lambda: len(worker.received) > 1, timeout=1)
        self.assertEqual(1, len(worker.received))
        self.assertEqual('available', self.dep.volume_status(volume))

    def test_worker_refuses_a_cast_without_instance_action(self):
        # As nova-compute: no action row of the request id, no detach.
        server = self.dep.add_server()
        volume = self.dep.add_volume(server, status='detaching')
        context = self.dep.context.__class__(user_id='demo',
                                             project_id=ff.PROJECT)
        instance = objects.instance_primitive(
            self.dep.db.instance_get_full(context, server))
        before = self.dep.snapshot()
        self.dep.runtime.cells.cell.compute_rpcapi.detach_volume(
            context, instance, volume, None)
        self.assertTrue(self.dep.wait_for(
            lambda: self.worker.received and self.worker.idle()))
        self.assertEqual(before, self.dep.snapshot())

    def test_restarted_worker_finishes_a_detach_left_detaching(self):
        # The API began, recorded its action and cast; the worker died
        # before finishing (the message was acknowledged on receipt and is
        # gone).
        server = self.dep.add_server(host='compute-c')
        volume = self.dep.add_volume(server, status='detaching')
        self.dep.db.action_start(self.dep.context, server, 'detach_volume')
        other = self.dep.add_volume(server)
        elsewhere = self.dep.add_volume(self.dep.add_server(),
                                        status='detaching')
        manager = self.dep.runtime.compute_manager(
            self.dep.host('compute-c'))
        self.assertEqual(1, manager.init_host())
        self.assertIsNone(self.dep.attachment(server, volume))
        self.assertEqual('available', self.dep.volume_status(volume))
        self.assertEqual('in-use', self.dep.volume_status(other))
        self.assertEqual('detaching', self.dep.volume_status(elsewhere))

    def test_duplicate_message_processed_once(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self._detach_and_wait(server, volume)
        # Deliver the same message again, as a broker may.
        cast = self.worker.received[0]
        before = self.dep.snapshot()
        self.worker.detach_volume(cast['context'], cast['instance'],
                                  volume, None)
        self.assertEqual(before, self.dep.snapshot())


class TestDetachFailures(base.DeploymentTestCase):

    def test_cast_fails_503_rolls_back_and_logs_request_id(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        logs = self.dep.capture_logs()
        self.dep.break_the_bus()
        # The volume went to detaching and back: only its updated_at
        # tells.
        before = self.dep.snapshot(ignore=('updated_at',))
        response = self.dep.delete(server, volume)
        self.assertFault(response, 503, 'serviceUnavailable')
        self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertEqual(before, self.dep.snapshot(ignore=('updated_at',)))
        request_id = response.headers['x-openstack-request-id']
        failure_lines = [line for line in logs.getvalue().splitlines()
                         if 'failed' in line]
        self.assertTrue(failure_lines, logs.getvalue())
        self.assertIn(request_id, failure_lines[0])

    def test_worker_failure_rolls_back_and_records_fault(self):
        self.dep.start_worker(ff.HOST, driver=ff.FailingDriver(
            RuntimeError('the hypervisor refused')))
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        self.assertAccepted(self.dep.delete(server, volume))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.snapshot()['instance_faults']))
        self.assertTrue(self.dep.wait_for(
            lambda: self.dep.volume_status(volume) == 'in-use'))
        self.assertIsNotNone(self.dep.attachment(server, volume))
        fault = self.dep.snapshot()['instance_faults'][0]
        self.assertIn('the hypervisor refused', ' '.join(fault))
        # And the user can try again.
        self.assertAccepted(self.dep.delete(server, volume))

    def test_database_unreachable_503(self):
        if not self.dep.db_url.startswith('sqlite'):
            self.skipTest('a SQLite file is made unreadable here; servers '
                          'are cut off in test_processes')
        worker = self.dep.start_worker(ff.HOST)
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        # The database file becomes a folder: SQLite cannot open it.
        path = self.dep.db_url[len('sqlite:///'):]
        self.dep.db.dispose()
        os.rename(path, path + '.away')
        os.mkdir(path)
        response = self.dep.delete(server, volume)
        self.assertFault(response, 503, 'serviceUnavailable',
                         'The compute database could not be reached; '
                         'nothing was changed.  Try again later.')
        os.rmdir(path)
        os.rename(path + '.away', path)
        self.assertEqual('in-use', self.dep.volume_status(volume))
        self.assertEqual([], worker.received)


class TestRealTransportFailure(base.TestCase):
    """A real RabbitMQ driver whose broker does not answer: 503 within the
    bounded retry, volume still in-use."""

    def test_unreachable_broker_503(self):
        dep = self.useFixture(ff.Deployment(
            transport_url='rabbit://guest:guest@127.0.0.1:1/',
            extra_conf='[compute_rpc]\ncast_retry = 0\n'
                       '[oslo_messaging_rabbit]\nrabbit_retry_interval = 1\n'))
        server = dep.add_server()
        volume = dep.add_volume(server)
        response = dep.delete(server, volume)
        self.assertFault(response, 503, 'serviceUnavailable')
        self.assertEqual('in-use', dep.volume_status(volume))


class TestDetachShelvedOffloaded(base.DeploymentTestCase):
    """A shelved offloaded server has no host: from 2.20 the API itself
    finishes the detach, as Nova's does, and casts nothing."""

    def setUp(self):
        super().setUp()
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server(vm_state=states.SHELVED_OFFLOADED,
                                          host=None)
        self.volume = self.dep.add_volume(self.server)

    def delete(self, version='2.20', volume=None):
        return self.dep.delete(
            self.server, volume or self.volume, prefix='/v2.1/' + ff.PROJECT,
            headers={'OpenStack-API-Version': 'compute ' + version})

    def test_before_2_20_409(self):
        before = self.dep.snapshot()
        self.assertFault(self.delete('2.19'), 409, 'conflictingRequest',
                         "Cannot 'detach_volume' instance %s while it is "
                         "in vm_state shelved_offloaded" % self.server)
        self.assertEqual(before, self.dep.snapshot())

    def test_finished_in_the_api_202(self):
        response = self.delete()
        self.assertAccepted(response)
        # Done when the answer comes: no worker involved.
        self.assertIsNone(self.dep.attachment(self.server, self.volume))
        self.assertEqual('available', self.dep.volume_status(self.volume))
        action = self.dep.db.action_get_by_request_id(
            self.dep.context, self.server,
            response.headers['x-openstack-request-id'])
        self.assertEqual('detach_volume', action.action)
        events = self.dep.action_events(action.id)
        self.assertEqual([('api_detach_volume', 'Success')],
                         [(e.event, e.result) for e in events])
        self.assertIsNotNone(events[0].finish_time)
        self.assertEqual([], self.worker.received)
        # Detached now: a second request is Nova's 404.
        self.assertFault(self.delete(), 404, 'itemNotFound')

    def test_concurrent_one_202(self):
        responses = ff.run_concurrently(20, self.delete)
        codes = sorted(r.status_int for r in responses)
        self.assertEqual([202], [c for c in codes if c == 202], codes)
        self.assertEqual({400, 404, 202}.issuperset(codes), True, codes)
        self.assertEqual('available', self.dep.volume_status(self.volume))
        self.assertEqual([], self.worker.received)
        with self.dep.db.engine.connect() as connection:
            count = connection.execute(sa.text(
                "SELECT COUNT(*) FROM instance_actions WHERE "
                "instance_uuid = :uuid"), {'uuid': self.server}).scalar()
        self.assertEqual(1, count)

    def test_already_detached_400_nothing_changed(self):
        volume = self.dep.add_volume(self.server, status='available')
        before = self.dep.snapshot()
        self.assertFault(self.delete(volume=volume), 400, 'badRequest',
                         'Invalid volume: already detached')
        self.assertEqual(before, self.dep.snapshot())


class TestComputeServiceDown(base.DeploymentTestCase):
    """As Nova's API: no cast to a host whose nova-compute is down."""

    def setUp(self):
        super().setUp()
        self.worker = self.dep.start_worker(ff.HOST)
        self.server = self.dep.add_server()
        self.volume = self.dep.add_volume(self.server)

    def test_down_or_forced_down_409(self):
        long_ago = timeutils.utcnow() - datetime.timedelta(seconds=61)
        for kwargs in ({'last_seen_up': long_ago}, {'forced_down': True}):
            with self.dep.db.engine.begin() as connection:
                connection.execute(sa.delete(models.Service))
            self.dep.add_service(66, **kwargs)
            before = self.dep.snapshot()
            self.assertFault(self.dep.delete(self.server, self.volume), 409,
                             'conflictingRequest',
                             'Service is unavailable at this time.')
            self.assertEqual(before, self.dep.snapshot())
        self.assertEqual([], self.worker.received)

    def test_up_202_and_the_cast_carries_the_hosts_services(self):
        self.dep.add_service(66)
        self.dep.add_service(66, binary='nova-foo', topic='foo')
        self.assertAccepted(self.dep.delete(self.server, self.volume))
        self.assertTrue(self.dep.wait_for(lambda: self.worker.received))
        services = self.worker.received[0]['instance'][
            'nova_object.data']['services']
        self.assertEqual(('ServiceList', '1.19'),
                         (services['nova_object.name'],
                          services['nova_object.version']))
        self.assertEqual(
            [('nova-compute', False, False, 66), ('nova-foo', False, False,
                                                  66)],
            [(s['nova_object.data']['binary'],
              s['nova_object.data']['disabled'],
              s['nova_object.data']['forced_down'],
              s['nova_object.data']['version'])
             for s in services['nova_object.data']['objects']])
