"""rules run on new items: one run per trigger event with its trace, per-rule counters, and a
channel's business hours

Revision ID: 93d4e5f6a7b8
Revises: 92c3d4e5f6a7
Create Date: 2026-11-30 04:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '93d4e5f6a7b8'
down_revision = '92c3d4e5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rule_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('trace', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ran_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_rule_run_message_id_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_rule_run_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_run')),
    sa.UniqueConstraint('message_id', 'event', name=op.f('uq_rule_run_message_id_event'))
    )
    with op.batch_alter_table('rule_run', schema=None) as batch_op:
        batch_op.create_index('ix_rule_run_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_rule_run_ticket_id', ['ticket_id', 'id'], unique=False)

    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matched_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_matched_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_hours', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.drop_column('business_hours')

    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.drop_column('last_matched_at')
        batch_op.drop_column('failed_count')
        batch_op.drop_column('matched_count')

    with op.batch_alter_table('rule_run', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_run_ticket_id')
        batch_op.drop_index('ix_rule_run_status_id')

    op.drop_table('rule_run')
