"""suggestions and approval (followup decision fields, user switches, ticket markers), workspace
settings, in-app notifications, and the attempts of outbound actions

Revision ID: 90a1b2c3d4e5
Revises: 8f6a7b8c9da6
Create Date: 2026-11-29 23:51:26.722062

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '90a1b2c3d4e5'
down_revision = '8f6a7b8c9da6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setting',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_setting_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('followup_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['followup_id'], ['followup.id'], name=op.f('fk_notification_followup_id_followup'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_notification_ticket_id_ticket'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_read', ['user_id', 'read_at', 'created_at'], unique=False)

    op.create_table('action_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('retry_after', sa.Double(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['outbound_action.id'], name=op.f('fk_action_attempt_action_id_outbound_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_action_attempt_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_attempt'))
    )
    with op.batch_alter_table('action_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_attempt_action_id'), ['action_id'], unique=False)

    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('original_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('revision_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overdue_notified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('request', sa.JSON(), server_default='{}', nullable=False))
        batch_op.create_index('ix_followup_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_followup_decided_by_id_user'), 'user', ['decided_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_followup_revision_of_id_followup'), 'followup', ['revision_of_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_pending_suggestion', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('approval_required', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_requires_approval', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('permission_overrides', sa.JSON(), server_default='{}', nullable=False))



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('permission_overrides')
        batch_op.drop_column('reply_requires_approval')

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('approval_required')
        batch_op.drop_column('has_pending_suggestion')

    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_followup_revision_of_id_followup'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_followup_decided_by_id_user'), type_='foreignkey')
        batch_op.drop_index('ix_followup_status_created')
        batch_op.drop_column('request')
        batch_op.drop_column('overdue_notified_at')
        batch_op.drop_column('revision_of_id')
        batch_op.drop_column('original_text')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')

    with op.batch_alter_table('action_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_attempt_action_id'))

    op.drop_table('action_attempt')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_read')

    op.drop_table('notification')
    op.drop_table('setting')
