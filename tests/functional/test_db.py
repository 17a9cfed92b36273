"""Writes retry a deadlock or a dropped connection (MySQL/Galera) before
the error reaches the request."""

import fixtures
from oslo_db import exception as db_exc
import sqlalchemy as sa
from sqlalchemy import orm

from tests.functional import base


class TestWriteRetry(base.DeploymentTestCase):

    def _flaky(self, error, failures):
        real = orm.Session.execute
        raised = []

        def execute(session, statement, *args, **kwargs):
            if isinstance(statement, sa.Update) and len(raised) < failures:
                raised.append(error)
                raise error
            return real(session, statement, *args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(orm.Session, 'execute',
                                                 execute))
        return raised

    def test_begin_detaching_retries_deadlock(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        raised = self._flaky(db_exc.DBDeadlock(), 2)
        self.assertTrue(self.dep.db.volume_update_status_on_match(
            self.dep.context, volume, 'in-use', 'detaching'))
        self.assertEqual(2, len(raised))
        self.assertEqual('detaching', self.dep.volume_status(volume))

    def test_attachment_destroy_retries_disconnect(self):
        server = self.dep.add_server()
        volume = self.dep.add_volume(server)
        bdm = self.dep.attachment(server, volume)
        raised = self._flaky(db_exc.DBConnectionError(), 1)
        self.assertTrue(self.dep.db.bdm_destroy(self.dep.context, bdm.id))
        self.assertEqual(1, len(raised))
        self.assertIsNone(self.dep.attachment(server, volume))
