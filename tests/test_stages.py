"""The follow-up stages on a real notice: plan → submit → poll → circular, notify, cancel.

MS181101ab (the LVK user-guide mock, Avro with its BAYESTAR map) is planned for
ZTF on the night of 2019-04-01 (Palomar), when its RA 194°, Dec −18° position
transits near local midnight, and observed by the real simulator service on
loopback with an accelerated clock.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlmodel import Session, select

from tests.waiting import HANG
from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import (
    CircularDraft,
    ExecutedObservationRow,
    FacilityTransaction,
    NotificationRecord,
    Plan,
    PlannedObservationRow,
    QueueRequestRow,
)
from tooflow.records.coverage import achieved_coverage
from tooflow.records.event import load_event_moc
from tooflow.simulator.server import SimulatorServer
from tooflow.stages.circular import draft_circular
from tooflow.stages.gate import gate_notice
from tooflow.stages.monitor import poll_event
from tooflow.stages.notify import notify_event
from tooflow.stages.parse import parse_stored_notice
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import cancel_event_requests, submit_plan

from .programs_helpers import NIGHT, PRELIMINARY, use_simulator
from .simulated_clock import simulator_from_first_request


@pytest.fixture
def simulator(tmp_path, monkeypatch):
    """Start the simulator when called; its accelerated clock leaves NIGHT once the
    first request is queued (however long submitting took on a busy machine)."""
    servers = []

    def start(speedup: float = 5000.0) -> SimulatorServer:
        server = simulator_from_first_request(speedup=speedup, weather_loss=0.0, seed=1,
                                              start=NIGHT).start()
        servers.append(server)
        use_simulator(tmp_path, monkeypatch, server.url)
        return server

    use_simulator(tmp_path, monkeypatch, "http://127.0.0.1:9")  # nothing listens yet
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gated(engine, simulator):
    """MS181101ab preliminary stored, parsed and gated; returns (notice id, event pk)."""
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=engine)
    settings = load_settings()
    outcome = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
    decisions = gate_notice(stored.notice_id, engine=engine, settings=settings)
    assert [d.program for d in decisions if d.triggered] == ["ZTF kilonova"]
    return stored.notice_id, outcome.event_pk


def _wait_until_done(event_pk, engine, settings, timeout=HANG):
    deadline = time.monotonic() + timeout
    while True:
        progress = poll_event(event_pk, engine=engine, settings=settings)
        if progress.done or time.monotonic() > deadline:
            return progress
        time.sleep(0.3)


def test_plan_submit_poll_circular(gated, engine, simulator):
    notice_id, event_pk = gated
    settings = load_settings()
    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    with Session(engine) as s:
        plan = s.get(Plan, plan_id)
        rows = s.exec(select(PlannedObservationRow)
                      .where(PlannedObservationRow.plan_id == plan_id)).all()
    assert plan.telescopes == ["ZTF"] and plan.objective > 0.3
    assert plan.upper_bound >= plan.objective and plan.gap <= 0.02
    assert rows and {r.filter for r in rows} == {"g", "r"}
    assert all(r.request_key.startswith("MS181101ab:ZTF:f") for r in rows)
    assert all(NIGHT <= r.start_time <= NIGHT + dt.timedelta(hours=10) for r in rows)

    simulator()  # the night starts with the first request, 5000 times faster than real time
    settings = load_settings()
    first = submit_plan(plan_id, engine=engine, settings=settings)
    assert first.submitted == {"ZTF": len(rows)} and not first.errors
    again = submit_plan(plan_id, engine=engine, settings=settings)
    assert again.submitted == {} and again.already_queued == {"ZTF": len(rows)}
    with Session(engine) as s:
        assert len(s.exec(select(QueueRequestRow)).all()) == len(rows)
        assert s.exec(select(FacilityTransaction)).first() is not None

    progress = _wait_until_done(event_pk, engine, settings)
    assert progress.done and progress.failed == 0
    assert progress.executed == progress.completed == len(rows)
    # Covered probability recomputed from what executed equals what the plan promised.
    assert progress.coverage["total"] == pytest.approx(plan.objective, rel=0.02)
    with Session(engine) as s:
        executed = s.exec(select(ExecutedObservationRow)).all()
    assert all(e.limiting_magnitude and 17 < e.limiting_magnitude < 23 for e in executed)
    assert poll_event(event_pk, engine=engine, settings=settings).new_executed == 0

    draft_id = draft_circular(event_pk, "ZTF kilonova", engine=engine, settings=settings,
                              coverage=progress.coverage, area=progress.area)
    with Session(engine) as s:
        draft = s.get(CircularDraft, draft_id)
    assert draft.subject.startswith("LIGO/Virgo/KAGRA MS181101ab")
    assert "A. Astronomer and B. Observer (Caltech)" in draft.body
    text = " ".join(draft.body.split())
    assert f"~{100 * progress.coverage['ZTF']:.1f}% of the probability" in text


def test_replan_never_queues_twice(gated, engine, simulator):
    notice_id, event_pk = gated
    simulator(speedup=1)  # real time: nothing runs during the test
    settings = load_settings()
    first = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                             start=NIGHT, picture=False)
    first_result = submit_plan(first, engine=engine, settings=settings)
    # An update arrives: the same map is planned again (same fields, same keys).
    second = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                              start=NIGHT, picture=False)
    result = submit_plan(second, engine=engine, settings=settings)
    assert sum(first_result.submitted.values()) > 0
    with Session(engine) as s:
        assert s.get(Plan, first).status == "superseded"
        keys = [q.request_key for q in s.exec(select(QueueRequestRow)).all()]
    assert len(keys) == len(set(keys))
    assert sum(result.already_queued.values()) > 0


def test_retraction_cancels_what_has_not_run(gated, engine, simulator):
    notice_id, event_pk = gated
    settings = load_settings()
    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    simulator(speedup=1)  # a real-time clock: nothing finishes before the cancellation
    settings = load_settings()
    n = submit_plan(plan_id, engine=engine, settings=settings).submitted["ZTF"]
    cancelled = cancel_event_requests(event_pk, engine=engine, settings=settings)
    assert cancelled["ZTF"] >= n - 1  # at most the exposure already running
    with Session(engine) as s:
        assert s.get(Plan, plan_id).status == "cancelled"
        statuses = [q.status for q in s.exec(select(QueueRequestRow)).all()]
    assert statuses.count("cancelled") == cancelled["ZTF"]


def test_notify_once_per_change(gated, engine, capsys):
    _, event_pk = gated
    settings = load_settings()
    sent = notify_event(event_pk, "program_triggered", programs=["ZTF kilonova"],
                        flow_run_url="http://127.0.0.1:4200/runs/x", engine=engine,
                        settings=settings, environ={})
    assert sent  # nobody on duty: the console gets it
    assert "MS181101ab" in capsys.readouterr().err
    again = notify_event(event_pk, "program_triggered", programs=["ZTF kilonova"],
                         flow_run_url="http://127.0.0.1:4200/runs/x", engine=engine,
                         settings=settings, environ={})
    assert again == []
    with Session(engine) as s:
        rows = s.exec(select(NotificationRecord)).all()
    assert len(rows) == len(sent) and rows[0].summary["event_id"] == "MS181101ab"


def test_achieved_coverage_counts_overlaps_once(gated, engine):
    notice_id, event_pk = gated
    with Session(engine) as s:
        moc, _ = load_event_moc(s, event_pk, load_settings(), notice_id)
    one, area_one = achieved_coverage(moc, [("ZTF", 194.3, -17.9)])
    twice, area_twice = achieved_coverage(moc, [("ZTF", 194.3, -17.9), ("ZTF", 194.3, -17.9)])
    assert 0 < one["total"] < 1
    assert twice == one and area_twice == area_one
    assert 40 < area_one["ZTF"] < 50  # ZTF's 47 deg2 field of view, chip gaps excluded


def test_exposures_without_our_keys_are_matched_by_field(gated, engine, simulator):
    """ZTF publishes its exposures (IRSA TAP) without our request keys."""
    from tooflow.observations import ExecutedObservation
    from tooflow.stages.monitor import _keys_by_field, _match_by_field

    notice_id, event_pk = gated
    settings = load_settings()
    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    with Session(engine) as s:
        row = s.exec(select(PlannedObservationRow)
                     .where(PlannedObservationRow.plan_id == plan_id,
                            PlannedObservationRow.filter == "g")).first()
        unkeyed = _keys_by_field(s, event_pk)
    seen = ExecutedObservation(telescope="ZTF", ra=row.ra, dec=row.dec, filter="g",
                               exposure_time=30, obs_time=row.start_time, field_id=row.field_id)
    assert _match_by_field(seen, unkeyed).request_key == row.request_key
    other = ExecutedObservation(telescope="ZTF", ra=0.0, dec=0.0, filter="g",
                                exposure_time=30, obs_time=row.start_time, field_id=1)
    assert _match_by_field(other, unkeyed).request_key is None


def test_achieved_coverage_says_what_each_telescope_adds(gated, engine):
    """Each telescope's own union and what it adds: the total minus the others' union."""
    notice_id, event_pk = gated
    with Session(engine) as s:
        moc, _ = load_event_moc(s, event_pk, load_settings(), notice_id)
    ztf = [("ZTF", 194.3, -17.9)]
    decam = [("DECam", 194.3, -17.9), ("DECam", 194.3, -22.5)]
    prob, _, added = achieved_coverage(moc, ztf + decam, with_added=True)
    alone_ztf, _ = achieved_coverage(moc, ztf)
    alone_decam, _ = achieved_coverage(moc, decam)
    assert prob["ZTF"] == pytest.approx(alone_ztf["total"])
    assert prob["DECam"] == pytest.approx(alone_decam["total"])
    assert added["ZTF"] == pytest.approx(prob["total"] - alone_decam["total"])
    assert added["DECam"] == pytest.approx(prob["total"] - alone_ztf["total"])
    # the DECam field at ZTF's pointing adds nothing ZTF did not cover; the other one does
    assert 0 < added["DECam"] < prob["DECam"]
    assert 0 < added["ZTF"] <= prob["ZTF"]


class _StepClock:
    """A wall clock (seconds) that moves only when the test says."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_later_plan_requests_again_what_failed_at_the_telescope(gated, engine, simulator,
                                                                   tmp_path, monkeypatch):
    """Weather loses the first exposures; an update's re-plan wants the same fields
    (same keys): it requests the failed ones again under new keys (KEY:r2), never
    what is still queued or completed, and the accounting counts each exposure once."""
    from tooflow.simulator.engine import Simulator
    from tooflow.views.event import load_event_view, render_text

    from .programs_helpers import use_simulator

    notice_id, event_pk = gated
    clock = _StepClock()
    sim = Simulator(speedup=1.0, weather_loss=1.0, seed=1, start=NIGHT, clock=clock)
    server = SimulatorServer(sim).start()
    try:
        use_simulator(tmp_path, monkeypatch, server.url)
        settings = load_settings()
        first = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                                 start=NIGHT, picture=False)
        n = submit_plan(first, engine=engine, settings=settings).submitted["ZTF"]
        clock.t = 2 * 3600.0  # two hours of clouds: what ran in them failed
        poll_event(event_pk, engine=engine, settings=settings)
        with Session(engine) as s:
            failed = {q.request_key for q in s.exec(select(QueueRequestRow)) if
                      q.status == "failed"}
        assert 0 < len(failed) < n  # some lost, others still waiting in the queue
        # the same plan again (a retried submission): its own failures are not re-sent
        assert submit_plan(first, engine=engine, settings=settings).submitted == {}

        sim.weather_loss = 0.0  # the sky clears; an update notice re-plans the same map
        second = plan_for_program(notice_id, "ZTF kilonova", engine=engine,
                                  settings=settings, start=NIGHT, picture=False)
        result = submit_plan(second, engine=engine, settings=settings)
        assert result.submitted == {"ZTF": len(failed)} and not result.errors
        assert result.already_queued == {"ZTF": n - len(failed)}
        assert result.rerequested == {"ZTF": len(failed)}
        with Session(engine) as s:
            rows = s.exec(select(QueueRequestRow)).all()
        again = {q.request_key for q in rows if q.plan_id == second}
        assert again == {f"{k}:r2" for k in failed}
        assert len(rows) == n + len(failed)  # no key twice
        assert {k for k, r in sim._by_key.items() if r.status == "failed"} == failed

        clock.t = 12 * 3600.0  # the night is over
        progress = poll_event(event_pk, engine=engine, settings=settings)
        assert progress.done and progress.executed == progress.completed == n
        assert progress.failed == 0 and progress.rerequested == len(failed)
        with Session(engine) as s:
            keys = {e.request_key for e in s.exec(select(ExecutedObservationRow))}
        assert keys >= again

        # a third plan wants the same: nothing completed is sent again, no :r3
        third = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                                 start=NIGHT, picture=False)
        last = submit_plan(third, engine=engine, settings=settings)
        assert last.submitted == {} and last.already_queued == {"ZTF": n}

        with Session(engine) as s:
            view = load_event_view(s, "MS181101ab", coverage=False, candidates=False)
        assert view.requests[0].counts == {"completed": n, "failed (re-requested)": len(failed)}
        assert not [line for line in view.attention if "failed" in line]
        assert f"{len(failed)} failed (re-requested)" in render_text(view)
    finally:
        server.stop()
