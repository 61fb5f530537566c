"""notice failures, notice order, sky map warnings

A stage that fails records its reason (``notice.error``, ``event.last_error``);
``notice.issued`` and ``event.latest_notice_id`` let a stale notice lose to a
later one whatever the arrival order; ``localization.warning`` says what was
repaired in a sky map (e.g. renormalised).

Revision ID: 0005_failures_order
Revises: 0004_coincidence
Create Date: 2026-12-06 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tooflow.models._types


revision = '0005_failures_order'
down_revision = '0004_coincidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice') as batch:
        batch.add_column(sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('issued', tooflow.models._types.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(),
                                   nullable=True))
        batch.add_column(sa.Column('latest_notice_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('localization') as batch:
        batch.add_column(sa.Column('warning', sqlmodel.sql.sqltypes.AutoString(),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('localization') as batch:
        batch.drop_column('warning')
    with op.batch_alter_table('event') as batch:
        batch.drop_column('latest_notice_id')
        batch.drop_column('last_error')
    with op.batch_alter_table('notice') as batch:
        batch.drop_column('issued')
        batch.drop_column('error')
