"""ticket.has_failed_send, kept by triggers on outbound_action, and its partial index in the queue's
order: the "Failed sends" page is one index range (models/failed_send.py)

Revision ID: 98c9d0e1f2a3
Revises: 97b8c9d0e1f2
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '98c9d0e1f2a3'
down_revision = '97b8c9d0e1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_failed_send', sa.Boolean(), server_default='0', nullable=False))

    from models.failed_send import RAISE_FAILED_SEND
    from models.folder import install_triggers

    connection = op.get_bind()
    for statement in RAISE_FAILED_SEND:
        connection.exec_driver_sql(statement)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_failed_activity', ['last_activity_at', 'id'], unique=False,
                              sqlite_where=sa.text('has_failed_send = 1'),
                              postgresql_where=sa.text('has_failed_send'))
    install_triggers(connection)


def downgrade():
    from models.failed_send import DROP_POSTGRES_FAILED_SEND, DROP_SQLITE_FAILED_SEND

    connection = op.get_bind()
    pg = connection.dialect.name == "postgresql"
    for statement in (DROP_POSTGRES_FAILED_SEND if pg else DROP_SQLITE_FAILED_SEND):
        connection.exec_driver_sql(statement)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_failed_activity', sqlite_where=sa.text('has_failed_send = 1'),
                            postgresql_where=sa.text('has_failed_send'))
    # In place on SQLite too (3.35+), not batch mode's rebuild of the table: that drops ticket's own
    # triggers, its DROP TABLE cascades to every ticket's rows while foreign keys are on, and its
    # rename fails on the triggers of other tables that name ticket.
    connection.exec_driver_sql("ALTER TABLE ticket DROP COLUMN has_failed_send")
