"""The database boundary's one retry policy (tooflow/db/retry.py) against real failures.

SQLite locked by another writer, a PostgreSQL connection killed by the server
mid-transaction, a PostgreSQL port nothing listens on, a database that does not
exist: each asserts the attempts made and what is stored in the end. The waits
between attempts are recorded, not slept (``sleep=``), and the lock is released
from inside that recorder: nothing here depends on timing.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from tooflow.db import create_schema, get_engine
from tooflow.db.retry import (
    ATTEMPTS,
    BACKOFF,
    DatabaseUnavailable,
    is_transient_database_error,
    until_stored,
    with_database_retries,
)
from tooflow.intake.store import store_notice
from tooflow.models import Notice

from .conftest import DATA, PG_ADMIN_URL
from .test_unsent_requests import closed_port

PAYLOAD = (DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes()


@pytest.fixture
def locked_sqlite(tmp_path):
    """A migrated SQLite file, an engine with a short busy timeout (the lock is reported
    after 0.2 s rather than tooflow's 30 s), and a second connection holding the write lock."""
    path = tmp_path / "locked.sqlite"
    create_schema(get_engine(url=f"sqlite:///{path}"))
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    yield engine, locker
    if locker.in_transaction:
        locker.execute("ROLLBACK")
    locker.close()
    engine.dispose()


def _notices(engine) -> list[Notice]:
    with Session(engine) as s:
        return list(s.exec(select(Notice)))


def test_sqlite_locked_is_retried_until_the_lock_goes(locked_sqlite):
    engine, locker = locked_sqlite
    calls, waits = [], []

    def store():
        calls.append(len(calls) + 1)
        return store_notice(PAYLOAD, "test", engine=engine)

    def wait(seconds: float) -> None:  # the other writer commits during the second wait
        waits.append(seconds)
        if len(waits) == 2:
            locker.execute("ROLLBACK")

    result = with_database_retries(store, what="store", sleep=wait)
    assert calls == [1, 2, 3]
    assert waits == [BACKOFF, 2 * BACKOFF]
    assert result.created
    assert [n.id for n in _notices(engine)] == [result.notice_id]


def test_sqlite_locked_throughout_fails_after_the_attempts_with_nothing_stored(locked_sqlite):
    engine, locker = locked_sqlite
    calls, waits = [], []

    def store():
        calls.append(1)
        return store_notice(PAYLOAD, "test", engine=engine)

    with pytest.raises(DatabaseUnavailable,
                       match=rf"^store: database unavailable after {ATTEMPTS} attempt\(s\): "
                             r"OperationalError: database is locked$") as info:
        with_database_retries(store, what="store", sleep=waits.append)
    assert len(calls) == ATTEMPTS and len(waits) == ATTEMPTS - 1
    assert isinstance(info.value.__cause__, OperationalError)
    locker.execute("ROLLBACK")
    assert _notices(engine) == []


def test_a_consumer_waits_round_after_round_until_the_database_is_back(locked_sqlite):
    """until_stored (the listeners', SNEWS'): rounds of the same policy, each within its
    deadline; a round that gives up is reported and the next starts; once the other
    writer lets go, the message is stored, once."""
    engine, locker = locked_sqlite
    calls, rounds = [], []

    def store():
        calls.append(1)
        return store_notice(PAYLOAD, "test", engine=engine)

    def round_failed(exc: DatabaseUnavailable) -> None:
        rounds.append(str(exc))
        if len(rounds) == 2:  # the database comes back after two failed rounds
            locker.execute("ROLLBACK")

    result = until_stored(store, what="store", stop=threading.Event(),
                          on_round_failed=round_failed, backoff=0.01, deadline=5.0)
    assert result.created and [n.id for n in _notices(engine)] == [result.notice_id]
    assert len(rounds) == 2 and len(calls) == 2 * ATTEMPTS + 1
    assert all(r.startswith(f"store: database unavailable after {ATTEMPTS} attempt(s): "
                            "OperationalError: database is locked") for r in rounds)


def test_a_stopped_consumer_stops_waiting_with_nothing_stored(locked_sqlite):
    engine, _locker = locked_sqlite
    stop, calls = threading.Event(), []

    def store():
        calls.append(1)
        stop.set()  # e.g. SIGTERM while the database is down
        return store_notice(PAYLOAD, "test", engine=engine)

    assert until_stored(store, what="store", stop=stop, backoff=30.0) is None
    assert len(calls) == 1  # the 30 s wait after the first attempt ended: no second one
    assert _notices(engine) == []


def test_a_statement_error_is_not_retried_by_a_consumer_either(tmp_path):
    engine = get_engine(url=f"sqlite:///{tmp_path / 'empty.sqlite'}")  # no schema
    calls = []

    def store():
        calls.append(1)
        return store_notice(PAYLOAD, "test", engine=engine)

    with pytest.raises(OperationalError, match="no such table"):
        until_stored(store, what="store", stop=threading.Event())
    assert calls == [1]


def test_no_wait_starts_past_the_deadline(locked_sqlite):
    engine, _locker = locked_sqlite
    calls = []

    def store():
        calls.append(1)
        return store_notice(PAYLOAD, "test", engine=engine)

    # 2 s before the second attempt does not fit in a 1 s deadline: one attempt only.
    with pytest.raises(DatabaseUnavailable, match=r"no time left within the 1 s deadline "
                                                  r"after 1 attempt\(s\)"):
        with_database_retries(store, what="store", deadline=1.0, sleep=lambda s: None)
    assert len(calls) == 1


def test_a_statement_error_is_not_retried(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")  # no schema
    calls = []

    def store():
        calls.append(1)
        return store_notice(PAYLOAD, "test", engine=engine)

    with pytest.raises(OperationalError, match="no such table"):
        with_database_retries(store, sleep=lambda s: None)
    assert len(calls) == 1


@pytest.fixture
def postgres(postgres_url):
    engine = create_engine(postgres_url)
    table = f"retry_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id serial PRIMARY KEY, attempt int)"))
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine, admin, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()
    admin.dispose()


def test_postgres_connection_killed_mid_transaction_is_retried_once(postgres):
    engine, admin, table = postgres
    calls, waits = [], []

    def work():
        calls.append(len(calls) + 1)
        with Session(engine) as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            if len(calls) == 1:  # the server ends this connection (a restart, a failover)
                with admin.connect() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            session.execute(text(f"INSERT INTO {table} (attempt) VALUES (:n)"),
                            {"n": len(calls)})
            session.commit()

    with_database_retries(work, what="probe", sleep=waits.append)
    assert calls == [1, 2] and waits == [BACKOFF]
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT attempt FROM {table}")).scalars().all() == [2]


def test_postgres_refusing_connections_fails_after_the_attempts():
    url = PG_ADMIN_URL.replace(":5432/", f":{closed_port()}/")
    engine = create_engine(url)
    calls = []

    def work():
        calls.append(1)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    with pytest.raises(DatabaseUnavailable, match=r"probe: database unavailable after 3 "
                                                  r"attempt\(s\): OperationalError: .*refused"):
        with_database_retries(work, what="probe", attempts=3, sleep=lambda s: None)
    assert len(calls) == 3
    engine.dispose()


@pytest.mark.slow  # waits out the 10 s connect timeout
def test_a_postgres_server_that_never_answers_cannot_hold_a_connection():
    """A port that accepts TCP connections and never speaks: tooflow's engine gives up after
    its connect timeout (tooflow.db.PG_CONNECT_TIMEOUT), and the policy names it."""
    import socket
    import time

    from tooflow.db import PG_CONNECT_TIMEOUT

    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)  # the kernel completes the handshake; nobody ever answers
        url = PG_ADMIN_URL.replace(":5432/", f":{mute.getsockname()[1]}/")
        engine = get_engine(url=url)
        calls = []

        def work():
            calls.append(1)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        start = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=r"after 1 attempt\(s\): "
                                                      r"OperationalError: .*timeout"):
            with_database_retries(work, what="probe", attempts=1)
        assert len(calls) == 1
        # Bounded by the connect timeout, not by the kernel's minutes of TCP retries
        # (generous for a busy machine: it is a bound, not a measurement).
        assert time.monotonic() - start < PG_CONNECT_TIMEOUT + 20
        engine.dispose()


def test_postgres_database_that_does_not_exist_is_not_retried(postgres_url):
    engine = create_engine(postgres_url.rsplit("/", 1)[0] + f"/nope_{uuid.uuid4().hex[:8]}")
    calls = []

    def work():
        calls.append(1)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    with pytest.raises(OperationalError, match="does not exist") as info:
        with_database_retries(work, sleep=lambda s: None)
    assert not is_transient_database_error(info.value)
    assert len(calls) == 1
    engine.dispose()
