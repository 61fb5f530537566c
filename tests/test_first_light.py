"""First light fast, on real notices with the real simulator queue on loopback.

* MS181101ab (LVK mock, BAYESTAR map): the greedy baseline's first block is
  queued at once; the optimal plan then supersedes it; its submission sends no
  key twice and cancels only first-block requests that have not started (the
  simulator's queue is running the first ones by then).
* A Swift XRT position (GCN Classic JSON, 5″ error) and an IceCube gold track
  (1.2° radius, ZTF only): the localization fits inside one field of every
  telescope, so the plan is a single pointing, the optimiser never runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import yaml
from sqlmodel import Session, select

from tests.waiting import wait_for
from tooflow.config import load_settings
from tooflow.facilities.routing import facility_for as real_facility_for
from tooflow.intake.store import store_notice
from tooflow.models import Notice, Plan, PlannedObservationRow, QueueRequestRow
from tooflow.planning.first_light import FIRST_BLOCK, SINGLE_POINTING, fits_one_field
from tooflow.records.first_light import first_light_records
from tooflow.simulator.server import SimulatorServer
from tooflow.stages import submit as submit_stage
from tooflow.stages.first_light import plan_first_light, replacement
from tooflow.stages.gate import gate_notice
from tooflow.stages.parse import parse_stored_notice
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import submit_plan
from tooflow.views.event import load_event_view, render_markdown, render_text
from tooflow.views.summary import first_light_lines, format_followup

from .conftest import DATA
from .programs_helpers import (
    NIGHT,
    PRELIMINARY,
    afterglow_program,
    kilonova_program,
    programs_yaml,
    use_programs,
)

XRT = DATA / "gcn" / "classic-json" / "SWIFT_XRT_POSITION" / "example.json"
ICECUBE = DATA / "listeners" / "AMON_ICECUBE_GOLD_190730.xml"

#: ZTF kilonova with DECam, and the GRB and neutrino programmes of the single pointings.
PROGRAMS = programs_yaml(
    kilonova_program(telescopes=("ZTF", "DECam")),
    afterglow_program({"ZTF": {"filters": ["g", "r"], "exposure_time": {"g": 60, "r": 60},
                               "min_gap": 1800},
                       "GROWTH-India": {"filters": ["r"]}, "KPED": {"filters": ["r"]}}),
    *yaml.safe_load("""
- name: IceCube neutrino follow-up
  kinds: [neutrino]
  criteria: error_radius < 5
  telescopes: [ZTF]
  strategy:
    window_hours: 48
    telescopes:
      ZTF: {filters: [g, r], min_gap: 1800}
"""))


@pytest.fixture
def simulator(tmp_path, monkeypatch):
    """The simulator on loopback at real speed from NIGHT, configured for tooflow."""
    with SimulatorServer(speedup=1.0, weather_loss=0.0, seed=1, start=NIGHT) as server:
        use_programs(tmp_path, monkeypatch, PROGRAMS,
                     f"facilities:\n  simulator:\n    url: {server.url}\n")
        yield server


def _gated(path, engine, program: str) -> tuple[int, int]:
    stored = store_notice(path.read_bytes(), str(path), engine=engine)
    settings = load_settings()
    outcome = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
    decisions = gate_notice(stored.notice_id, engine=engine, settings=settings)
    assert program in [d.program for d in decisions if d.triggered]
    return stored.notice_id, outcome.event_pk


class _Recording:
    """``facility_for`` that records every request key handed to a queue's submit."""

    def __init__(self) -> None:
        self.sent: Counter = Counter()

    def __call__(self, telescope, settings):
        facility = real_facility_for(telescope, settings)
        submit = facility.submit

        def recorded(observations, **kw):
            self.sent.update(o.request_key for o in observations)
            return submit(observations, **kw)

        facility.submit = recorded
        return facility


def _queue_states(settings, requests) -> dict[str, str]:
    out = {}
    for tel in {q.telescope for q in requests}:
        with real_facility_for(tel, settings) as facility:
            out.update({s.request_key: s.status for s in facility.status(
                [q.request_key for q in requests if q.telescope == tel])})
    return out


def test_first_block_then_optimal_plan_no_key_twice(sqlite_engine, simulator):
    engine = sqlite_engine
    notice_id, event_pk = _gated(PRELIMINARY, engine, "ZTF kilonova")
    settings = load_settings()
    first = plan_first_light(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                             start=NIGHT)
    assert first.kind == "first block" and not first.final
    with Session(engine) as s:
        row = s.get(Plan, first.plan_id)
        early = s.exec(select(PlannedObservationRow)
                       .where(PlannedObservationRow.plan_id == first.plan_id)).all()
    assert row.solver_status == FIRST_BLOCK == submit_stage.FIRST_BLOCK
    # the first 30 minutes only: ZTF's first visits (g), DECam's i exposures
    assert early and all(NIGHT <= o.start_time < NIGHT + dt.timedelta(minutes=30)
                         for o in early)
    assert {o.telescope for o in early} == {"ZTF", "DECam"}
    assert {o.filter for o in early if o.telescope == "ZTF"} == {"g"}

    recording = _Recording()
    result = submit_plan(first.plan_id, engine=engine, settings=settings,
                         facility_for=recording)
    assert sum(result.submitted.values()) == len(early) and not result.cancelled

    # The optimal plan arrives while the queues already observe the first block.
    def started():
        with Session(engine) as s:
            queued = s.exec(select(QueueRequestRow)).all()
        states = _queue_states(settings, queued)
        return {k for k, v in states.items() if v in ("executing", "completed")}

    running = wait_for(started, "a first-block exposure started")
    optimal = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    after = submit_plan(optimal, engine=engine, settings=settings, facility_for=recording)
    assert not after.errors

    # No key was ever handed to a queue twice; what both plans want went once.
    assert recording.sent and max(recording.sent.values()) == 1
    with Session(engine) as s:
        assert s.get(Plan, first.plan_id).status == "superseded"
        assert s.get(Plan, optimal).status == "submitted"
        wanted = {o.request_key for o in s.exec(select(PlannedObservationRow).where(
            PlannedObservationRow.plan_id == optimal))}
        requests = s.exec(select(QueueRequestRow)).all()
    early_keys = {o.request_key for o in early}
    kept = early_keys & wanted
    assert after.already_queued and sum(after.already_queued.values()) == len(kept)
    assert sum(after.submitted.values()) == len(wanted - early_keys)
    # Nothing that started was cancelled; the first block's unwanted rest was.
    states = _queue_states(settings, requests)
    assert all(states[k] in ("executing", "completed") for k in running)
    # no unwanted first-block request is left waiting in a queue (cancelled, or it
    # started, or the queue gave up on it: failed)
    assert all(states[key] != "queued" for key in early_keys - wanted - running)
    rep = replacement(first.plan_id, optimal, engine=engine)
    assert rep.kept == len(kept) and rep.new == len(wanted - early_keys)
    assert rep.kept + rep.cancelled + rep.started == len(early)

    # what a person on duty reads (`tooflow show`, the event artifact): when the first
    # block was queued, how many requests, then how the optimal plan replaced it
    with Session(engine) as s:
        (rec,) = first_light_records(s, event_pk)
        view = load_event_view(s, "MS181101ab", coverage=False, candidates=False)
        arrived = s.get(Notice, notice_id).received
    assert rec.plan_id == first.plan_id and rec.kind == "first block"
    assert rec.optimal_plan_id == optimal and rec.replacement == rep
    assert rec.requests == dict(Counter(o.telescope for o in early))
    assert rec.queued >= arrived and rec.after_arrival > 0
    text = render_text(view)
    assert (f"first light (ZTF kilonova): first block, plan #{first.plan_id}, queued "
            f"{rec.queued:%Y-%m-%d %H:%M:%S} UTC") in text
    assert f"{len(early)} request(s) [DECam " in text
    assert f"then the optimal plan #{optimal} replaced it: {rep.sentence()}" in text
    assert "### First light" in render_markdown(view)


def test_a_first_block_request_that_failed_is_requested_again_not_kept(sqlite_engine,
                                                                         simulator):
    """A first-block exposure the telescope lost (its row as the monitor stores a queue's
    "failed") that the optimal plan wants: sent again as KEY:r2, counted as new in the
    replacement (not kept), and by the submit result as a re-request."""
    engine = sqlite_engine
    notice_id, _ = _gated(PRELIMINARY, engine, "ZTF kilonova")
    settings = load_settings()
    first = plan_first_light(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                             start=NIGHT)
    submit_plan(first.plan_id, engine=engine, settings=settings)
    optimal = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    with Session(engine) as s:
        early = {o.request_key for o in s.exec(select(PlannedObservationRow).where(
            PlannedObservationRow.plan_id == first.plan_id))}
        wanted = {o.request_key for o in s.exec(select(PlannedObservationRow).where(
            PlannedObservationRow.plan_id == optimal))}
        lost = s.exec(select(QueueRequestRow).where(
            QueueRequestRow.request_key == sorted(early & wanted)[0])).one()
        lost.status, lost.detail = "failed", "weather: exposure lost to clouds/fault"
        s.add(lost)
        s.commit()
        key, tel = lost.request_key, lost.telescope
    after = submit_plan(optimal, engine=engine, settings=settings)
    assert after.rerequested == {tel: 1} and not after.errors
    assert sum(after.submitted.values()) == len(wanted - early) + 1
    assert sum(after.already_queued.values()) == len(early & wanted) - 1
    with Session(engine) as s:
        again = s.exec(select(QueueRequestRow).where(
            QueueRequestRow.request_key == f"{key}:r2")).one()
    assert again.plan_id == optimal and again.status != "failed"
    rep = replacement(first.plan_id, optimal, engine=engine)
    assert rep.kept == len(early & wanted) - 1 and rep.new == len(wanted - early) + 1


@pytest.mark.parametrize(("path", "program", "telescopes"), [
    (XRT, "GRB afterglow", {"ZTF", "GROWTH-India", "KPED"}),
    (ICECUBE, "IceCube neutrino follow-up", {"ZTF"}),
])
def test_single_pointing_skips_the_optimiser(sqlite_engine, simulator, monkeypatch,
                                             path, program, telescopes):
    import tooflow.planning.pipeline as pipeline
    import tooflow.planning.planner as planner

    def no_solver(*args, **kwargs):
        raise AssertionError("a single pointing must not reach the optimiser")

    monkeypatch.setattr(pipeline, "solve", no_solver)
    monkeypatch.setattr(planner, "plan_skymap", no_solver)
    engine = sqlite_engine
    notice_id, event_pk = _gated(path, engine, program)
    settings = load_settings()
    # the window opens when the notice arrives: at the event's time
    first = plan_first_light(notice_id, program, engine=engine, settings=settings,
                             start=event_row(engine, event_pk).time)
    assert first.kind == "single pointing" and first.final
    with Session(engine) as s:
        row = s.get(Plan, first.plan_id)
        obs = s.exec(select(PlannedObservationRow)
                     .where(PlannedObservationRow.plan_id == first.plan_id)).all()
    assert row.solver_status == SINGLE_POINTING and set(row.telescopes) == telescopes
    assert obs, "the source is observable in the window"
    # one pointing per telescope: every exposure on the source (a detector under it)
    assert all(o.field_id is None and o.target == event_row(engine, event_pk).event_id
               for o in obs)
    assert len({(o.telescope, o.ra, o.dec) for o in obs}) == len({o.telescope for o in obs})
    result = submit_plan(first.plan_id, engine=engine, settings=settings)
    assert sum(result.submitted.values()) == len(obs) and not result.errors
    with Session(engine) as s:
        lines = first_light_lines(s, event_pk)
    assert lines[0].startswith(f"first light ({program}): single pointing, plan "
                               f"#{first.plan_id}, queued ")
    assert f"{len(obs)} request(s)" in lines[0]
    assert "no optimal plan follows" in lines[1]


def event_row(engine, event_pk: int):
    from tooflow.models import Event

    with Session(engine, expire_on_commit=False) as s:
        return s.get(Event, event_pk)


def test_fits_one_field():
    assert fits_one_field(1.185, "ZTF")  # an IceCube gold track: one ZTF field
    assert not fits_one_field(1.185, "KPED")
    assert fits_one_field(0.0014, "KPED")  # a Swift XRT position
    assert not fits_one_field(None, "ZTF")


def test_handle_notice_queues_the_first_block_then_the_optimal_plan(prefect, sqlite_engine,
                                                                     simulator, tmp_path):
    """In the flow: plan-first-light → submit → plan → submit, and the artifact says so."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from tooflow.flows.handle_notice import handle_notice

    with open(tmp_path / "tooflow.yaml", "a") as config:
        config.write("monitor:\n  max_wall_seconds: 0\n")
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    state = handle_notice(stored.notice_id, plan_start=NIGHT, return_state=True)
    summary = state.result()
    result = summary.submitted["ZTF kilonova"]
    first = result["first_light"]
    assert first["kind"] == "first block" and sum(first["submitted"].values()) > 0
    with Session(sqlite_engine) as s:
        plans = {p.id: p for p in s.exec(select(Plan)).all()}
        keys = [q.request_key for q in s.exec(select(QueueRequestRow)).all()]
    assert plans[first["plan_id"]].status == "superseded"
    assert plans[summary.plans["ZTF kilonova"]].status == "submitted"
    assert len(keys) == len(set(keys))
    # what this run sent: the first block and the optimal plan's new requests
    assert sum(result["submitted"].values()) == len(keys)
    # `tooflow ingest`'s summary says it first
    with Session(sqlite_engine) as s:
        followup = format_followup(summary, s)
    assert followup[0].startswith(f"first light (ZTF kilonova): first block, plan "
                                  f"#{first['plan_id']}, queued ")
    assert followup[1].startswith(
        f"  then the optimal plan #{summary.plans['ZTF kilonova']} replaced it: ")

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[run_id])))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["first-light-ms181101ab-ztf-kilonova"]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    order = [t.name for t in sorted(runs, key=lambda t: t.start_time)
             if t.name.startswith(("plan", "submit", "notify-program_triggered"))]
    # the first block is queued before the on-duty astronomers are told (their
    # channels do not hold the telescopes back), the optimal plan after
    assert order == ["plan-first-light-ZTF kilonova", f"submit-plan-{first['plan_id']}",
                     "notify-program_triggered",
                     "plan-ZTF kilonova", f"submit-plan-{summary.plans['ZTF kilonova']}"]
    texts = [a.data for a in artifacts]
    assert any("first block submitted, optimal plan pending" in t for t in texts)
    assert any("first block submitted, optimal plan replaced it" in t for t in texts)
