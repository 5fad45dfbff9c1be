"""tickets: version (stale actions refused) and the triage filters' indexes

(``user.time_zone`` comes with 8c3d4e5f6a73, the saved replies and users settings.)

Revision ID: 8a1b2c3d4e51
Revises: 8b2c3d4e5f62
Create Date: 2026-11-29 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a1b2c3d4e51'
down_revision = '8b2c3d4e5f62'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index('ix_ticket_assignee_activity', ['assignee_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_priority_activity', ['priority', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_sentiment_activity', ['sentiment', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_status_snoozed_until', ['status', 'snoozed_until'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_status_snoozed_until')
        batch_op.drop_index('ix_ticket_sentiment_activity')
        batch_op.drop_index('ix_ticket_priority_activity')
        batch_op.drop_index('ix_ticket_assignee_activity')
        batch_op.drop_column('version')
