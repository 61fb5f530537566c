"""plan.idle: why telescopes got nothing, when the source next becomes observable

Revision ID: 0006_plan_idle
Revises: 0005_failures_order
Create Date: 2026-12-06 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_plan_idle'
down_revision = '0005_failures_order'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.add_column(sa.Column('idle', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('idle')
