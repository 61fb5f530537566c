"""notice: what the listener's warm first light did before the flow

Revision ID: 0012_notice_first_light
Revises: 0011_plan_gap_thresholds
Create Date: 2026-12-06 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_notice_first_light'
down_revision = '0011_plan_gap_thresholds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice') as batch:
        batch.add_column(sa.Column('first_light', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice') as batch:
        batch.drop_column('first_light')
