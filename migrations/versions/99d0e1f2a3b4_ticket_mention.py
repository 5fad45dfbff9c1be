"""ticket_mention: the tickets whose notes mention a user, with the ticket's status, activity,
channel, team and assignee, kept by triggers: the "Mentions" page is one index range in the queue's order (models/mention.py)

Revision ID: 99d0e1f2a3b4
Revises: 98c9d0e1f2a3
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '99d0e1f2a3b4'
down_revision = '98c9d0e1f2a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_mention',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('last_activity_at', sa.DateTime(), nullable=True),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_mention_ticket_id_ticket'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_ticket_mention_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'ticket_id', name=op.f('pk_ticket_mention')),
    )
    op.create_index('ix_ticket_mention_order', 'ticket_mention', ['user_id', 'status', 'last_activity_at', 'ticket_id'])
    op.create_index('ix_ticket_mention_ticket', 'ticket_mention', ['ticket_id'])

    from models.folder import install_triggers
    from models.mention import REFILL_MENTIONS

    connection = op.get_bind()
    for statement in REFILL_MENTIONS:
        connection.exec_driver_sql(statement)
    install_triggers(connection)


def downgrade():
    from models.mention import DROP_POSTGRES_MENTION, DROP_SQLITE_MENTION

    connection = op.get_bind()
    for statement in (DROP_POSTGRES_MENTION if connection.dialect.name == "postgresql" else DROP_SQLITE_MENTION):
        connection.exec_driver_sql(statement)
    op.drop_index('ix_ticket_mention_ticket', table_name='ticket_mention')
    op.drop_index('ix_ticket_mention_order', table_name='ticket_mention')
    op.drop_table('ticket_mention')
