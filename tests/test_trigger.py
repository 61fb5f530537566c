"""Triggering the handle-notice deployment on a real Prefect server (the session harness)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from tests import kafka_fixtures, prefect_fixtures
from tests.kafka_fixtures import consumer_settings, run_source_until
from tests.waiting import HANG
from tooflow.intake.store import store_notice
from tooflow.models import Notice, NoticeStatus

from .conftest import listener_notice

kafka_broker = kafka_fixtures.kafka_broker
deployment = prefect_fixtures.deployment
ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "listeners"


_flow_run = prefect_fixtures.flow_run


def _row(engine, notice_id) -> Notice:
    with Session(engine) as s:
        return s.get(Notice, notice_id)


def test_trigger_creates_one_run_per_notice_and_reruns_make_new_ones(deployment,
                                                                     sqlite_engine):
    from tooflow.intake.trigger import trigger_notice

    stored = store_notice(listener_notice("alert_248.json").read_bytes(), "test",
                          engine=sqlite_engine)
    run_id = trigger_notice(stored.notice_id, engine=sqlite_engine)
    run = _flow_run(run_id)
    assert run.parameters == {"notice_id": stored.notice_id}
    assert run.state.type.value == "SCHEDULED"
    row = _row(sqlite_engine, stored.notice_id)
    assert (row.status, row.flow_run_id, row.flow_run_name) == (
        NoticeStatus.triggered.value, run_id, run.name)
    assert row.triggered_at is not None

    # the listener died before recording it: asking again gives the same run
    assert trigger_notice(stored.notice_id, engine=sqlite_engine) == run_id
    # a deliberate re-run is a new run, tagged as such
    again = trigger_notice(stored.notice_id, engine=sqlite_engine, rerun=True)
    assert again != run_id and "rerun" in _flow_run(again).tags


@pytest.mark.slow  # the Prefect client retries the refused connection for ~3 s
def test_unreachable_api_leaves_the_notice_received(sqlite_engine):
    import socket

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tooflow.intake.trigger import TriggerError, reconcile, trigger_notice

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    stored = store_notice((DATA / "alert_249.json").read_bytes(), "test", engine=sqlite_engine)
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        with pytest.raises(TriggerError, match=f"notice #{stored.notice_id}"):
            trigger_notice(stored.notice_id, engine=sqlite_engine)
        assert reconcile(sqlite_engine) == 0
    row = _row(sqlite_engine, stored.notice_id)
    assert (row.status, row.flow_run_id) == (NoticeStatus.received.value, None)


def test_unknown_deployment_is_a_clear_error(prefect, sqlite_engine):
    from tooflow.intake.trigger import TriggerError, trigger_notice

    stored = store_notice((DATA / "alert_250.json").read_bytes(), "test", engine=sqlite_engine)
    with pytest.raises(TriggerError, match="no-such/deployment"):
        trigger_notice(stored.notice_id, deployment="no-such/deployment", engine=sqlite_engine)
    assert _row(sqlite_engine, stored.notice_id).status == NoticeStatus.received.value


def test_listener_to_worker_end_to_end(deployment, kafka_broker, sqlite_engine, tmp_path):
    """Broker → listener → run_deployment → a real process worker runs the flow."""
    from prefect.settings import PREFECT_API_URL

    from tooflow.intake.listeners.hop import hop_source
    from tooflow.intake.trigger import trigger_notice

    topic = kafka_broker.create_topic()
    files = ["GRB180116A_Fermi_GBM_Flt_Pos.xml", "MS181101ab-retraction.avro"]
    kafka_broker.produce(topic, [listener_notice(f).read_bytes() for f in files])
    source = hop_source({"url": kafka_broker.url + topic, "group_id": f"g-{topic}",
                         "auth": False, "start_at": "earliest", "kafka": consumer_settings()})
    runs: list[str] = []
    run_source_until(source, sqlite_engine,
                     lambda nid: runs.append(trigger_notice(nid, engine=sqlite_engine)),
                     lambda: len(runs) == 2)

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "TOOFLOW_DATABASE_URL": str(sqlite_engine.url),
           "PREFECT_HOME": str(tmp_path / "prefect-worker")}
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool",
         deployment, "--type", "process", "--run-once"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        t0 = time.monotonic()
        while {_flow_run(r).state.type.value for r in runs} - {"COMPLETED", "FAILED",
                                                                "CRASHED"}:
            assert time.monotonic() - t0 < HANG, "flow runs did not finish"
            if worker.poll() is not None:  # --run-once returns after one poll
                worker = subprocess.Popen(worker.args, cwd=ROOT, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    states = [_flow_run(r).state.type.value for r in runs]
    assert states == ["COMPLETED", "COMPLETED"], output[-3000:]
    with Session(sqlite_engine) as s:
        rows = [s.get(Notice, i) for i in (1, 2)]
    assert all(r.status not in (NoticeStatus.received.value, NoticeStatus.triggered.value)
               for r in rows), [r.status for r in rows]


@pytest.mark.slow  # waits out its 3 s deadline
def test_a_trickling_prefect_api_cannot_hold_a_trigger_past_its_deadline(sqlite_engine,
                                                                        monkeypatch):
    """Issue 10: every external call has a total deadline; the notice stays received."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import tooflow.intake.trigger as trigger
    from tests.slow_http import trickling_server

    monkeypatch.setattr(trigger, "TRIGGER_DEADLINE", 3.0)
    stored = store_notice((DATA / "alert_251.json").read_bytes(), "test", engine=sqlite_engine)
    with trickling_server() as slow, \
            temporary_settings({PREFECT_API_URL: f"{slow.url}/api"}):
        start = time.monotonic()
        with pytest.raises(trigger.TriggerError, match=r"within its 3 s deadline"):
            trigger.trigger_notice(stored.notice_id, engine=sqlite_engine)
        assert time.monotonic() - start < 3 + 30
        assert slow.requests >= 1  # the settings of this thread reached the call
    row = _row(sqlite_engine, stored.notice_id)
    assert (row.status, row.flow_run_id) == (NoticeStatus.received.value, None)
