"""plan: the part of the gap the per-telescope thresholds gave up

Revision ID: 0011_plan_gap_thresholds
Revises: 0010_web
Create Date: 2026-12-06 15:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_plan_gap_thresholds'
down_revision = '0010_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.add_column(sa.Column('gap_thresholds', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('gap_thresholds')
