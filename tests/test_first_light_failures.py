"""First light when something fails between the first block and the optimal plan.

MS181101ab (LVK mock, BAYESTAR map) planned for the night of 2019-04-01, with
real queues on loopback (the simulator; ZTF's at a closed port where a queue
refuses):

* ZTF's queue refuses the first block, then takes the optimal plan: what the
  optimal plan also wants is sent once by it, the rest dropped unsent; the run
  is red with the first block's reason, and ``tooflow show`` says which
  requests the optimal plan took over;
* ZTF's queue refuses both: nothing is said to be queued that no queue took;
* one program's optimal plan raises after the first block was queued: its first
  block stays queued, the other program is planned and submitted, the run is
  red, ``tooflow show`` says there is no optimal plan and why, the people on
  duty are told;
* the database goes away once as the optimal plan starts: the plan task tries
  again, the optimal plan replaces the first block, no key twice;
* a first block in daylight: nothing to queue early, and why;
* a detection program on the replayed 2018 event: planned for coverage, and the
  plan says why.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import (
    FacilityTransaction,
    Notice,
    NotificationRecord,
    Plan,
    PlannedObservationRow,
    QueueRequestRow,
)
from tooflow.records.first_light import first_light_records
from tooflow.simulator.server import SimulatorServer
from tooflow.stages.first_light import plan_first_light
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import submit_plan
from tooflow.views.event import load_event_view, render_text

from .programs_helpers import NIGHT, PRELIMINARY, kilonova_program, programs_yaml, use_programs
from .test_first_light import _gated, simulator  # noqa: F401 - the fixture
from .test_unsent_requests import closed_port, point_ztf_at

PROGRAM = "ZTF kilonova"


def _rows(engine, **where) -> list[QueueRequestRow]:
    with Session(engine) as s:
        query = select(QueueRequestRow).order_by(QueueRequestRow.id)
        for name, value in where.items():
            query = query.where(getattr(QueueRequestRow, name) == value)
        return list(s.exec(query))


def _wanted(engine, plan_id: int) -> set[tuple[str, str]]:
    with Session(engine) as s:
        return {(o.telescope, o.request_key) for o in s.exec(
            select(PlannedObservationRow).where(PlannedObservationRow.plan_id == plan_id))}


def _nowhere(tmp_path, monkeypatch) -> None:
    """ZTF and Gattini (the map does not fit one ZTF field for both), queues refusing."""
    queue = {"url": f"http://127.0.0.1:{closed_port()}", "retries": 1, "backoff": 0.01}
    use_programs(tmp_path, monkeypatch,
                 programs_yaml(kilonova_program(telescopes=("ZTF", "Gattini"))),
                 yaml.safe_dump({"facilities": {"ZTF": queue, "Gattini": queue}}))


def _show(engine) -> str:
    with Session(engine) as s:
        return render_text(load_event_view(s, "MS181101ab", coverage=False, candidates=False))


@pytest.mark.slow  # plans a real map, a queue on loopback
def test_first_block_refused_by_a_queue_is_sent_once_by_the_optimal_plan(sqlite_engine,
                                                                           simulator):  # noqa: F811
    engine = sqlite_engine
    notice_id, event_pk = _gated(PRELIMINARY, engine, PROGRAM)  # ZTF and DECam
    port = closed_port()
    point_ztf_at(f"http://127.0.0.1:{port}")
    settings = load_settings()
    first = plan_first_light(notice_id, PROGRAM, engine=engine, settings=settings,
                             start=NIGHT)
    early = submit_plan(first.plan_id, engine=engine, settings=settings)
    assert early.errors.keys() == {"ZTF"} and early.submitted["DECam"] > 0
    refused = {("ZTF", q.request_key) for q in _rows(engine, telescope="ZTF")}
    assert refused and {q.status for q in _rows(engine, telescope="ZTF")} == {"unsent"}
    with Session(engine) as s:
        (rec,) = first_light_records(s, event_pk)
    assert f"; {len(refused)} not accepted by a queue" in rec.lines()[0]

    optimal = plan_for_program(notice_id, PROGRAM, engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    with SimulatorServer(port=port, speedup=1, weather_loss=0.0, start=NIGHT) as ztf:
        late = submit_plan(optimal, engine=engine, settings=settings)
        taken = refused & _wanted(engine, optimal)
        states = {s["request_key"]: s["status"]
                  for s in ztf.simulator.status([key for _, key in refused])}
    assert not late.errors
    # what the optimal plan also wants went with it, once; the rest was never sent
    assert all(states[key] != "unknown" for _, key in taken)
    assert all(states[key] == "unknown" for _, key in refused - taken)
    with Session(engine) as s:
        posts = s.exec(select(FacilityTransaction).where(
            FacilityTransaction.url.contains("/queues/ZTF/"),
            FacilityTransaction.status_code == 200)).all()
    assert len([t for t in posts if t.method == "POST"]) == 1
    by_key = {(q.telescope, q.request_key): q for q in _rows(engine)}
    assert all(by_key[k].plan_id == optimal and by_key[k].status != "unsent" for k in taken)
    assert all(by_key[k].status == "cancelled" for k in refused - taken)
    # `tooflow show`: the first block's queued requests are DECam's; ZTF's were left to
    # the optimal plan
    with Session(engine) as s:
        (rec,) = first_light_records(s, event_pk)
    assert set(rec.requests) == {"DECam"}
    assert taken and rec.left_to_optimal == len(taken)
    assert (f"{len(taken)} not accepted by a queue then, left to the optimal plan "
            f"#{optimal}") in _show(engine)


@pytest.mark.slow  # plans a real map
def test_nothing_is_said_queued_that_no_queue_took(sqlite_engine, tmp_path, monkeypatch):
    """ZTF and Gattini, their queues refusing the first block and the optimal plan."""
    engine = sqlite_engine
    _nowhere(tmp_path, monkeypatch)
    notice_id, event_pk = _gated(PRELIMINARY, engine, PROGRAM)
    settings = load_settings()
    first = plan_first_light(notice_id, PROGRAM, engine=engine, settings=settings,
                             start=NIGHT)
    assert submit_plan(first.plan_id, engine=engine, settings=settings).errors
    optimal = plan_for_program(notice_id, PROGRAM, engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    assert submit_plan(optimal, engine=engine, settings=settings).errors
    rows = _rows(engine)
    assert rows and not any(q.queue_id for q in rows)  # no queue ever took one
    # a first-block request the optimal plan dropped reads "cancelled" (never sent)
    assert any(q.plan_id == first.plan_id and q.status == "cancelled" for q in rows)
    with Session(engine) as s:
        (rec,) = first_light_records(s, event_pk)
    assert rec.queued is None and rec.requests == {} and rec.after_arrival is None
    assert rec.lines()[0].startswith(f"first light ({PROGRAM}): first block, plan "
                                     f"#{first.plan_id}: nothing queued")


def test_a_first_block_in_daylight_queues_nothing_and_says_why(sqlite_engine, tmp_path,
                                                               monkeypatch):
    engine = sqlite_engine
    _nowhere(tmp_path, monkeypatch)
    notice_id, _ = _gated(PRELIMINARY, engine, PROGRAM)
    noon_at_palomar = dt.datetime(2019, 4, 1, 19, 0, tzinfo=dt.UTC)
    first = plan_first_light(notice_id, PROGRAM, engine=engine, settings=load_settings(),
                             start=noon_at_palomar)
    assert first.plan_id is None and first.kind == "none" and not first.final
    assert first.why == ("Gattini: nothing observable in the first 30 min; the optimal plan "
                         "follows; ZTF: nothing observable in the first 30 min; the optimal "
                         "plan follows")
    with Session(engine) as s:
        assert not s.exec(select(Plan)).all()


def _handle(sqlite_engine, tmp_path):
    from tooflow.flows.handle_notice import handle_notice

    with open(tmp_path / "tooflow.yaml", "a") as config:
        config.write("monitor:\n  max_wall_seconds: 0\n")
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    return stored.notice_id, handle_notice(stored.notice_id, plan_start=NIGHT,
                                           return_state=True)


def _task_runs(state):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))


class _RefusesOnce:
    """``facility_for`` whose ZTF queue refuses the first submission, then takes them."""

    def __init__(self, real) -> None:
        self.real, self.refused = real, 0

    def __call__(self, telescope, settings):
        from tooflow.facilities.http import FacilityUnavailable

        facility = self.real(telescope, settings)
        if telescope == "ZTF" and not self.refused:
            def refuse(observations, **kw):
                self.refused += 1
                raise FacilityUnavailable("ZTF queue down for the test")

            facility.submit = refuse
        return facility


def test_first_block_refused_then_sent_with_the_optimal_plan_is_a_red_run(
        prefect, sqlite_engine, simulator, tmp_path, monkeypatch):  # noqa: F811
    import tooflow.facilities.routing as routing

    queue = _RefusesOnce(routing.facility_for)
    monkeypatch.setattr(routing, "facility_for", queue)
    notice_id, state = _handle(sqlite_engine, tmp_path)
    assert queue.refused == 1
    # every request went, once: the optimal plan sent what it wanted of the first block
    rows = _rows(sqlite_engine)
    assert rows and not [q for q in rows if q.status == "unsent"]
    assert len({(q.telescope, q.request_key) for q in rows}) == len(rows)
    # ... and the run is red all the same, with the first block's reason, and people told
    reason = ("first block: ZTF: ZTF queue down for the test (1 request(s) kept unsent); "
              "the optimal plan's submission went through")
    assert state.is_failed() and reason in state.message
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, notice_id)
        told = s.exec(select(NotificationRecord).where(
            NotificationRecord.reason == "submission_failed")).all()
    assert notice.status == "failed" and reason in notice.error
    assert told and reason in told[0].summary["detail"]


def test_optimal_plan_failing_leaves_the_first_block_queued_and_the_run_red(
        prefect, sqlite_engine, simulator, tmp_path, monkeypatch):  # noqa: F811
    """Two programs; one's optimal plan fails, the other's is planned and submitted."""
    import tooflow.planning

    use_programs(tmp_path, monkeypatch, programs_yaml(
        kilonova_program(telescopes=("ZTF", "DECam")),
        kilonova_program("Gattini kilonova", telescopes=("Gattini",))),
        f"facilities:\n  simulator:\n    url: {simulator.url}\n")
    real = tooflow.planning.plan_skymap

    def crash_for_decam(moc, telescopes, *args, **kwargs):
        if "DECam" in telescopes:
            raise RuntimeError("the solver crashed")
        return real(moc, telescopes, *args, **kwargs)

    monkeypatch.setattr(tooflow.planning, "plan_skymap", crash_for_decam)
    notice_id, state = _handle(sqlite_engine, tmp_path)
    reason = "plan failed: PlanFailed: ZTF kilonova: RuntimeError: the solver crashed"
    assert state.is_failed() and "ZTF kilonova: RuntimeError: the solver crashed" in state.message
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, notice_id)
        plans = {(p.program, p.solver_status.split("+")[0]): p
                 for p in s.exec(select(Plan)).all()}
    assert notice.status == "failed" and notice.error == reason
    # the failing program: its first block, still submitted, nothing of it cancelled
    first = plans[(PROGRAM, "FIRST-BLOCK")]
    assert first.status == "submitted" and {p for p, _ in plans} == {PROGRAM, "Gattini kilonova"}
    assert len([k for k in plans if k[0] == PROGRAM]) == 1
    rows = _rows(sqlite_engine, plan_id=first.id)
    assert rows and all(q.status != "cancelled" for q in rows)
    # the other program's optimal plan replaced its first block all the same
    other = [p for (program, _), p in plans.items() if program == "Gattini kilonova"]
    assert sorted(p.status for p in other) == ["submitted", "superseded"]
    names = [t.name for t in _task_runs(state)]
    assert f"submit-plan-{first.id}" in names and "plan-Gattini kilonova" in names
    text = _show(sqlite_engine)
    assert (f"no optimal plan: {reason}; the first block's requests stay as they are"
            in text)
    assert "optimal plan pending" not in text
    # the people on duty are told: only the first block is queued
    with Session(sqlite_engine) as s:
        (told,) = s.exec(select(NotificationRecord).where(
            NotificationRecord.reason == "run_failed")).all()
    assert told.summary["detail"].startswith(reason)


def test_database_down_once_before_the_optimal_plan_is_tried_again(
        prefect, sqlite_engine, simulator, tmp_path, monkeypatch):  # noqa: F811
    import tooflow.stages.plan as plan_stage

    from .database_outage import DownFor

    outage = DownFor(plan_stage.plan_program, 1)
    monkeypatch.setattr(plan_stage, "plan_program", outage)
    _, state = _handle(sqlite_engine, tmp_path)
    assert state.is_completed() and outage.left == 0
    summary = state.result()
    fast = summary.submitted[PROGRAM]["first_light"]["plan_id"]
    with Session(sqlite_engine) as s:
        plans = {p.id: p.status for p in s.exec(select(Plan))}
    assert plans == {fast: "superseded", summary.plans[PROGRAM]: "submitted"}
    keys = [q.request_key for q in _rows(sqlite_engine)]
    assert len(keys) == len(set(keys))
    (plan_run,) = [t for t in _task_runs(state) if t.name == f"plan-{PROGRAM}"]
    assert plan_run.state.is_completed() and plan_run.run_count == 1  # retried inside


@pytest.mark.slow  # plans a real map
def test_detection_past_the_models_photometry_is_planned_for_coverage_and_says_why(
        sqlite_engine, tmp_path, monkeypatch):
    engine = sqlite_engine
    program = kilonova_program()
    program["strategy"].update(objective="detection", counterpart={"model": "kilonova"})
    use_programs(tmp_path, monkeypatch, programs_yaml(program),
                 "facilities:\n  simulator:\n    url: http://127.0.0.1:9\n")
    notice_id, _ = _gated(PRELIMINARY, engine, PROGRAM)
    plan_id = plan_for_program(notice_id, PROGRAM, engine=engine, settings=load_settings(),
                               start=NIGHT, picture=False)
    with Session(engine) as s:
        row = s.get(Plan, plan_id)
    assert row.objective_name == "coverage" and row.observable
    why = "planned for coverage: the window starts 150 days after the event, beyond the "
    assert why in row.counterpart
    assert why in _show(engine)
