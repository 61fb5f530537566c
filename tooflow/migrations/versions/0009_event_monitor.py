"""event_monitor: one monitor per event, polled on a schedule

Revision ID: 0009_event_monitor
Revises: 0008_plan_detection
Create Date: 2026-12-06 12:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tooflow.models._types


revision = '0009_event_monitor'
down_revision = '0008_plan_detection'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_monitor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_pk', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('programs', sa.JSON(), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('drafted_generation', sa.Integer(), nullable=False),
        sa.Column('closes', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('interval', sa.Float(), nullable=False),
        sa.Column('polls', sa.Integer(), nullable=False),
        sa.Column('last_poll', tooflow.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('opened', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('drafted', tooflow.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_pk'], ['event.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('event_monitor') as batch:
        batch.create_index(batch.f('ix_event_monitor_event_pk'), ['event_pk'], unique=True)
        batch.create_index(batch.f('ix_event_monitor_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event_monitor') as batch:
        batch.drop_index(batch.f('ix_event_monitor_status'))
        batch.drop_index(batch.f('ix_event_monitor_event_pk'))
    op.drop_table('event_monitor')
