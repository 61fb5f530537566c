"""One monitor per event: opened at submission, polled on a schedule, drafted once.

The notices are MS181101ab's real PRELIMINARY and update (tests/data/lvk/avro).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from tooflow.intake.store import store_notice
from tooflow.models import (
    CircularDraft,
    Event,
    EventMonitor,
    Notice,
    Plan,
    QueueRequestRow,
)
from tooflow.stages.event_monitor import (
    claim_draft,
    load_monitor,
    open_monitor,
    record_poll,
    reopen_monitor,
    watched_events,
)

from .conftest import DATA
from .programs_helpers import NIGHT, PRELIMINARY, kilonova_program, programs_yaml, use_programs
from .waiting import wait_for

UPDATE = DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro"

#: Two programs following one event, each with its own telescope.
TWO_PROGRAMS = programs_yaml(kilonova_program(),
                             kilonova_program("Gattini kilonova", telescopes=("Gattini",)))


def _config(tmp_path, monkeypatch, *, mode: str, simulator_url: str | None) -> None:
    text = f"monitor: {{mode: {mode}}}\n"
    if simulator_url:
        text += f"facilities:\n  simulator:\n    url: {simulator_url}\n"
    use_programs(tmp_path, monkeypatch, TWO_PROGRAMS, text)


def _shown(engine) -> str:
    """``tooflow show MS181101ab``'s text."""
    from tooflow.views.event import load_event_view, render_text

    with Session(engine) as session:
        return render_text(load_event_view(session, "MS181101ab", coverage=False))


def _event(engine) -> int:
    with Session(engine) as session:
        event = Event(event_id="MS181101ab", kind="GW", source="LVK",
                      time=dt.datetime(2018, 11, 1, 22, 22, 46, tzinfo=dt.UTC), is_mock=True)
        session.add(event)
        session.commit()
        return event.id


# --- the monitor's row, without Prefect ---------------------------------------------


def test_a_monitor_drafts_once_per_generation_of_work(sqlite_engine, tooflow_home,
                                                        monkeypatch):
    from tooflow.config import load_settings

    monkeypatch.setenv("TOOFLOW_DATABASE_URL", str(sqlite_engine.url))
    settings = load_settings()
    event_pk = _event(sqlite_engine)
    t0 = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    row = open_monitor(event_pk, ["ZTF kilonova"], notice_id=1, new_requests=True,
                       engine=sqlite_engine, settings=settings, now=t0)
    assert (row.status, row.generation, row.programs) == ("watching", 1, ["ZTF kilonova"])
    # nothing submitted yet: its window is closed already
    assert row.closes == t0
    assert watched_events(engine=sqlite_engine) == [(event_pk, "MS181101ab")]

    # a second notice of the event queues more work before the first poll finished
    verdict = record_poll(event_pk, 3, engine=sqlite_engine, now=t0 - dt.timedelta(seconds=1))
    assert not verdict.finished and verdict.reason == "open" and verdict.polls == 1
    open_monitor(event_pk, ["Gattini kilonova"], notice_id=2, new_requests=True,
                 engine=sqlite_engine, settings=settings, now=t0)
    done = record_poll(event_pk, 0, engine=sqlite_engine, now=t0)
    assert done.finished and done.reason == "done" and done.generation == 2
    assert done.programs == ("Gattini kilonova", "ZTF kilonova")
    # the claim made for the first generation loses; the second is drafted once
    assert not claim_draft(event_pk, 1, engine=sqlite_engine)
    assert claim_draft(event_pk, 2, engine=sqlite_engine)
    assert not claim_draft(event_pk, 2, engine=sqlite_engine)
    assert watched_events(engine=sqlite_engine) == []

    # a re-run that queued nothing new does not open it again (no second draft) ...
    row = open_monitor(event_pk, ["ZTF kilonova"], notice_id=3, new_requests=False,
                       engine=sqlite_engine, settings=settings, now=t0)
    assert row.status == "done" and row.drafted_generation == 2
    # ... requests queued later do: the next draft reports them
    row = open_monitor(event_pk, ["ZTF kilonova"], notice_id=4, new_requests=True,
                       engine=sqlite_engine, settings=settings, now=t0)
    assert (row.status, row.generation) == ("watching", 3)
    late = record_poll(event_pk, 5, engine=sqlite_engine, now=t0 + dt.timedelta(seconds=1))
    assert late.finished and late.reason == "window closed" and late.polls == 3
    assert claim_draft(event_pk, 3, engine=sqlite_engine)
    # a draft that failed after its claim is claimed again at the next poll
    reopen_monitor(event_pk, 3, engine=sqlite_engine)
    assert load_monitor(event_pk, engine=sqlite_engine).status == "watching"
    assert claim_draft(event_pk, 3, engine=sqlite_engine)
    with pytest.raises(LookupError, match="no monitor"):
        record_poll(event_pk + 1, 0, engine=sqlite_engine)


# --- the wrong simulator / worker combination ----------------------------------------


def test_a_scheduled_monitor_with_an_in_process_simulator_is_refused(tooflow_home, tmp_path,
                                                                      monkeypatch):
    from tooflow.config import load_settings
    from tooflow.embedded.runner import start_runner
    from tooflow.flows.monitor import MonitorPlacementError, check_monitor_placement

    _config(tmp_path, monkeypatch, mode="deployment", simulator_url=None)
    with pytest.raises(MonitorPlacementError,
                       match=r"but Gattini, ZTF would be observed by a telescope simulator "
                             r"served inside each process"):
        check_monitor_placement(load_settings())
    # the local runner refuses at once, rather than serving a child that exits
    with pytest.raises(MonitorPlacementError, match="facilities.simulator.url"):
        start_runner()
    # inline (one process), a simulator service, or real queues are all fine
    check_monitor_placement(load_settings(), mode="inline")
    _config(tmp_path, monkeypatch, mode="deployment", simulator_url="http://127.0.0.1:9")
    check_monitor_placement(load_settings())
    (tmp_path / "tooflow.yaml").write_text(
        f"programs_file: {tmp_path / 'programs.yaml'}\nmonitor: {{mode: deployment}}\n"
        "facilities:\n  ZTF: {adapter: ZTF, url: http://127.0.0.1:9}\n"
        "  Gattini: {adapter: simulator}\n")
    with pytest.raises(MonitorPlacementError, match="but Gattini would be observed"):
        check_monitor_placement(load_settings())


def test_handle_notice_refuses_the_wrong_combination_before_queueing(prefect, sqlite_engine,
                                                                     tmp_path, monkeypatch):
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.flows.monitor import monitor_events

    _config(tmp_path, monkeypatch, mode="deployment", simulator_url=None)
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    state = handle_notice(stored.notice_id, plan_start=NIGHT, return_state=True)
    assert state.is_failed()
    assert "facilities.simulator.url" in state.message
    with Session(sqlite_engine) as session:
        notice = session.get(Notice, stored.notice_id)
        assert notice.status == "failed"
        assert notice.error.startswith("start failed: MonitorPlacementError: monitor.mode: "
                                       "deployment polls the queues")
        assert session.exec(select(QueueRequestRow)).first() is None
        assert session.exec(select(Plan)).first() is None
    tick = monitor_events(return_state=True)
    assert tick.is_failed() and "simulator served inside each process" in tick.message


# --- two notices of one superevent, one scheduled monitor -----------------------------


def test_two_notices_of_one_superevent_get_one_monitor_and_one_draft_per_program(
        prefect, sqlite_engine, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from tooflow.flows.handle_notice import handle_notice
    from tooflow.flows.monitor import monitor_events

    from .simulated_clock import simulator_from_first_request

    # the session's Prefect server also holds earlier tests' inline monitor runs
    started = dt.datetime.now(dt.UTC)
    ids = [store_notice(p.read_bytes(), str(p), engine=sqlite_engine).notice_id
           for p in (PRELIMINARY, UPDATE)]
    ticks: list[dict] = []
    with simulator_from_first_request(speedup=3000, weather_loss=0.0, start=NIGHT) as server:
        _config(tmp_path, monkeypatch, mode="deployment", simulator_url=server.url)
        first = handle_notice(ids[0], plan_start=NIGHT)
        second = handle_notice(ids[1], plan_start=NIGHT)
        # production: handle-notice ends at submission; nothing polled, nothing drafted
        for out in (first, second):
            assert out.monitor == "scheduled"
            assert out.progress is None and out.circulars == {}
        assert sorted(first.triggered) == ["Gattini kilonova", "ZTF kilonova"]
        with Session(sqlite_engine) as session:
            assert session.exec(select(CircularDraft)).first() is None
            monitor = session.exec(select(EventMonitor)).one()  # one per event
        assert monitor.notice_id == ids[1] and monitor.status == "watching"
        assert monitor.programs == ["Gattini kilonova", "ZTF kilonova"]
        assert "monitor: watching for Gattini kilonova, ZTF kilonova: 0 poll(s); window " \
            "closes" in _shown(sqlite_engine)

        def tick_until_done() -> bool:
            ticks.append(monitor_events())
            return load_monitor(monitor.event_pk, engine=sqlite_engine).status == "done"

        wait_for(tick_until_done, "the scheduled monitor to draft", every=1.0)
    assert all(not t["errors"] for t in ticks)
    drafted = [t["events"]["MS181101ab"]["circulars"] for t in ticks
               if t["events"]["MS181101ab"]["circulars"]]
    assert len(drafted) == 1 and set(drafted[0]) == {"Gattini kilonova", "ZTF kilonova"}
    assert ticks[-1]["events"]["MS181101ab"]["state"] in ("done", "window closed")
    # a tick after the draft polls nothing and drafts nothing
    assert monitor_events()["events"] == {}
    with Session(sqlite_engine) as session:
        drafts = session.exec(select(CircularDraft)).all()
        monitor = session.get(EventMonitor, monitor.id)
        executed = session.exec(select(QueueRequestRow)
                                .where(QueueRequestRow.status == "completed")).all()
    assert sorted(d.program for d in drafts) == ["Gattini kilonova", "ZTF kilonova"]
    assert executed and "MS181101ab" in drafts[0].subject
    # one poll per tick for the event, whatever the number of notices
    assert monitor.polls == len(ticks)
    assert f"monitor: done, drafted {monitor.drafted:%Y-%m-%d %H:%M} UTC after " \
        f"{len(ticks)} poll(s)" in _shown(sqlite_engine)
    with get_client(sync_client=True) as client:
        monitors = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=["monitor-MS181101ab"])))
    assert [r for r in monitors if r.created and r.created >= started] == []  # none per notice


# --- the per-event concurrency limits --------------------------------------------------


def test_idle_per_event_limits_are_swept_and_made_again_on_use(prefect, sqlite_engine):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    from tooflow.flows.event_lock import event_lock, event_lock_name, sweep_event_locks

    now = dt.datetime.now(dt.UTC)
    with Session(sqlite_engine) as session:
        for event_id, hours_ago in (("MS181101ab", 3), ("MS190425z", 0.1), ("MS230518h", 3)):
            session.add(Event(event_id=event_id, kind="GW", source="LVK", time=now,
                              updated=now - dt.timedelta(hours=hours_ago)))
        session.commit()
    with get_client(sync_client=True) as client:
        for name in (event_lock_name("MS181101ab"), event_lock_name("MS190425z"),
                     event_lock_name("MS999999zz"), "ztf-queue-sweep-test"):
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:  # made by an earlier test of the session
                pass

    def names() -> set[str]:
        """Which of this test's limits exist (looked up by name: a listing's first page
        need not hold them on the session's Prefect server)."""
        mine = {event_lock_name(e) for e in ("MS181101ab", "MS190425z", "MS230518h",
                                             "MS999999zz")} | {"ztf-queue-sweep-test"}
        found = set()
        with get_client(sync_client=True) as client:
            for name in mine:
                try:
                    client.read_global_concurrency_limit_by_name(name)
                except ObjectNotFound:
                    continue
                found.add(name)
        return found

    with event_lock("MS230518h"):  # idle for 3 h, but a run holds it now
        deleted = set(sweep_event_locks(engine=sqlite_engine, now=now))
    # idle for 3 h, and the limit of an event that is not in the database: deleted
    assert {"tooflow-event-ms181101ab", "tooflow-event-ms999999zz"} <= deleted
    left = names()
    assert not left & {"tooflow-event-ms181101ab", "tooflow-event-ms999999zz"}
    # a notice 6 minutes ago, a slot taken, and limits that are not tooflow's: kept
    assert {"tooflow-event-ms190425z", "tooflow-event-ms230518h",
            "ztf-queue-sweep-test"} <= left
    assert "tooflow-event-ms230518h" not in deleted
    # the next run of a swept event makes its limit again
    with event_lock("MS181101ab") as name:
        assert name in names()
    assert sweep_event_locks(engine=sqlite_engine, now=now + dt.timedelta(hours=3)) != []
    assert "tooflow-event-ms230518h" not in names()  # released and idle now


def test_a_later_run_of_an_event_does_not_create_its_limit_again(prefect, caplog):
    """The second lock of an event finds its limit: no create request the server refuses
    (each refused one logged an IntegrityError traceback in the Prefect server's log,
    seen as "duplicate concurrency-limit name" errors in benchmarks/latency.py)."""
    import logging

    from tooflow.flows.event_lock import event_lock

    with caplog.at_level(logging.INFO, logger="httpx"):
        with event_lock("MS190814bv") as name:
            pass
        with event_lock("MS190814bv"):
            pass
    exchanges = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    limits = [m for m in exchanges if "/v2/concurrency_limits/" in m]
    assert any(f"/v2/concurrency_limits/{name}" in m and " 200 " in m for m in limits), limits
    assert not [m for m in limits if " 409 " in m], limits
