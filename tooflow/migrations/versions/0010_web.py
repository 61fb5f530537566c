"""web pages: users, sessions, login attempts, audit trail; plan approvals, circular versions

Revision ID: 0010_web
Revises: 0009_event_monitor
Create Date: 2026-12-06 11:44:51.812516
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tooflow.models._types


revision = '0010_web'
down_revision = '0009_event_monitor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_login_attempt_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_login_attempt_ip'), ['ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_login_attempt_username'), ['username'], unique=False)

    op.create_table('web_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('oidc_subject', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_user_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_user_oidc_subject'), ['oidc_subject'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_user_username'), ['username'], unique=True)

    op.create_table('audit_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=True),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_record_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_event_pk'), ['event_pk'], unique=False)

    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['web_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_token_sha256'), ['token_sha256'], unique=True)
        batch_op.create_index(batch_op.f('ix_web_session_user_id'), ['user_id'], unique=False)

    op.create_table('circular_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent', tooflow.models._types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['draft_id'], ['circular_draft.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_id', 'number', name='uq_circular_version')
    )
    with op.batch_alter_table('circular_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_circular_version_draft_id'), ['draft_id'], unique=False)

    op.create_table('plan_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('program', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline', tooflow.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('default', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided', tooflow.models._types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['event.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_approval_event_pk'), ['event_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_approval_plan_id'), ['plan_id'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('plan_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_approval_plan_id'))
        batch_op.drop_index(batch_op.f('ix_plan_approval_event_pk'))

    op.drop_table('plan_approval')
    with op.batch_alter_table('circular_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_circular_version_draft_id'))

    op.drop_table('circular_version')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_web_session_token_sha256'))

    op.drop_table('web_session')
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_record_event_pk'))
        batch_op.drop_index(batch_op.f('ix_audit_record_created'))
        batch_op.drop_index(batch_op.f('ix_audit_record_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_record_action'))

    op.drop_table('audit_record')
    with op.batch_alter_table('web_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_user_username'))
        batch_op.drop_index(batch_op.f('ix_web_user_oidc_subject'))
        batch_op.drop_index(batch_op.f('ix_web_user_email'))

    op.drop_table('web_user')
    with op.batch_alter_table('web_login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_login_attempt_username'))
        batch_op.drop_index(batch_op.f('ix_web_login_attempt_ip'))
        batch_op.drop_index(batch_op.f('ix_web_login_attempt_created'))

    op.drop_table('web_login_attempt')
