"""Whether the database is ready for this tooflow, said in one line with what to run.

The commands that write (``tooflow ingest``, ``listen``, ``candidates ingest``,
``db create``...) create or upgrade the schema on first use; the commands that
only read (``show``, ``events``, ``health``...) never write, so on a fresh
``TOOFLOW_HOME``, a database made by an older tooflow, or a PostgreSQL server
that does not answer, their query fails. :func:`explain_database_error` turns
that failure into one line: the database (password hidden), what is wrong
(:class:`SchemaState`: empty, at an older migration, made by a newer tooflow)
and what to run. The check runs only after a failure, so a working command
pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["DatabaseNotReady", "SchemaState", "database_label", "explain_database_error",
           "explained", "is_database_error", "one_line", "require_current_schema",
           "schema_state"]


class DatabaseNotReady(RuntimeError):
    """The database cannot serve this command; the message says why and what to run."""

    def __init__(self, message: str, state: SchemaState | None = None) -> None:
        super().__init__(message)
        self.state = state


def database_label(engine: Engine) -> str:
    """The engine's URL with the password hidden, as printed to users."""
    return engine.url.render_as_string(hide_password=True)


def one_line(text: str) -> str:
    """A driver's message on one line (psycopg2's span several, indented with tabs)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


@dataclass(frozen=True)
class SchemaState:
    """What the database holds compared with this tooflow's migrations.

    Attributes
    ----------
    url : str
        The database, password hidden.
    revisions : tuple of str
        The Alembic revisions the database records (empty: never migrated).
    heads : tuple of str
        The newest revisions this tooflow ships.
    known : frozenset of str
        Every revision this tooflow ships.
    tables : int
        How many tables the database has (Alembic's own included).
    """

    url: str
    revisions: tuple[str, ...]
    heads: tuple[str, ...]
    known: frozenset[str]
    tables: int

    @property
    def status(self) -> str:
        """``empty``, ``current``, ``behind`` (an older migration) or ``unknown``."""
        if not self.revisions:
            return "empty" if self.tables == 0 else "unknown"
        if set(self.revisions) == set(self.heads):
            return "current"
        if set(self.revisions) <= self.known:
            return "behind"
        return "unknown"

    @property
    def reason(self) -> str:
        """What is wrong, short (``database is empty: nothing ingested yet``)."""
        return {
            "empty": "database is empty: nothing ingested yet",
            "current": "database schema is current",
            "behind": (f"database is at migration {', '.join(self.revisions)}, this tooflow "
                       f"needs {', '.join(self.heads)}"),
            "unknown": (f"database has {self.tables} table(s) but migration "
                        f"{', '.join(self.revisions) or 'none'} unknown to this tooflow "
                        f"(needs {', '.join(self.heads)}): made by a newer tooflow, or not "
                        "a tooflow database"),
        }[self.status]

    @property
    def advice(self) -> str:
        """What to run about it ('' when nothing can be run)."""
        return {
            "empty": "`tooflow ingest FILE` stores a notice, `tooflow db create` creates "
                     "the tables",
            "behind": "`tooflow db create` upgrades it; listen and ingest do too",
        }.get(self.status, "")

    def describe(self) -> str:
        """One line: the database, what is wrong, what to run."""
        return f"{self.url}: {self.reason}" + (f" ({self.advice})" if self.advice else "")


def _shipped_revisions() -> tuple[tuple[str, ...], frozenset[str]]:
    import logging

    # alembic logs a line per plugin at INFO when loaded: noise in a service's log level
    log = logging.getLogger("alembic")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", "tooflow:migrations")
        script = ScriptDirectory.from_config(cfg)
        return (tuple(script.get_heads()),
                frozenset(rev.revision for rev in script.walk_revisions()))
    finally:
        log.setLevel(level)


def schema_state(engine: Engine) -> SchemaState:
    """Read the database's tables and Alembic revision; write nothing.

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        The database cannot be reached.
    """
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        revisions: tuple[str, ...] = ()
        if "alembic_version" in tables:
            revisions = tuple(sorted(r for (r,) in conn.execute(
                text("SELECT version_num FROM alembic_version"))))
    heads, known = _shipped_revisions()
    return SchemaState(url=database_label(engine), revisions=revisions, heads=heads,
                       known=known, tables=len(tables))


def is_database_error(exc: BaseException) -> bool:
    """True for an error the database driver raised (through SQLAlchemy).

    Does not import SQLAlchemy: a command that never loaded it raised none.
    """
    import sys

    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def _deadline_note(engine: Engine, driver: str) -> str:
    """For libpq's "timeout expired": which deadline it was (the URL's or tooflow's)."""
    if "timeout expired" not in driver:
        return ""
    from . import PG_CONNECT_TIMEOUT

    seconds = engine.url.query.get("connect_timeout") or PG_CONNECT_TIMEOUT
    return f" (no answer within connect_timeout = {seconds} s)"


def explain_database_error(exc: BaseException, engine: Engine) -> DatabaseNotReady:
    """One line for a failed query: the schema's state if that is why, else the driver's words.

    Parameters
    ----------
    exc : sqlalchemy.exc.DBAPIError
        What the query raised.
    engine : Engine
        The database it ran on.

    Returns
    -------
    DatabaseNotReady
        Its message names the database and, for a missing or older schema, what
        to run; ``state`` is the :class:`SchemaState` when it could be read.
    """
    from sqlalchemy.exc import DBAPIError

    label = database_label(engine)
    driver = one_line(getattr(exc, "orig", None) or exc)
    if getattr(exc, "statement", None) is None:  # the connection itself failed: no second try
        return DatabaseNotReady(f"cannot use the database {label}: {driver}"
                                + _deadline_note(engine, driver))
    try:
        state = schema_state(engine)
    except DBAPIError as unreachable:
        return DatabaseNotReady(
            f"cannot use the database {label}: {one_line(unreachable.orig or unreachable)}")
    if state.status == "current":
        return DatabaseNotReady(f"database {label}: {driver}", state)
    return DatabaseNotReady(state.describe(), state)


@contextmanager
def explained(engine: Engine) -> Iterator[None]:
    """Queries inside raise :class:`DatabaseNotReady` (one line) instead of the driver's error.

    Raises
    ------
    DatabaseNotReady
        From :func:`explain_database_error`, the driver's error as its cause.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise explain_database_error(exc, engine) from exc


def require_current_schema(engine: Engine) -> SchemaState:
    """The schema's state, checked up front (for commands about to run flows, which write).

    Costs an import of Alembic's script loader (~0.3 s of CPU): for commands that
    start Prefect anyway (``rerun``, ``reconcile``), so that they stop before it,
    in one line, instead of failing inside a flow run on a missing column.

    Raises
    ------
    DatabaseNotReady
        The database is unreachable, empty, or not at this tooflow's migration.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        state = schema_state(engine)
    except DBAPIError as exc:
        raise DatabaseNotReady(f"cannot use the database {database_label(engine)}: "
                               f"{one_line(exc.orig or exc)}") from exc
    if state.status != "current":
        raise DatabaseNotReady(state.describe(), state)
    return state
