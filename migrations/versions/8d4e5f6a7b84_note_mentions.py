"""notes: who each internal note @mentions (the "mentions me" filter)

Revision ID: 8d4e5f6a7b84
Revises: 8a1b2c3d4e51
Create Date: 2026-11-29 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d4e5f6a7b84'
down_revision = '8a1b2c3d4e51'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'note_mention',
        sa.Column('followup_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['followup_id'], ['followup.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('followup_id', 'user_id'),
    )
    op.create_index('ix_note_mention_user', 'note_mention', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_note_mention_user', table_name='note_mention')
    op.drop_table('note_mention')
