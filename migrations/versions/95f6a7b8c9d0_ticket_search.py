"""ticket_search: each ticket's folded search document, with FTS5 (SQLite) or tsvector + trigram
GIN indexes (PostgreSQL), filled for the tickets already there

Revision ID: 95f6a7b8c9d0
Revises: 94e5f6a7b8c9
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '95f6a7b8c9d0'
down_revision = '94e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_search',
    sa.Column('ticket_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('doc', sa.Text(), server_default='', nullable=False),
    sa.Column('author', sa.Text(), server_default='', nullable=False),
    sa.Column('tags', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_search_ticket_id_ticket'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_search'))
    )
    from inbox.search.index import rebuild_all
    from models.search import install

    connection = op.get_bind()
    install(connection)
    rebuild_all(connection)


def downgrade():
    from models.search import DROP_SQLITE

    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        for statement in DROP_SQLITE:
            connection.exec_driver_sql(statement)
    op.drop_table('ticket_search')
