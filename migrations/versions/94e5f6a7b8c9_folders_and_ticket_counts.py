"""folders (saved filters) and ticket_count, the per-bucket counters kept by triggers on ticket

Revision ID: 94e5f6a7b8c9
Revises: 93d4e5f6a7b8
Create Date: 2026-11-30 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '94e5f6a7b8c9'
down_revision = '93d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('folder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_folder_owner_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_folder_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_folder'))
    )
    with op.batch_alter_table('folder', schema=None) as batch_op:
        batch_op.create_index('ix_folder_owner', ['owner_id'], unique=False)
        batch_op.create_index('ix_folder_team', ['team_id'], unique=False)

    op.create_table('ticket_count',
    sa.Column('channel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Boolean(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('channel_id', 'team_id', 'assignee_id', 'status', 'priority', 'pending',
                            name=op.f('pk_ticket_count'))
    )
    from models.folder import install_triggers, rebuild_counts

    connection = op.get_bind()
    install_triggers(connection)
    rebuild_counts(connection)


def downgrade():
    from models.folder import DROP_POSTGRES, DROP_SQLITE

    connection = op.get_bind()
    for statement in (DROP_POSTGRES if connection.dialect.name == "postgresql" else DROP_SQLITE):
        connection.exec_driver_sql(statement)
    op.drop_table('ticket_count')
    with op.batch_alter_table('folder', schema=None) as batch_op:
        batch_op.drop_index('ix_folder_team')
        batch_op.drop_index('ix_folder_owner')
    op.drop_table('folder')
