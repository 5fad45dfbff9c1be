"""wall posts carry their origin network (data only)

Wall posts stored before this revision have the channel's network (``socialwall``); the network
they came from was kept in ``data.origin_network``. Copy it into ``network`` so the queue's
network filter finds them too. Done in Python, in batches, so it reads the same JSON on SQLite
and PostgreSQL.

Revision ID: 5e7a1c0f2b9d
Revises: 01b528850cfd
Create Date: 2026-11-29 15:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7a1c0f2b9d'
down_revision = '01b528850cfd'
branch_labels = None
depends_on = None

ticket = sa.table('ticket', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                  sa.column('network', sa.String), sa.column('data', sa.JSON))
BATCH = 1000


def upgrade():
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(ticket.c.id, ticket.c.data)
                            .where(ticket.c.kind == 'wall_post', ticket.c.network == 'socialwall', ticket.c.id > last)
                            .order_by(ticket.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            origin = str((row.data or {}).get('origin_network') or '').strip().lower()[:30]
            if origin:
                conn.execute(sa.update(ticket).where(ticket.c.id == row.id).values(network=origin))
        last = rows[-1].id


def downgrade():
    op.execute(sa.update(ticket).where(ticket.c.kind == 'wall_post').values(network='socialwall'))
