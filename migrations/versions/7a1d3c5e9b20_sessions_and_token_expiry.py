"""users: session_version (ends every session at once); API tokens: expires_at

Revision ID: 7a1d3c5e9b20
Revises: 5f3c2a9e7d41
Create Date: 2026-11-29 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a1d3c5e9b20'
down_revision = '5f3c2a9e7d41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
