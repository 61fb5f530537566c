"""The production profile of docs/operations.md, checked on a real Prefect server.

One server per module (startup ~10-25 s), started as operators start it: with
``PREFECT_SERVER_API_AUTH_STRING`` (basic auth on the API and UI). Clients and
workers authenticate with ``PREFECT_API_AUTH_STRING``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.waiting import HANG
from tooflow.intake.store import store_notice
from tooflow.models import Notice, NoticeStatus

PREFECT = str(Path(sys.executable).with_name("prefect"))
DATA = Path(__file__).parent / "data" / "listeners"
AUTH = "tooflow-admin:test-only-password"  # a test value, not a secret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_postgres():
    """A fresh PostgreSQL database for the Prefect server (dropped at the end)."""
    from tests.conftest import PG_ADMIN_URL, fresh_postgres_database

    with fresh_postgres_database("prefect_test") as name:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg2", "")
        yield (name, f"{base.replace('postgresql', 'postgresql+asyncpg')}/{name}",
               f"{base}/{name}")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, prefect_postgres):
    """A Prefect server on PostgreSQL with basic auth; yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-auth")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_API_AUTH_STRING": AUTH,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_postgres[1]}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    t0 = time.monotonic()
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() - t0 > HANG:
            proc.kill()
            pytest.fail(f"Prefect server did not start: {(home / 'server.log').read_text()}")
        time.sleep(0.3)
    yield url
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def test_the_server_keeps_its_state_in_postgresql(auth_server, prefect_postgres):
    from sqlalchemy import create_engine, inspect

    engine = create_engine(prefect_postgres[2].replace("postgresql", "postgresql+psycopg2"))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"flow", "flow_run", "deployment", "work_pool"} <= tables


def test_unauthenticated_requests_are_refused(auth_server):
    body = {"limit": 1}
    assert httpx.post(f"{auth_server}/flows/filter", json=body).status_code == 401
    assert httpx.post(f"{auth_server}/flows/filter", json=body,
                      auth=("tooflow-admin", "wrong")).status_code == 401
    user, password = AUTH.split(":")
    assert httpx.post(f"{auth_server}/flows/filter", json=body,
                      auth=(user, password)).status_code == 200


def test_listener_trigger_authenticates_with_the_client_setting(auth_server, sqlite_engine):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from tooflow.intake.trigger import TriggerError, trigger_notice

    stored = store_notice((DATA / "alert_253.json").read_bytes(), "test", engine=sqlite_engine)
    with temporary_settings({PREFECT_API_URL: auth_server}):
        with pytest.raises(TriggerError):  # no auth string: refused, notice stays pending
            trigger_notice(stored.notice_id, engine=sqlite_engine)
        with temporary_settings({PREFECT_API_AUTH_STRING: AUTH}):
            with get_client(sync_client=True) as client:
                flow_id = client.create_flow_from_name("handle-notice")
                client.create_deployment(flow_id=flow_id, name="handle-notice",
                                         entrypoint="tooflow.flows.handle_notice:handle_notice")
            run_id = trigger_notice(stored.notice_id, engine=sqlite_engine)
    from sqlmodel import Session

    with Session(sqlite_engine) as s:
        row = s.get(Notice, stored.notice_id)
    assert (row.status, row.flow_run_id) == (NoticeStatus.triggered.value, run_id)


def _worker(api_url: str, pool: str, home: Path, *, sigint_ignored: bool):
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_API_AUTH_STRING": AUTH,
           "PREFECT_HOME": str(home)}

    def _pre():
        # what systemd gives a service, or what `cmd &` in a non-interactive shell gives
        signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.SIG_DFL)

    return subprocess.Popen([PREFECT, "worker", "start", "--pool", pool, "--type", "process"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_pre)


def _wait_started(proc, timeout=HANG) -> None:
    t0 = time.monotonic()
    for line in proc.stdout:
        if b"started!" in line:
            return
        assert time.monotonic() - t0 < timeout
    raise AssertionError("worker exited before starting")


def test_process_worker_stop_signals(auth_server, tmp_path):
    """SIGTERM stops a worker only through SIGINT: with SIGINT ignored it keeps running.

    The worker turns SIGTERM into SIGINT to itself; a process that inherited
    ``SIGINT = SIG_IGN`` (started with ``&`` from a script, some supervisors) then
    ignores both. Under systemd SIGINT is at its default, and ``KillSignal=SIGINT``
    (docs/operations.md) sends the worker the signal it really acts on.
    """
    subprocess.run([PREFECT, "work-pool", "create", "sigtest", "--type", "process"],
                   env={**os.environ, "PREFECT_API_URL": auth_server,
                        "PREFECT_API_AUTH_STRING": AUTH, "PREFECT_HOME": str(tmp_path)},
                   check=True, capture_output=True)
    by_int = _worker(auth_server, "sigtest", tmp_path, sigint_ignored=False)
    by_term = _worker(auth_server, "sigtest", tmp_path, sigint_ignored=False)
    ignoring = _worker(auth_server, "sigtest", tmp_path, sigint_ignored=True)
    try:
        for proc in (by_int, by_term, ignoring):
            _wait_started(proc)
        by_int.send_signal(signal.SIGINT)
        by_term.send_signal(signal.SIGTERM)
        ignoring.send_signal(signal.SIGTERM)
        assert by_int.wait(20) == 0
        assert by_term.wait(20) == 0
        with pytest.raises(subprocess.TimeoutExpired):
            ignoring.wait(5)
    finally:
        for proc in (by_int, by_term, ignoring):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
