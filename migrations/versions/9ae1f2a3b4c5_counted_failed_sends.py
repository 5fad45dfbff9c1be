"""ticket_count counts has_failed_send too ("Failed sends" is a sum like the other built-in
folders), and a partial index of each author's pending suggestions ("My suggestions")

Revision ID: 9ae1f2a3b4c5
Revises: 99d0e1f2a3b4
Create Date: 2026-12-07 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9ae1f2a3b4c5'
down_revision = '99d0e1f2a3b4'
branch_labels = None
depends_on = None

_PENDING = "status = 'suggested' AND type = 'suggestion'"


def _counter_table(with_failed: bool) -> None:
    """ticket_count made again with or without the failed column (its primary key changes; the
    rows are derived, so they are recounted from the tickets, not copied)."""
    from models.folder import DROP_POSTGRES, DROP_SQLITE

    connection = op.get_bind()
    for statement in (DROP_POSTGRES if connection.dialect.name == "postgresql" else DROP_SQLITE):
        connection.exec_driver_sql(statement)
    op.drop_table('ticket_count')
    key = ['channel_id', 'team_id', 'assignee_id', 'status', 'priority', 'pending'] + (['failed'] if with_failed else [])
    op.create_table(
        'ticket_count',
        sa.Column('channel_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('priority', sa.Boolean(), nullable=False),
        sa.Column('pending', sa.Boolean(), nullable=False),
        *([sa.Column('failed', sa.Boolean(), nullable=False)] if with_failed else []),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f('pk_ticket_count')),
    )


def upgrade():
    _counter_table(with_failed=True)
    from models.folder import install_triggers, rebuild_counts

    connection = op.get_bind()
    rebuild_counts(connection)
    install_triggers(connection)
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.create_index('ix_followup_suggested_author', ['author_id', 'ticket_id'], unique=False,
                              sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING))


def downgrade():
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.drop_index('ix_followup_suggested_author', sqlite_where=sa.text(_PENDING),
                            postgresql_where=sa.text(_PENDING))
    _counter_table(with_failed=False)
    from models.folder import install_triggers, rebuild_counts

    # They read the schema: without the failed column they count and trigger as the revision below.
    connection = op.get_bind()
    rebuild_counts(connection)
    install_triggers(connection)
