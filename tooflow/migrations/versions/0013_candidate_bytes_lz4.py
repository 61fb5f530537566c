"""candidate packets and cutouts: lz4-compressed on PostgreSQL

The raw packets (``candidate_alert.payload``) and the cutouts
(``candidate_cutout.data``) are 15-75 kB each. PostgreSQL's default TOAST
compression (pglz) spends about a millisecond on a packet and gives up (it
wants 25 % saved; the cutouts inside are gzipped FITS); lz4 takes a fraction
of that and keeps about a quarter less on disk. Only for values written
from now on; a server built without lz4 (or before PostgreSQL 14) keeps its
default. SQLite: nothing to do.

Revision ID: 0013_candidate_bytes_lz4
Revises: 0012_notice_first_light
Create Date: 2026-12-06 18:30:00
"""
from alembic import op


revision = '0013_candidate_bytes_lz4'
down_revision = '0012_notice_first_light'
branch_labels = None
depends_on = None

_COLUMNS = (('candidate_alert', 'payload'), ('candidate_cutout', 'data'))


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return False
    return bind.exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'").scalar() is True


def upgrade() -> None:
    if _lz4_available():
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4')


def downgrade() -> None:
    if _lz4_available():
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION DEFAULT')
