"""indexes that match each folder's filter and the queue's order (and ticket.updated_at for the live poll); ticket_tag / ticket_category keep a
copy of their ticket's last activity (kept by triggers) so a tag's page is one index range

Revision ID: 97b8c9d0e1f2
Revises: 96a7b8c9d0e1
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '97b8c9d0e1f2'
down_revision = '96a7b8c9d0e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_channel_id')
        # The live poll's change marker: max(updated_at) is one index lookup.
        batch_op.create_index('ix_ticket_updated', ['updated_at'], unique=False)
        batch_op.create_index('ix_ticket_assignee_status_activity', ['assignee_id', 'status', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_priority_status_activity', ['priority', 'status', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_channel_activity', ['channel_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_channel_kind_activity', ['channel_id', 'kind', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_awaiting_activity', ['last_activity_at', 'id'], unique=False,
                              sqlite_where=sa.text('has_pending_suggestion = 1'),
                              postgresql_where=sa.text('has_pending_suggestion'))
    for table, key in (('ticket_tag', 'tag_id'), ('ticket_category', 'category_id')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('last_activity_at', sa.DateTime(), nullable=True))
            batch_op.drop_index(f'ix_{table}_{key}')
            batch_op.create_index(f'ix_{table}_order', [key, 'last_activity_at', 'ticket_id'], unique=False)

    from models.folder import install_triggers
    from models.taxonomy import REFILL_ACTIVITY

    connection = op.get_bind()
    for statement in REFILL_ACTIVITY:
        connection.exec_driver_sql(statement)
    install_triggers(connection)


def downgrade():
    from models.taxonomy import DROP_POSTGRES_ACTIVITY, DROP_SQLITE_ACTIVITY

    connection = op.get_bind()
    for statement in (DROP_POSTGRES_ACTIVITY if connection.dialect.name == "postgresql" else DROP_SQLITE_ACTIVITY):
        connection.exec_driver_sql(statement)
    for table, key in (('ticket_tag', 'tag_id'), ('ticket_category', 'category_id')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_order')
            batch_op.create_index(f'ix_{table}_{key}', [key], unique=False)
            batch_op.drop_column('last_activity_at')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_awaiting_activity', sqlite_where=sa.text('has_pending_suggestion = 1'),
                            postgresql_where=sa.text('has_pending_suggestion'))
        batch_op.drop_index('ix_ticket_channel_kind_activity')
        batch_op.drop_index('ix_ticket_channel_activity')
        batch_op.drop_index('ix_ticket_priority_status_activity')
        batch_op.drop_index('ix_ticket_assignee_status_activity')
        batch_op.create_index('ix_ticket_channel_id', ['channel_id'], unique=False)
        batch_op.drop_index('ix_ticket_updated')
