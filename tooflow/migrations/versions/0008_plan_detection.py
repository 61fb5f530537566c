"""plan: objective name, probability covered and of detection under the counterpart model

Revision ID: 0008_plan_detection
Revises: 0007_candidates
Create Date: 2026-12-06 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_plan_detection'
down_revision = '0007_candidates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.add_column(sa.Column('objective_name', sa.String(), nullable=True))
        batch.add_column(sa.Column('covered', sa.Float(), nullable=True))
        batch.add_column(sa.Column('detected', sa.Float(), nullable=True))
        batch.add_column(sa.Column('counterpart', sa.Text(), nullable=True))
        batch.add_column(sa.Column('per_telescope_added', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        for name in ('per_telescope_added', 'counterpart', 'detected', 'covered',
                     'objective_name'):
            batch.drop_column(name)
