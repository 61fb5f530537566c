"""A failure is never green: a queue at a closed port under the Prefect test harness.

MS181101ab is planned for ZTF and Gattini on the night of 2019-04-01; Gattini's
queue is the simulator, ZTF's a real closed port of 127.0.0.1. The ZTF
submission fails after the HTTP policy's attempts (task run Failed at its first
run: nothing retries on top of the policy), Gattini's requests are
queued all the same, the flow run ends Failed with the reason, an ERROR line
and tooflow's own lines are in the run's logs, the astronomer on duty is told,
the requests are kept ``unsent``, ``tooflow show`` and the event's artifact say
so, and once a queue listens on that port the resubmit-unsent flow sends them.
"""

from __future__ import annotations

import logging
import time

import yaml
from sqlmodel import Session, select

from tooflow.intake.store import store_notice
from tooflow.models import FacilityTransaction, Notice, NotificationRecord, QueueRequestRow

from .programs_helpers import NIGHT, PRELIMINARY, kilonova_program, programs_yaml, use_simulator
from .test_unsent_requests import closed_port

#: ZTF kilonova with a second telescope, Gattini, whose queue is the simulator.
TWO_TELESCOPES = programs_yaml(kilonova_program(telescopes=("ZTF", "Gattini")))


def _setup(tmp_path, monkeypatch, simulator_url: str, ztf_port: int) -> None:
    use_simulator(tmp_path, monkeypatch, simulator_url, TWO_TELESCOPES,
                  yaml.safe_dump({"monitor": {"max_wall_seconds": 1}}))
    path = tmp_path / "tooflow.yaml"
    config = yaml.safe_load(path.read_text())
    config["facilities"]["ZTF"] = {"url": f"http://127.0.0.1:{ztf_port}", "retries": 1,
                                   "backoff": 0.01}
    path.write_text(yaml.safe_dump(config))


def _wait_for(condition, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.5)


def _logs(run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[run_id])))


def test_unreachable_queue_fails_red_and_is_retried_later(prefect, sqlite_engine, tmp_path,
                                                          monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tooflow.flows.handle_notice import handle_notice
    from tooflow.flows.resubmit import resubmit_unsent_flow
    from tooflow.simulator.server import SimulatorServer
    from tooflow.views.event import load_event_view, render_text

    port = closed_port()
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as gattini:
        _setup(tmp_path, monkeypatch, gattini.url, port)
        state = handle_notice(stored.notice_id, plan_start=NIGHT, return_state=True)

    # The flow run is red, with the reason; every other stage ran.
    assert state.is_failed()
    assert "ZTF: ConnectError after 2 attempt(s)" in state.message
    summary = state.result(raise_on_failure=False)
    assert "ZTF: ConnectError" in summary.submit_errors["ZTF kilonova"]
    sub = summary.submitted["ZTF kilonova"]
    # Gattini's requests went out all the same.
    assert sub["submitted"]["Gattini"] > 0 and "ZTF" not in sub["submitted"]
    n_ztf = sub["unsent"]["ZTF"]
    assert n_ztf > 0
    assert summary.progress is not None and summary.progress["unsent"] == n_ztf
    run_id = state.state_details.flow_run_id

    # The submit task run is Failed at its first run: one policy retries (HTTP: 2 attempts
    # with `retries: 1`), Prefect does not retry the task on top of it.
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[run_id])))
        run = client.read_flow_run(run_id)
    submit_runs = [t for t in task_runs if t.name.startswith("submit-plan-")]
    # first light: the first block's submission, then the optimal plan's; each Failed once
    assert len(submit_runs) == 2
    assert all(t.state.is_failed() and t.run_count == 1 for t in submit_runs)
    assert run.state.is_failed()
    with Session(sqlite_engine) as s:
        ztf_exchanges = s.exec(select(FacilityTransaction)
                               .where(FacilityTransaction.url.contains("/queues/ZTF/"))
                               .order_by(FacilityTransaction.id)).all()
    assert [(t.method, t.status_code, t.detail.split(":")[0]) for t in ztf_exchanges] == [
        ("POST", None, "attempt 1"), ("POST", None, "attempt 2")] * 2

    # ERROR lines, and tooflow's own INFO lines (HTTP exchanges), in the run's logs.
    def http_info_lines():
        logs = _logs(run_id)
        return logs if any(entry.name == "tooflow.facilities.http"
                           and entry.level == logging.INFO
                           and "POST" in entry.message and "/queues/Gattini/" in entry.message
                           for entry in logs) else None

    logs = _wait_for(http_info_lines, what="tooflow's INFO lines in the run's logs")
    assert any(entry.level == logging.ERROR and "ZTF" in entry.message
               and "submission" in entry.message for entry in logs)

    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
        told = s.exec(select(NotificationRecord)
                      .where(NotificationRecord.reason == "submission_failed")).all()
        ztf_rows = s.exec(select(QueueRequestRow).where(QueueRequestRow.telescope == "ZTF")
                          ).all()
    # first-block requests the optimal plan no longer wants were never sent: cancelled
    ztf = [q for q in ztf_rows if q.status != "cancelled"]
    assert all(q.detail == "superseded before any queue accepted it"
               for q in ztf_rows if q.status == "cancelled")
    with Session(sqlite_engine) as s:
        view = render_text(load_event_view(s, "MS181101ab", ui_base="http://ui.example"))
    # The notice says which run handled it and that it failed.
    assert notice.status == "failed" and notice.flow_run_id == str(run_id)
    assert notice.error.startswith("submit failed: SubmissionFailed: ZTF: ConnectError after")
    assert told and "ConnectError" in told[0].summary["detail"]
    assert len(ztf) == n_ztf and {q.status for q in ztf} == {"unsent"}
    assert f"! ZTF: {n_ztf} request(s) not accepted by the queue yet" in view
    assert f"http://ui.example/runs/flow-run/{run_id}" in view

    # The event's artifact says the same: the version this flow run published (the
    # session's Prefect server holds other tests' versions of the same key).
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import (
            ArtifactFilter,
            ArtifactFilterFlowRunId,
            ArtifactFilterKey,
        )

        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["event-ms181101ab"]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert len(artifacts) == 1
    assert f"ZTF: {n_ztf} request(s) not accepted" in artifacts[0].data

    # The queue comes up on that port: the resubmit-unsent flow sends each request once.
    with SimulatorServer(port=port, speedup=1, weather_loss=0.0, start=NIGHT) as ztf_queue:
        later = resubmit_unsent_flow(now=NIGHT, return_state=True)
        again = resubmit_unsent_flow(now=NIGHT, return_state=True)
        states = ztf_queue.simulator.status([q.request_key for q in ztf])
    assert later.is_completed() and again.is_completed()
    assert later.result()["submitted"] == {"MS181101ab ZTF": n_ztf}
    assert again.result()["submitted"] == {}
    assert all(s["status"] != "unknown" for s in states)
    with Session(sqlite_engine) as s:
        statuses = {q.status for q in s.exec(select(QueueRequestRow)
                                             .where(QueueRequestRow.telescope == "ZTF"))}
    assert "unsent" not in statuses


def test_resubmit_flow_is_red_while_the_queue_is_down(prefect, sqlite_engine, tmp_path,
                                                      monkeypatch):
    from tooflow.config import load_settings
    from tooflow.flows.resubmit import resubmit_unsent_flow
    from tooflow.simulator.server import SimulatorServer
    from tooflow.stages.gate import gate_notice
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.stages.plan import plan_for_program
    from tooflow.stages.submit import submit_plan

    port = closed_port()
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as gattini:
        _setup(tmp_path, monkeypatch, gattini.url, port)
        settings = load_settings()
        parse_stored_notice(stored.notice_id, engine=sqlite_engine, settings=settings)
        gate_notice(stored.notice_id, engine=sqlite_engine, settings=settings)
        plan_id = plan_for_program(stored.notice_id, "ZTF kilonova", engine=sqlite_engine,
                                   settings=settings, start=NIGHT, picture=False)
        submit_plan(plan_id, engine=sqlite_engine, settings=settings)
        state = resubmit_unsent_flow(now=NIGHT, return_state=True)
    assert state.is_failed() and "MS181101ab ZTF: ConnectError" in state.message
    assert state.result(raise_on_failure=False)["still_unsent"]["MS181101ab ZTF"] > 0
