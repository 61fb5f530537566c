"""The handle-notice flow end to end under Prefect's test harness."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from tooflow.intake.store import store_notice
from tooflow.models import Event, GateDecision, Localization, Notice

from .conftest import DATA

GBM = DATA / "gcn" / "Fermi_GBM_Flt_Pos_2022-07-31T16_32_57.36_680977982_45-172.xml"


@pytest.fixture
def flow(prefect, sqlite_engine):
    from tooflow.flows.handle_notice import handle_notice

    return handle_notice


def test_fermi_gbm_notice_through_the_flow(flow, sqlite_engine):
    stored = store_notice(GBM.read_bytes(), str(GBM), engine=sqlite_engine)
    summary = flow(stored.notice_id)
    assert not summary.rejected
    assert summary.event_id == "Fermi-GBM-680977982"
    assert summary.notice_type == "FERMI_GBM_FLT_POS"
    decisions = {d["program"]: d for d in summary.decisions}
    # The flight position has a 16.85 deg 1-sigma radius: too coarse for ZTF's GRB program.
    assert not decisions["GRB afterglow"]["triggered"]
    assert "error_radius < 10 is false (error_radius=16.85)" == decisions["GRB afterglow"]["reason"]
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
        # The flow finished what it had to do, and the notice names its run.
        assert notice.status == "done" and notice.format == "voevent"
        assert notice.flow_run_id and notice.flow_run_name == \
            "Fermi-GBM-680977982-fermi_gbm_flt_pos-n1"
        event = s.exec(select(Event).where(Event.event_id == "Fermi-GBM-680977982")).one()
        assert event.kind == "GRB" and event.source == "Fermi"
        loc = s.exec(select(Localization).where(Localization.notice_id == notice.id)).one()
        assert loc.state == "circle" and loc.skymap_sha256
        assert loc.ra == pytest.approx(220.8667) and loc.dec == pytest.approx(68.5833)
        assert loc.area_90 > 1000  # a 16.85 deg 1-sigma Gaussian covers thousands of deg2
        rows = s.exec(select(GateDecision).where(GateDecision.notice_id == notice.id)).all()
        assert len(rows) == len(summary.decisions)


def test_garbage_is_rejected_and_the_flow_completes(flow, sqlite_engine):
    stored = store_notice(b"\x00\x01garbage that is no notice", "fuzz", engine=sqlite_engine)
    summary = flow(stored.notice_id)
    assert summary.rejected
    assert summary.reason.startswith("unknown notice format")
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
        assert notice.status == "rejected" and notice.rejection_reason == summary.reason
        assert s.exec(select(Event)).first() is None


def test_ingest_twice_runs_one_flow(prefect, sqlite_engine):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from tooflow.cli.ingest import ingest_files

    async def count_runs() -> int:
        # filtered on the server: an unfiltered read returns only the first page of
        # the session's Prefect server's runs (every earlier test's)
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(like_="Fermi-GBM-680977982")))
            return sum(1 for r in runs if r.name.startswith("Fermi-GBM-680977982"))

    before = asyncio.run(count_runs())
    lines: list[str] = []
    first = ingest_files([GBM], echo=lines.append)
    second = ingest_files([GBM], echo=lines.append)
    assert first[0]["created"] and not second[0]["created"]
    assert "summary" in first[0] and "summary" not in second[0]
    assert asyncio.run(count_runs()) == before + 1
    assert any("already stored as notice" in line for line in lines)
    assert any("programs:" in line for line in lines)


def test_ms181101ab_whole_dag_and_rerun(prefect, sqlite_engine, tmp_path, monkeypatch):
    """parse → gate → notify → plan → submit → monitor → circular, then a re-run."""
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.models import CircularDraft, NotificationRecord, QueueRequestRow

    from .programs_helpers import NIGHT, PRELIMINARY, use_simulator
    from .simulated_clock import simulator_from_first_request

    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    # The simulated night starts with the first queue request: planning on a busy
    # machine takes tens of wall seconds, i.e. a whole night of the accelerated clock.
    with simulator_from_first_request(speedup=2000, weather_loss=0.0, start=NIGHT) as server:
        use_simulator(tmp_path, monkeypatch, server.url)
        summary = handle_notice(stored.notice_id, plan_start=NIGHT)
        rerun = handle_notice(stored.notice_id, plan_start=NIGHT)
    assert summary.triggered == ["ZTF kilonova"]
    plan_id = summary.plans["ZTF kilonova"]
    n = summary.submitted["ZTF kilonova"]["submitted"]["ZTF"]
    assert n > 0
    progress = summary.progress
    assert progress["executed"] > 0 and progress["coverage"]["total"] > 0.1
    with Session(sqlite_engine) as s:
        draft = s.get(CircularDraft, summary.circulars["ZTF kilonova"])
        reasons = {r.reason for r in s.exec(select(NotificationRecord)).all()}
        keys = [q.request_key for q in s.exec(select(QueueRequestRow)).all()]
    assert "MS181101ab" in draft.subject and "ZTF" in draft.body
    assert {"program_triggered", "plan_submitted", "circular_ready"} <= reasons
    # The re-run plans again but queues nothing twice.
    assert rerun.plans["ZTF kilonova"] != plan_id
    assert sum(rerun.submitted["ZTF kilonova"]["submitted"].values()) <= n
    assert len(keys) == len(set(keys))


def test_update_then_retraction_of_ms181101ab(prefect, sqlite_engine, tmp_path, monkeypatch):
    """An update re-plans without queueing twice; the retraction cancels what has not run."""
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.models import Event, QueueRequestRow
    from tooflow.simulator.server import SimulatorServer

    from .programs_helpers import NIGHT, PRELIMINARY, use_simulator

    update = DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro"
    retraction = DATA / "lvk" / "avro" / "MS181101ab-retraction.avro"
    # A real-time clock: nothing executes during the test, requests stay queued.
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as server:
        use_simulator(tmp_path, monkeypatch, server.url)
        with open(tmp_path / "tooflow.yaml", "a") as config:
            config.write("monitor:\n  max_wall_seconds: 1\n")
        ids = [store_notice(p.read_bytes(), str(p), engine=sqlite_engine).notice_id
               for p in (PRELIMINARY, update, retraction)]
        first = handle_notice(ids[0], plan_start=NIGHT)
        second = handle_notice(ids[1], plan_start=NIGHT)
        with Session(sqlite_engine) as s:
            queued = s.exec(select(QueueRequestRow)).all()
        third = handle_notice(ids[2])
    n_first = first.submitted["ZTF kilonova"]["submitted"]["ZTF"]
    assert n_first > 0 and first.progress["open"] == n_first
    resubmitted = second.submitted["ZTF kilonova"]
    assert sum(resubmitted["already_queued"].values()) > 0  # same fields: not sent again
    keys = [q.request_key for q in queued]
    assert len(keys) == len(set(keys))
    assert third.notice_type == "RETRACTION"
    assert third.cancelled["ZTF"] > 0
    with Session(sqlite_engine) as s:
        statuses = {q.status for q in s.exec(select(QueueRequestRow)).all()}
        assert statuses <= {"cancelled", "completed", "failed"}
        assert s.exec(select(Event)).one().retracted


def test_a_run_past_its_budget_ends_failed_with_the_reason_on_the_notice(flow, sqlite_engine,
                                                                        monkeypatch):
    """Issue 10: a flow waiting on a trickling sky-map server stayed Running for 19 min.

    The real S190425z VOEvent gives its map only by URL; the URL points at a local
    server sending one byte per second. With a fetch deadline longer than the run's
    budget, the budget is what stops it: Failed (TimedOut), the reason on the notice.
    """
    import time

    from prefect.states import StateType

    from tests.slow_http import trickling_server

    xml = (DATA / "lvk" / "voevent" / "S190425z-1-Initial.xml").read_bytes()
    url = b'value="skyportal/tests/data/bayestar.fits.gz"'
    monkeypatch.setenv("TOOFLOW_SKYMAP_FETCH_DEADLINE", "300")
    with trickling_server() as slow:
        xml = xml.replace(url, f'value="{slow.url}/bayestar.fits.gz,0"'.encode())
        stored = store_notice(xml, "test", engine=sqlite_engine)
        start = time.monotonic()
        state = flow.with_options(timeout_seconds=4)(stored.notice_id, return_state=True)
        took = time.monotonic() - start
    assert state.type == StateType.FAILED and state.name == "TimedOut", state
    assert "exceeded its 4 s budget" in state.message
    assert took < 60  # the budget ended it, not the 300 s fetch deadline
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
    assert notice.status == "failed"
    assert notice.error.startswith("parse failed: TimeoutError: the run exceeded its 4 s budget")
