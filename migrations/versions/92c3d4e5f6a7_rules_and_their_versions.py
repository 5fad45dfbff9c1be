"""smart rules (in SocialHub's shape) and every version of each

Revision ID: 92c3d4e5f6a7
Revises: 91b2c3d4e5f6
Create Date: 2026-11-30 01:19:49.652010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '92c3d4e5f6a7'
down_revision = '91b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('match', sa.String(length=3), nullable=False),
    sa.Column('stop', sa.Boolean(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_rule_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule'))
    )
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.create_index('ix_rule_active_weight', ['active', 'weight', 'id'], unique=False)

    op.create_table('rule_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('change', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['rule.id'], name=op.f('fk_rule_version_rule_id_rule'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_rule_version_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_version')),
    sa.UniqueConstraint('rule_id', 'version', name=op.f('uq_rule_version_rule_id_version'))
    )


def downgrade():
    op.drop_table('rule_version')
    with op.batch_alter_table('rule', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_active_weight')

    op.drop_table('rule')
