"""categories: description and hidden; indexes for the tag / category filters and the tree

Revision ID: 8b2c3d4e5f62
Revises: 8c3d4e5f6a73
Create Date: 2026-11-29 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8b2c3d4e5f62'
down_revision = '8c3d4e5f6a73'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index('ix_category_parent_id', ['parent_id'], unique=False)
    op.create_index('ix_ticket_tag_tag_id', 'ticket_tag', ['tag_id'], unique=False)
    op.create_index('ix_ticket_category_category_id', 'ticket_category', ['category_id'], unique=False)


def downgrade():
    op.drop_index('ix_ticket_category_category_id', table_name='ticket_category')
    op.drop_index('ix_ticket_tag_tag_id', table_name='ticket_tag')
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_index('ix_category_parent_id')
        batch_op.drop_column('hidden')
        batch_op.drop_column('description')
