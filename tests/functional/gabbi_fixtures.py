"""Gabbi fixtures of tests/functional/gabbits: a DetachExtFixture and data.

A YAML file names its fixture (``fixtures: [DetachExt]``); the fixture
starts detach_ext with :class:`detach_ext.fixture.DetachExtFixture` (on
the test database server and bus when DETACH_EXT_TEST_DB_URL and
DETACH_EXT_TEST_TRANSPORT_URL are set), adds one server or volume for
each row of the check table and publishes their ids in the environment,
where the YAML reads them as ``$ENVIRON['NAME']``:

``PROJECT``, ``OTHER_PROJECT``
    the project of the servers, and another one.
``TOKEN``, ``ADMIN_TOKEN``, ``OTHER_TOKEN``, ``ADMIN_OTHER_TOKEN``
    noauth2 tokens: a member and an admin of PROJECT, and of OTHER_PROJECT.
``SERVER``
    an active server on the worker's host, with ``VOLUME``,
    ``VOLUME_2``, ``VOLUME_3`` (in-use), ``ROOT_VOLUME``,
    ``AVAILABLE_VOLUME``, ``DETACHING_VOLUME`` and ``DELETED_VOLUME`` (an
    attachment already soft-deleted).
``<KIND>_SERVER`` with ``<KIND>_VOLUME`` (in-use)
    KIND: ``OTHER`` (another server of PROJECT), ``FOREIGN`` (of
    OTHER_PROJECT), ``DELETED`` (soft-deleted), ``LOCKED`` (also
    ``LOCKED_VOLUME_2``), ``ERROR`` (vm_state error), ``REBOOTING``
    (task_state rebooting), ``SHELVED`` (vm_state shelved).
``MISSING``
    a UUID that names nothing.
"""

import os
import uuid

from gabbi import fixture as gabbi_fixture
from gabbi.handlers import base as gabbi_handlers

from detach_ext import fixture as detach_fixture
from tests.functional import fixtures as ff

# The apps of the running fixtures, newest last.
_APPS = []


def _current(environ, start_response):
    return _APPS[-1](environ, start_response)


def app():
    """The intercept of test_gabbits: a WSGI app that passes each request
    to the app of the DetachExt fixture in use (gabbi asks for it while
    loading the tests, before any fixture starts)."""
    return _current


class DetachExt(gabbi_fixture.GabbiFixture):
    """detach_ext with one server or volume per row of the check table."""

    fixture_args = {}

    def start_fixture(self):
        args = dict(database_url=ff.DB_SERVER_URL,
                    transport_url=ff.shared_transport_url(), intercept=None)
        args.update(self.fixture_args)
        self.fx = detach_fixture.DetachExtFixture(**args)
        self.fx.setUp()
        _APPS.append(self.fx.app)
        self._saved = {}
        for name, value in self.data().items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value

    def stop_fixture(self):
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _APPS.remove(self.fx.app)
        self.fx.cleanUp()

    def data(self):
        fx = self.fx
        other_project = uuid.uuid4().hex
        env = {
            'PROJECT': fx.project,
            'OTHER_PROJECT': other_project,
            'TOKEN': fx.token(),
            'ADMIN_TOKEN': fx.token('admin'),
            'OTHER_TOKEN': fx.token(project=other_project),
            'ADMIN_OTHER_TOKEN': fx.token('admin', other_project),
            'MISSING': str(uuid.uuid4()),
        }
        server = env['SERVER'] = fx.add_server()
        for name in ('VOLUME', 'VOLUME_2', 'VOLUME_3'):
            env[name] = fx.add_volume(server)
        env['ROOT_VOLUME'] = fx.add_volume(server, root=True)
        env['AVAILABLE_VOLUME'] = fx.add_volume(server, status='available')
        env['DETACHING_VOLUME'] = fx.add_volume(server, status='detaching')
        env['DELETED_VOLUME'] = fx.add_volume(server, deleted=True)
        for kind, kwargs in (
                ('OTHER', {}),
                ('FOREIGN', {'project': other_project}),
                ('DELETED', {'deleted': True}),
                ('LOCKED', {'locked': True}),
                ('ERROR', {'vm_state': 'error'}),
                ('REBOOTING', {'task_state': 'rebooting'}),
                ('SHELVED', {'vm_state': 'shelved'})):
            env[kind + '_SERVER'] = fx.add_server(**kwargs)
            env[kind + '_VOLUME'] = fx.add_volume(env[kind + '_SERVER'])
        env['LOCKED_VOLUME_2'] = fx.add_volume(env['LOCKED_SERVER'])
        return env


class BusDown(DetachExt):
    """As DetachExt, with a message bus nobody listens on: every cast
    fails at once (no retry)."""

    fixture_args = {
        'transport_url': 'rabbit://guest:guest@127.0.0.1:1/',
        'worker': False,
        'config': '[compute_rpc]\ncast_retry = 0\n',
    }


class RequestIdsHandler(gabbi_handlers.ResponseHandler):
    """``response_request_ids: [header, ...]``: each header is present,
    ``req-<uuid4>``, and all carry the same id."""

    test_key_suffix = 'request_ids'
    test_key_value = []

    def preprocess(self, test):
        names = test.test_data[self._key]
        values = []
        for name in names:
            value = test.response.get(name.lower())
            test.assertIsNotNone(value, 'no %s header' % name)
            test.assertRegex(value, r'^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]'
                                    r'{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
            values.append(value)
        test.assertEqual(1, len(set(values)),
                         'different request ids: %s' % values)
