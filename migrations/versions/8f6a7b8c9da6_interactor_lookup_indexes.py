"""interactor lookup indexes: the pane's "other tickets of this person" across channels

Revision ID: 8f6a7b8c9da6
Revises: 8e5f6a7b8c95
Create Date: 2026-11-29 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8f6a7b8c9da6'
down_revision = '8e5f6a7b8c95'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interactor', schema=None) as batch_op:
        batch_op.create_index('ix_interactor_external_id', ['external_id'], unique=False)
        batch_op.create_index('ix_interactor_username', ['username'], unique=False)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_interactor_id', ['interactor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_interactor_id')
    with op.batch_alter_table('interactor', schema=None) as batch_op:
        batch_op.drop_index('ix_interactor_username')
        batch_op.drop_index('ix_interactor_external_id')
