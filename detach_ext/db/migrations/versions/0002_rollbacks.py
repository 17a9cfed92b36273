"""Create detach_ext_rollbacks, the roll backs the repair owes (Cinder).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'detach_ext_rollbacks',
        sa.Column('volume_id', sa.String(36), primary_key=True),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        sa.Column('request_id', sa.String(255)),
        sa.Column('created_at', sa.DateTime),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
