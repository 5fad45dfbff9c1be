"""raw events: retry_at and the drain's index

Revision ID: 5f3c2a9e7d41
Revises: 5e7a1c0f2b9d
Create Date: 2026-11-29 15:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f3c2a9e7d41'
down_revision = '5e7a1c0f2b9d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('raw_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_raw_event_channel_status_id', ['channel_id', 'status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('raw_event', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_event_channel_status_id')
        batch_op.drop_column('retry_at')
