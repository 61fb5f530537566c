"""Test fixtures shared by the whole suite.

* The network is off: any connection to a non-loopback address fails at once
  (like gwcelery's ``disable_socket``); tests start real servers on 127.0.0.1.
* ``TOOFLOW_HOME`` is a fresh temporary directory for every test.
* ``engine`` runs a test on SQLite and on the PostgreSQL at 127.0.0.1:5432
  (a fresh database for the test run, dropped at the end).
* ``prefect`` gives one Prefect test harness for the whole session (~20 s).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

#: The listener tests' real notices (tests/data/listeners/SOURCES.md). A file is kept
#: once in tests/data: four of them are read from the trees they were copied into first.
LISTENER_NOTICES = sorted(
    [p for p in (DATA / "listeners").iterdir() if p.suffix in {".json", ".xml", ".avro"}]
    + [DATA / "lvk" / "avro" / "MS181101ab-retraction.avro",
       DATA / "gcn" / "voevent" / "growth-too-marshal" / "GRB180116A_Fermi_GBM_Fin_Pos.xml",
       DATA / "gcn" / "json" / "einstein_probe" / "alert_247.json",
       DATA / "gcn" / "json" / "einstein_probe" / "alert_248.json"],
    key=lambda p: p.name)


def listener_notice(name: str) -> Path:
    """The listener tests' notice called ``name`` (see :data:`LISTENER_NOTICES`)."""
    return next(p for p in LISTENER_NOTICES if p.name == name)


def snews_file(name: str) -> Path:
    """A SNEWS test file: tests/data/snews, else the GCN SNEWS tree it is kept in."""
    for folder in (DATA / "snews", DATA / "gcn" / "snews" / "snews_pt",
                   DATA / "gcn" / "snews" / "gcn-schema-pr"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no SNEWS test file {name}")
PG_ADMIN_URL = os.environ.get("TOOFLOW_TEST_POSTGRES",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/test")

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


# --- no network -----------------------------------------------------------------

def _is_local(host) -> bool:
    if host in (None, "", "localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guard(address) -> None:
    if isinstance(address, tuple) and not _is_local(address[0]):
        raise OSError(f"network disabled in tests: connection to {address[0]} refused")


def _getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        raise socket.gaierror(socket.EAI_NONAME, f"network disabled in tests: {host}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _connect(self, address):
    _guard(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _guard(address)
    return _real_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex


@pytest.fixture(scope="session", autouse=True)
def _offline_iers():
    """astropy must never try to download IERS tables during tests."""
    from tooflow.iers import configure_iers

    configure_iers(offline=True)


# --- tooflow home ---------------------------------------------------------------

@pytest.fixture(autouse=True)
def tooflow_home(tmp_path, monkeypatch) -> Path:
    """A fresh TOOFLOW_HOME for every test; no config file, default programs."""
    home = tmp_path / "tooflow-home"
    home.mkdir()
    monkeypatch.setenv("TOOFLOW_HOME", str(home))
    for var in list(os.environ):
        if var.startswith("TOOFLOW_") and var not in ("TOOFLOW_HOME", "TOOFLOW_TEST_POSTGRES"):
            monkeypatch.delenv(var)
    return home


# --- databases ------------------------------------------------------------------

@contextmanager
def fresh_postgres_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """Create a PostgreSQL database named ``<prefix>_<random>``; drop it afterwards.

    Yields its name; skips the test when the server is not there. ``template``:
    a copy of that database (which no one may be connected to).
    """
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is not available: {exc}")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_database_url(name: str) -> str:
    """The URL of database ``name`` on the test PostgreSQL server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    with fresh_postgres_database("tooflow_test") as name:
        url = postgres_database_url(name)
        yield url
        from tooflow.db import _engine_for

        _engine_for(url).dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database migrated to head once per session (``alembic upgrade head``).

    Each test's database is a copy of it: migrating afresh cost every database
    test ~0.1 s of CPU (1–2 s of wall time on the shared machine).
    """
    from tooflow.db import create_schema, get_engine

    path = tmp_path_factory.mktemp("schema") / "migrated.sqlite"
    engine = get_engine(url=f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


def _sqlite_copy(template: Path, tmp_path, monkeypatch):
    """A copy of ``template`` as the test's database, also set as the default."""
    import shutil

    from tooflow.db import get_engine

    path = tmp_path / "tooflow.sqlite"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", url)
    return get_engine(url=url)


def _emptied_postgres(engine) -> None:
    """Every tooflow table emptied (ids from 1) if the schema is at head, else migrated afresh.

    The database is the session's: a test may leave it at another revision or
    without tables (those that migrate it themselves), then it is rebuilt.
    """
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from tooflow.db import alembic_config, create_schema, drop_schema

    tables = set(SQLModel.metadata.tables)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    present = set(inspect(engine).get_table_names())
    version = None
    if "alembic_version" in present:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    if version == head and tables <= present:
        # DELETE, not TRUNCATE: on these small tables TRUNCATE's new files cost ~2 s
        with engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
            for (sequence,) in conn.exec_driver_sql(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
    else:
        drop_schema(engine)
        create_schema(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, monkeypatch):
    """A migrated, empty database on SQLite and on PostgreSQL, also set as the default."""
    from tooflow.db import get_engine

    if request.param == "sqlite":
        return _sqlite_copy(request.getfixturevalue("migrated_sqlite"), tmp_path, monkeypatch)
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", url)
    eng = get_engine(url=url)
    _emptied_postgres(eng)
    return eng


@pytest.fixture
def sqlite_engine(migrated_sqlite, tmp_path, monkeypatch):
    """A migrated SQLite database only (for tests where the backend does not matter)."""
    return _sqlite_copy(migrated_sqlite, tmp_path, monkeypatch)


# --- Prefect --------------------------------------------------------------------

@pytest.fixture(scope="session")
def prefect():
    """One Prefect test harness (a temporary server) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    from tests.waiting import HANG

    with prefect_test_harness(server_startup_timeout=int(HANG)):  # bounds a hang only
        yield


# --- markers --------------------------------------------------------------------

#: Fixtures that start a server: Kafka broker, Prefect server (and flows on it),
#: the facility simulator, a ``tooflow``/``prefect`` subprocess server. A test using
#: one is marked ``slow``; ``pytest -m "not slow"`` runs the fast tests only.
SLOW_FIXTURES = frozenset({"kafka_broker", "prefect", "deployment", "simulator", "embedded",
                           "auth_server", "prefect_postgres"})


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test that uses a fixture of :data:`SLOW_FIXTURES`."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
