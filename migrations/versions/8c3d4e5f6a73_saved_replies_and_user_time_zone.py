"""saved replies (with their channels); users: time_zone

Revision ID: 8c3d4e5f6a73
Revises: 7a1d3c5e9b20
Create Date: 2026-11-29 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c3d4e5f6a73'
down_revision = '7a1d3c5e9b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
    op.create_table(
        'saved_reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_saved_reply_owner_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reply')),
    )
    with op.batch_alter_table('saved_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_reply_owner_id'), ['owner_id'], unique=False)
    op.create_table(
        'saved_reply_channel',
        sa.Column('saved_reply_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_saved_reply_channel_channel_id_channel'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['saved_reply_id'], ['saved_reply.id'],
                                name=op.f('fk_saved_reply_channel_saved_reply_id_saved_reply'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('saved_reply_id', 'channel_id', name=op.f('pk_saved_reply_channel')),
    )


def downgrade():
    op.drop_table('saved_reply_channel')
    with op.batch_alter_table('saved_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_reply_owner_id'))
    op.drop_table('saved_reply')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
