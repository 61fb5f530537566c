"""The candidate tables: the Alembic migrations create exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from tooflow import models

CANDIDATE_TABLES = {"candidate", "candidate_alert", "candidate_photometry", "candidate_cutout",
                    "candidate_vetting", "candidate_event", "candidate_followup"}


def test_one_migration_head():
    cfg = Config()
    cfg.set_main_option("script_location", "tooflow:migrations")
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads


def test_migration_matches_the_candidate_models(engine):
    assert CANDIDATE_TABLES <= set(SQLModel.metadata.tables)
    assert models.Candidate.__tablename__ == "candidate"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []  # every table, the candidate ones included, as the migrations make it
