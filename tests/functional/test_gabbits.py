"""The contract as gabbi YAML (tests/functional/gabbits), as placement's.

Each YAML file runs against its own DetachExtFixture (named in its
``fixtures``); .stestr.conf keeps a file's tests together, in order.
"""

import os

from gabbi import driver

from tests.functional import gabbi_fixtures

TESTS_DIR = os.path.join(os.path.dirname(__file__), 'gabbits')


def load_tests(loader, tests, pattern):
    return driver.build_tests(
        TESTS_DIR, loader, host=None, test_loader_name=__name__,
        intercept=gabbi_fixtures.app, fixture_module=gabbi_fixtures,
        response_handlers=[gabbi_fixtures.RequestIdsHandler])
