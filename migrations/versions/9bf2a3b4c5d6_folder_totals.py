"""folder_total: per channel and team, the number of tickets in each built-in folder that is the
same for everyone who sees it, kept by the ticket_count triggers; and an index of ticket_count by
assignee (a user's own rows): the numbers after a change read ~90 rows, not ~6,400 (models/folder.py);
ix_ticket_mention_order carries the visibility copies, so a user's Mentions number reads the index alone

Revision ID: 9bf2a3b4c5d6
Revises: 9ae1f2a3b4c5
Create Date: 2026-12-07 07:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9bf2a3b4c5d6'
down_revision = '9ae1f2a3b4c5'
branch_labels = None
depends_on = None

_ORDER = ['user_id', 'status', 'last_activity_at', 'ticket_id']
_COPIES = ['channel_id', 'team_id', 'assignee_id']
_TOTALS = ['inbox', 'unassigned', 'priority', 'snoozed', 'approval', 'failed', 'archived', 'everything']


def _drop_triggers() -> None:
    from models.folder import DROP_POSTGRES, DROP_SQLITE

    connection = op.get_bind()
    for statement in (DROP_POSTGRES if connection.dialect.name == "postgresql" else DROP_SQLITE):
        connection.exec_driver_sql(statement)


def _install() -> None:
    """The ticket_count triggers made for what the schema now has (they read it: with folder_total
    they keep it too, without it they do not), and everything recounted."""
    from models.folder import install_triggers, rebuild_counts

    connection = op.get_bind()
    rebuild_counts(connection)
    install_triggers(connection)


def upgrade():
    op.create_table(
        'folder_total',
        sa.Column('channel_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in _TOTALS],
        sa.PrimaryKeyConstraint('channel_id', 'team_id', name=op.f('pk_folder_total')),
    )
    op.create_index('ix_ticket_count_assignee', 'ticket_count', ['assignee_id'])
    op.drop_index('ix_ticket_mention_order', table_name='ticket_mention')
    op.create_index('ix_ticket_mention_order', 'ticket_mention', _ORDER + _COPIES)
    _drop_triggers()
    _install()


def downgrade():
    _drop_triggers()
    op.drop_index('ix_ticket_mention_order', table_name='ticket_mention')
    op.create_index('ix_ticket_mention_order', 'ticket_mention', _ORDER)
    op.drop_index('ix_ticket_count_assignee', table_name='ticket_count')
    op.drop_table('folder_total')
    _install()
