"""Schema management: alembic for detach_ext's tables, Nova's on request.

detach_ext keeps its alembic revision in ``detach_ext_alembic_version``,
not ``alembic_version``: a Nova cell database already has that table for
Nova's own migrations.
"""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from detach_ext.db import models

VERSION_TABLE = 'detach_ext_alembic_version'


def _alembic_config(connection):
    config = alembic_config.Config()
    config.set_main_option(
        'script_location',
        os.path.join(os.path.dirname(__file__), 'migrations'))
    config.attributes['connection'] = connection
    return config


def create_nova_schema(engine):
    """Create the Nova tables detach_ext reads, where they are missing.

    ``checkfirst`` leaves an existing table (a real Nova schema) untouched.
    """
    models.NovaBase.metadata.create_all(engine, checkfirst=True)


def db_sync(engine, create_nova=False):
    """Upgrade detach_ext's tables to the newest revision (idempotent)."""
    if create_nova:
        create_nova_schema(engine)
    with engine.begin() as connection:
        alembic_command.upgrade(_alembic_config(connection), 'head')


def db_version(engine):
    """The current revision of detach_ext's tables, or None."""
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={'version_table': VERSION_TABLE})
        return context.get_current_revision()


def head_revision():
    """The revision this code's migrations end at."""
    return alembic_script.ScriptDirectory.from_config(
        _alembic_config(None)).get_current_head()
