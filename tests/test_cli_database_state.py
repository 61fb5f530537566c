"""The read commands on a database that cannot serve them: one line, what to run, the right status.

A fresh ``TOOFLOW_HOME`` (no tables), a database at an older migration, a
fresh PostgreSQL database, a PostgreSQL port that refuses connections and a
server that accepts them and never answers: no SQL, no traceback, the
database named (password hidden), and for a lookup exit status 1.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.conftest import fresh_postgres_database, postgres_database_url
from tooflow.cli import main
from tooflow.db import PG_CONNECT_TIMEOUT

#: Every command that reads the database, with its exit status on an empty one:
#: listing nothing is not a failure, naming something that is not there is.
READ_COMMANDS = [
    (["events"], 0),
    (["show", "MS181101ab"], 1),
    (["circular", "MS181101ab"], 1),
    (["candidates", "MS181101ab"], 1),
    (["candidate", "ZTF18abvkwla"], 1),
    (["vet", "ZTF18abvkwla", "--state", "interesting", "--comment", "red"], 1),
    (["plan", "MS181101ab"], 1),
    (["rerun", "MS181101ab"], 1),
    (["approve"], 0),
    (["approve", "3"], 1),
    (["reconcile"], 0),
    (["coincidence", "status"], 0),
    (["health"], 1),
]


def _one_line_no_sql(out: str, err: str) -> str:
    text = out + err
    for leak in ("SELECT", "[SQL:", "Traceback", "sqlalche.me", "OperationalError",
                 "ProgrammingError"):
        assert leak not in text, text
    lines = [line for line in err.splitlines() if line]
    assert len(lines) <= 1, err
    return text


@pytest.mark.parametrize(("argv", "status"), READ_COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else str(v))
def test_a_fresh_home_says_the_database_is_empty_and_what_to_run(argv, status, tooflow_home,
                                                                 capsys):
    assert main(argv) == status
    captured = capsys.readouterr()
    text = _one_line_no_sql(captured.out, captured.err)
    assert "database is empty: nothing ingested yet" in text
    assert str(tooflow_home / "tooflow.sqlite") in text
    if status:
        assert "`tooflow ingest FILE`" in text or "FAILED" in text


def test_show_on_a_fresh_home_names_the_event_and_the_database(tooflow_home, capsys):
    assert main(["show", "MS181101ab"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tooflow: error: no event 'MS181101ab' in sqlite:///{tooflow_home}"
                          "/tooflow.sqlite (database is empty: nothing ingested yet; ")


def test_health_on_a_fresh_home_is_a_named_failing_check(capsys):
    assert main(["health"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("database: FAILED: sqlite:///")
    assert "`tooflow db create` creates the tables" in out


def test_health_on_a_fresh_home_also_names_a_bad_programs_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "programs.yaml"
    bad.write_text("programs: {GRB afterglow: oops}\n")  # a real operator error
    monkeypatch.setenv("TOOFLOW_PROGRAMS_FILE", str(bad))
    assert main(["health"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("database: FAILED: ") and "database is empty" in out[0]
    assert out[1].startswith("programs: FAILED: ")
    assert "expected a list under 'programs'" in out[1]


def test_a_database_at_an_older_migration_says_which_and_how_to_upgrade(tooflow_home, capsys):
    from alembic import command

    from tooflow.db import alembic_config, get_engine

    command.upgrade(alembic_config(get_engine()), "0005_failures_order")
    capsys.readouterr()
    # rerun and reconcile run flows, which write: they stop before Prefect starts
    for argv in (["health"], ["approve"], ["candidate", "ZTF18abvkwla"], ["reconcile"],
                 ["rerun", "S230518h"]):
        assert main(argv) == 1
        captured = capsys.readouterr()
        text = _one_line_no_sql(captured.out, captured.err)
        assert "database is at migration 0005_failures_order, this tooflow needs" in text
        assert "`tooflow db create` upgrades it" in text
    # what it says to run works: upgraded, the real sample notices stored and shown
    assert main(["db", "create", "--sample"]) == 0
    capsys.readouterr()
    assert main(["show", "S230518h"]) == 0
    assert "S230518h  GW  INITIAL" in capsys.readouterr().out


def test_a_fresh_postgresql_database_is_empty_too(monkeypatch, capsys):
    with fresh_postgres_database("tooflow_fresh") as name:
        url = postgres_database_url(name)
        monkeypatch.setenv("TOOFLOW_DATABASE_URL", url)
        try:
            for argv, status in READ_COMMANDS:
                if argv[0] in ("rerun", "reconcile"):
                    continue  # as on SQLite; they would reach for Prefect past the check
                assert main(argv) == status, argv
                captured = capsys.readouterr()
                text = _one_line_no_sql(captured.out, captured.err)
                assert "database is empty: nothing ingested yet" in text, argv
        finally:
            from tooflow.db import get_engine

            get_engine(url=url).dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv", [["show", "MS181101ab"], ["events"], ["health"]])
def test_a_refused_postgresql_port_is_one_line_without_the_password(argv, monkeypatch, capsys):
    port = _closed_port()
    monkeypatch.setenv("TOOFLOW_DATABASE_URL",
                       f"postgresql+psycopg2://tooflow:s3cret@127.0.0.1:{port}/tooflow")
    assert main(argv) == 1
    captured = capsys.readouterr()
    text = _one_line_no_sql(captured.out, captured.err)
    assert "cannot use the database postgresql+psycopg2://tooflow:" in text
    assert f"@127.0.0.1:{port}/tooflow: connection to server" in text
    assert "Connection refused" in text
    assert "s3cret" not in text


@pytest.mark.slow  # sits out the default 10 s connect deadline
def test_a_postgresql_server_that_never_answers_ends_within_the_connect_deadline(monkeypatch,
                                                                                  capsys):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    monkeypatch.setenv("TOOFLOW_DATABASE_URL",
                       f"postgresql+psycopg2://tooflow@127.0.0.1:{port}/tooflow")
    try:
        started = time.monotonic()
        assert main(["show", "MS181101ab"]) == 1
        took = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    text = _one_line_no_sql(*capsys.readouterr())
    assert f"timeout expired (no answer within connect_timeout = {PG_CONNECT_TIMEOUT} s)" in text
    assert accepted, "the client never connected"
    # one connection attempt, bounded by libpq's connect_timeout (not retried, not twice)
    assert PG_CONNECT_TIMEOUT - 1 <= took < 2 * PG_CONNECT_TIMEOUT, took
