"""Alembic environment: runs on the connection detach_ext hands it."""

from alembic import context

from detach_ext.db import migration
from detach_ext.db import models

connection = context.config.attributes['connection']
context.configure(
    connection=connection,
    target_metadata=models.DetachExtBase.metadata,
    version_table=migration.VERSION_TABLE,
    # Only detach_ext's tables are compared or touched; Nova's are not ours.
    include_name=lambda name, type_, parent: (
        type_ != 'table' or name in models.DetachExtBase.metadata.tables),
)
with context.begin_transaction():
    context.run_migrations()
