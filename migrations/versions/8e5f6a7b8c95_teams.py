"""teams: members, the channels they own, and the team a ticket is handed to

Revision ID: 8e5f6a7b8c95
Revises: 8d4e5f6a7b84
Create Date: 2026-11-29 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e5f6a7b8c95'
down_revision = '8d4e5f6a7b84'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'team',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'team_member',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'user_id'),
    )
    op.create_index('ix_team_member_user_id', 'team_member', ['user_id'], unique=False)
    op.create_table(
        'team_channel',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'channel_id'),
    )
    op.create_index('ix_team_channel_channel_id', 'team_channel', ['channel_id'], unique=False)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_ticket_team_id_team', 'team', ['team_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_ticket_team_activity', ['team_id', 'last_activity_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_team_activity')
        batch_op.drop_constraint('fk_ticket_team_id_team', type_='foreignkey')
        batch_op.drop_column('team_id')
    op.drop_index('ix_team_channel_channel_id', table_name='team_channel')
    op.drop_table('team_channel')
    op.drop_index('ix_team_member_user_id', table_name='team_member')
    op.drop_table('team_member')
    op.drop_table('team')
