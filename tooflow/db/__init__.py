"""Database engine, sessions and schema management.

SQLite under ``$TOOFLOW_HOME`` by default; PostgreSQL (psycopg2) when
``TOOFLOW_DATABASE_URL`` says so. The schema is managed by Alembic migrations
shipped in :mod:`tooflow.migrations`; :func:`create_schema` upgrades to head.
The database boundary's retry policy: :mod:`tooflow.db.retry`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from .. import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from ..config import Settings, load_settings

__all__ = ["PG_CONNECT_TIMEOUT", "get_engine", "session_scope", "create_schema", "drop_schema",
           "alembic_config"]

#: Seconds PostgreSQL has to answer a new connection (libpq ``connect_timeout``), unless
#: the URL sets its own: a server that accepts and never answers cannot hold a task; the
#: database retry policy (:mod:`tooflow.db.retry`) then tries again.
PG_CONNECT_TIMEOUT = 10


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    from sqlalchemy.engine import make_url

    args = {} if "connect_timeout" in make_url(url).query else {
        "connect_timeout": PG_CONNECT_TIMEOUT}
    # values_plus_batch: an executemany UPDATE/DELETE (the ORM flushing many changed
    # rows) goes in pages of 100 statements per round trip, not one each; INSERTs are
    # batched either way. Its one cost: no row count for such a batch (tooflow checks
    # row counts only of single statements).
    return create_engine(url, pool_pre_ping=True, connect_args=args,
                         executemany_mode="values_plus_batch")


def get_engine(settings: Settings | None = None, url: str | None = None) -> Engine:
    """The (cached) engine for ``url`` or the configured database."""
    if url is None:
        url = (settings or load_settings()).resolved_database_url
    return _engine_for(url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine):
    """An Alembic :class:`~alembic.config.Config` for the package's migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "tooflow:migrations")
    # configparser reads '%' as interpolation: a percent-encoded password, or a path or
    # query with '%', must be written '%%' (it reads back as the URL itself)
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def create_schema(engine: Engine | None = None) -> None:
    """Create or upgrade the schema to the newest migration (``alembic upgrade head``)."""
    from alembic import command

    command.upgrade(alembic_config(engine or get_engine()), "head")


def drop_schema(engine: Engine | None = None) -> None:
    """Drop every tooflow table and the Alembic version table."""
    engine = engine or get_engine()
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
