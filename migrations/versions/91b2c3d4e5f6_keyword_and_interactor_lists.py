"""keyword and interactor lists: what smart rules match authors and words against

Revision ID: 91b2c3d4e5f6
Revises: 90a1b2c3d4e5
Create Date: 2026-11-30 01:17:32.821003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '91b2c3d4e5f6'
down_revision = '90a1b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interactor_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactor_list')),
    sa.UniqueConstraint('name', name=op.f('uq_interactor_list_name'))
    )
    op.create_table('keyword_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyword_list')),
    sa.UniqueConstraint('name', name=op.f('uq_keyword_list_name'))
    )


def downgrade():
    op.drop_table('keyword_list')
    op.drop_table('interactor_list')
