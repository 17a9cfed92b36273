"""Create detach_ext_volumes, the status of volumes of the local backend.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'detach_ext_volumes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255)),
        sa.Column('status', sa.String(255), nullable=False),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
