"""First light from the listener's warm process, before handle-notice is triggered.

Real notices through the listener's loop (store → acknowledge → trigger pool),
the simulator queue on loopback configured by URL (a queue the flow's process
reaches too): MS181101ab's first block and a Swift XRT single pointing are
queued before the trigger; the flow then reuses the plan and sends no key twice;
a notice of an event already planned, a failure and a reconciler re-trigger.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlmodel import Session, func, select

from tests.kafka_fixtures import run_source_until
from tooflow.config import load_settings
from tooflow.facilities import routing
from tooflow.intake.listeners.loop import Message
from tooflow.intake.trigger import FlowRunRef, mark_triggered
from tooflow.models import Event, Notice, NoticeStatus, Plan, QueueRequestRow
from tooflow.simulator.server import SimulatorServer
from tooflow.stages import warm_first_light as warm
from tooflow.stages.first_light import listener_plan
from tooflow.stages.warm_first_light import first_light_then_trigger, warm_first_light
from tooflow.views.summary import first_light_lines

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
UPDATE = DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro"

PROGRAMS = programs_yaml(
    kilonova_program(telescopes=("ZTF", "DECam")),
    afterglow_program({"ZTF": {"filters": ["g", "r"], "exposure_time": {"g": 60, "r": 60},
                               "min_gap": 1800},
                       "GROWTH-India": {"filters": ["r"]}, "KPED": {"filters": ["r"]}}))


@pytest.fixture
def simulator(tmp_path, monkeypatch):
    """The simulator on loopback at real speed from NIGHT, configured by URL."""
    with SimulatorServer(speedup=1.0, weather_loss=0.0, seed=1, start=NIGHT) as server:
        use_programs(tmp_path, monkeypatch, PROGRAMS,
                     f"facilities:\n  simulator:\n    url: {server.url}\n"
                     "monitor:\n  max_wall_seconds: 0\n")
        yield server


class ListSource:
    """A source delivering the given payloads once (the loop's own protocol)."""

    name = "test"

    def __init__(self, payloads: list[bytes], topic: str = "igwn.gwalert"):
        self.pending = [Message(p, topic, offset=i) for i, p in enumerate(payloads)]
        self.committed: list[int] = []

    def poll(self, timeout: float) -> list[Message]:
        out, self.pending = self.pending, []
        return out

    def commit(self, message: Message) -> None:
        self.committed.append(message.offset)

    def lag(self) -> dict:
        return {}

    def close(self) -> None:
        pass


class Trigger:
    """A stand-in for trigger_notice: records what was queued when it was called."""

    def __init__(self, engine, mark: bool = True):
        self.engine, self.mark = engine, mark
        self.calls: list[int] = []
        self.queued_at_trigger: dict[int, int] = {}
        self.counts: list[int] = []  # requests queued at each call, in order

    def __call__(self, notice_id: int) -> str:
        with Session(self.engine) as s:
            notice = s.get(Notice, notice_id)
            self.queued_at_trigger[notice_id] = s.exec(
                select(func.count()).select_from(QueueRequestRow)
                .where(QueueRequestRow.event_pk == notice.event_pk)).one() \
                if notice.event_pk else 0
            self.counts.append(self.queued_at_trigger[notice_id])
            assert notice.status in (NoticeStatus.received.value, NoticeStatus.rejected.value)
        self.calls.append(notice_id)
        if self.mark:
            mark_triggered(notice_id, FlowRunRef(f"fake-{notice_id}", f"notice-{notice_id}"),
                           engine=self.engine)
        return f"fake-{notice_id}"


class Sent:
    """``facility_for`` recording every request key handed to a queue's submit."""

    def __init__(self) -> None:
        self.keys: Counter = Counter()
        self.real = routing.facility_for

    def __call__(self, telescope, settings):
        facility = self.real(telescope, settings)
        submit = facility.submit

        def recorded(observations, **kw):
            self.keys.update((telescope, o.request_key) for o in observations)
            return submit(observations, **kw)

        facility.submit = recorded
        return facility


def _listen(engine, payloads, trigger, *, start=NIGHT, topic="igwn.gwalert", **kw):
    """The listener's loop with its trigger pool, first light in front of ``trigger``."""
    warmed = first_light_then_trigger(trigger, engine=engine, settings=load_settings(),
                                      start=start, **kw)
    source = ListSource(payloads, topic)
    run_source_until(source, engine, warmed,
                     lambda: len(trigger.calls) == len(payloads), trigger_workers=2)
    return source


def _notice(engine, notice_id) -> Notice:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(Notice, notice_id)


def test_listener_queues_the_first_block_before_triggering(sqlite_engine, simulator,
                                                           monkeypatch):
    sent = Sent()
    monkeypatch.setattr(routing, "facility_for", sent)
    trigger = Trigger(sqlite_engine)
    source = _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger)
    (notice_id,) = trigger.calls
    assert source.committed == [0]
    assert trigger.queued_at_trigger[notice_id] > 0  # queued before the flow was started
    notice = _notice(sqlite_engine, notice_id)
    record = notice.first_light
    assert record["by"] == "listener" and record["kinds"] == {"ZTF kilonova": "first block"}
    assert record["queued_after"] is not None and record["queued_after"] > 0
    assert notice.status == NoticeStatus.triggered.value  # received until triggered
    with Session(sqlite_engine) as s:
        plan = s.get(Plan, record["plans"]["ZTF kilonova"])
        queued = s.exec(select(QueueRequestRow)).all()
        lines = first_light_lines(s, plan.event_pk)
    assert plan.solver_status == "FIRST-BLOCK"
    assert len(queued) == sum(record["submitted"]["ZTF kilonova"].values())
    assert set(sent.keys.values()) == {1}
    assert lines[0].startswith(f"first light (ZTF kilonova): first block, plan #{plan.id}, "
                               "queued by the listener ")

    # the reconciler triggers a notice still received again: nothing is re-planned
    with Session(sqlite_engine) as s:
        row = s.get(Notice, notice_id)
        row.status, row.flow_run_id = NoticeStatus.received.value, None
        s.add(row)
        s.commit()
    again = warm_first_light(notice_id, engine=sqlite_engine, settings=load_settings(),
                             start=NIGHT)
    assert not again.plans and "queued its first light already" in again.skipped
    assert _notice(sqlite_engine, notice_id).first_light["plans"] == record["plans"]
    with Session(sqlite_engine) as s:
        assert s.exec(select(func.count()).select_from(Plan)).one() == 1

    # a later notice of an event already planned goes through the flow's own first light:
    # while the first notice is on its way, and once its flow has finished
    later = Trigger(sqlite_engine)
    _listen(sqlite_engine, [UPDATE.read_bytes()], later)
    (update_id,) = later.calls
    record = _notice(sqlite_engine, update_id).first_light
    assert not record.get("plans") and f"notice #{notice_id} of MS181101ab is on its way" \
        in record["skipped"]
    with Session(sqlite_engine) as s:
        first_row, update_row = s.get(Notice, notice_id), s.get(Notice, update_id)
        first_row.status = NoticeStatus.done.value
        update_row.status, update_row.flow_run_id = NoticeStatus.received.value, None
        update_row.first_light = None
        s.add_all([first_row, update_row])
        s.commit()
    done = warm_first_light(update_id, engine=sqlite_engine, settings=load_settings(),
                            start=NIGHT)
    assert not done.plans and "has plans already" in done.skipped
    with Session(sqlite_engine) as s:
        assert s.exec(select(func.count()).select_from(Plan)).one() == 1
    assert set(sent.keys.values()) == {1}


def test_single_pointing_from_the_listener(sqlite_engine, simulator):
    payload = XRT.read_bytes()
    trigger = Trigger(sqlite_engine)
    # the window opens when the notice arrives: at the event's time (its own start)
    from tooflow.parsers import parse_notice

    topic = "gcn.classic.json.SWIFT_XRT_POSITION"
    _listen(sqlite_engine, [payload], trigger, topic=topic,
            start=parse_notice(payload, source=f"test:{topic}").time)
    (notice_id,) = trigger.calls
    record = _notice(sqlite_engine, notice_id).first_light
    assert record["kinds"] == {"GRB afterglow": "single pointing"}
    assert trigger.queued_at_trigger[notice_id] == sum(
        record["submitted"]["GRB afterglow"].values()) > 0


def test_a_failure_still_triggers_and_is_reported(sqlite_engine, simulator, monkeypatch,
                                                  capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("the planner broke")

    monkeypatch.setattr(warm, "plan_first_light", broken)
    warnings: list[tuple[int, str]] = []
    trigger = Trigger(sqlite_engine, mark=False)
    _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger,
            on_warning=lambda n, why: warnings.append((n, why)))
    (notice_id,) = trigger.calls
    notice = _notice(sqlite_engine, notice_id)
    # the flow is triggered all the same; the notice stays received for the reconciler
    assert notice.status == NoticeStatus.received.value
    assert "RuntimeError: the planner broke" in notice.first_light["warning"]
    assert warnings and warnings[0][0] == notice_id
    with Session(sqlite_engine) as s:
        lines = first_light_lines(s, notice.event_pk)
        assert s.exec(select(func.count()).select_from(QueueRequestRow)).one() == 0
    assert any(f"first light of notice #{notice_id}: first light in the listener failed"
               in line for line in lines)
    # and `tooflow health` lists it where an operator looks
    import argparse

    from tooflow.cli.health import _health

    _health(argparse.Namespace(stale=60.0))
    out = capsys.readouterr().out
    assert "1 notice(s) in the last 24 h whose first light in the listener failed" in out
    assert f"#{notice_id}: first light in the listener failed: RuntimeError" in out


def test_in_process_simulator_is_left_to_the_flow(sqlite_engine, tmp_path, monkeypatch):
    use_programs(tmp_path, monkeypatch, PROGRAMS)  # no facilities.simulator.url
    trigger = Trigger(sqlite_engine)
    _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger)
    (notice_id,) = trigger.calls
    notice = _notice(sqlite_engine, notice_id)
    # not even parsed: the notice goes to its flow as before
    assert notice.first_light is None and notice.event_pk is None
    assert trigger.queued_at_trigger[notice_id] == 0
    with Session(sqlite_engine) as s:
        row = s.get(Notice, notice_id)
        row.status, row.flow_run_id = NoticeStatus.received.value, None
        s.add(row)
        s.commit()
    skipped = warm_first_light(notice_id, engine=sqlite_engine, settings=load_settings())
    assert "facilities.simulator.url" in skipped.skipped


def test_the_listeners_own_simulator_is_the_queue_its_runs_reach(sqlite_engine, tmp_path,
                                                                   monkeypatch):
    """No facilities.simulator.url (the embedded default): the simulator ``tooflow listen``
    serves for itself and its runs (×7200) takes first light — a single pointing queued
    here, found by a flow run's process, whose settings come from the runner's
    environment; a first block stored for the flow to submit with its optimal plan."""
    from tooflow.config import SIMULATOR_URL_ENV
    from tooflow.parsers import parse_notice
    from tooflow.simulator import local

    use_programs(tmp_path, monkeypatch, PROGRAMS, "monitor:\n  max_wall_seconds: 0\n")
    monkeypatch.delenv(SIMULATOR_URL_ENV, raising=False)
    monkeypatch.setattr(local, "_LOCAL", None)
    monkeypatch.setattr(local, "_SHARED", False)
    assert local.shared_simulator_env() == {}
    settings = local.serve_shared_simulator(load_settings())
    try:
        url = settings.facilities.simulator.url
        assert url and local.shared_simulator_env() == {SIMULATOR_URL_ENV: url}
        assert local.shared_simulator().simulator.speedup == 7200

        def listen(payload: bytes, topic: str, start) -> Notice:
            trigger = Trigger(sqlite_engine)
            warmed = first_light_then_trigger(trigger, engine=sqlite_engine,
                                              settings=settings, start=start)
            run_source_until(ListSource([payload], topic), sqlite_engine, warmed,
                             lambda: len(trigger.calls) == 1, trigger_workers=1)
            return _notice(sqlite_engine, trigger.calls[0])

        xrt = XRT.read_bytes()
        topic = "gcn.classic.json.SWIFT_XRT_POSITION"
        pointing = listen(xrt, topic, parse_notice(xrt, source=f"test:{topic}").time)
        record = pointing.first_light
        assert record["kinds"] == {"GRB afterglow": "single pointing"}, record
        sent = sum(record["submitted"]["GRB afterglow"].values())
        # what a flow run started by the runner reads: the file, then the runner's variable
        run = load_settings({**os.environ, **local.shared_simulator_env()})
        assert run.facilities.simulator.url == url
        with Session(sqlite_engine) as s:
            rows = s.exec(select(QueueRequestRow)).all()
        assert len(rows) == sent > 0
        for tel in {r.telescope for r in rows}:
            with routing.facility_for(tel, run) as facility:
                states = facility.status([r.request_key for r in rows if r.telescope == tel])
            # known to it (planned for the event's own time: over by its clock)
            assert states and all(st.status != "unknown" for st in states), states

        gw = listen(PRELIMINARY.read_bytes(), "igwn.gwalert", NIGHT)
        block = gw.first_light
        assert block["kinds"] == {"ZTF kilonova": "first block"}, block
        assert not sum(block["submitted"].get("ZTF kilonova", {}).values())
        assert "the flow submits it with its optimal plan" in block["skipped"], block
        block_id = block["plans"]["ZTF kilonova"]
        # the flow reuses the plan and, as nothing was queued, queues it itself
        reused = listener_plan(gw.id, "ZTF kilonova", engine=sqlite_engine)
        assert reused.plan_id == block_id and reused.queued_after is None
        with Session(sqlite_engine) as s:
            assert len(s.exec(select(QueueRequestRow)).all()) == sent
            lines = first_light_lines(s, s.get(Plan, block_id).event_pk)
        assert "nothing queued" in lines[0], lines
    finally:
        local.stop_local_simulator()


def test_the_flow_reuses_the_listeners_first_block(prefect, sqlite_engine, simulator,
                                                   monkeypatch):
    """handle-notice after the listener: no re-planning of the first block, no key twice."""
    from tooflow.flows.handle_notice import handle_notice

    sent = Sent()
    monkeypatch.setattr(routing, "facility_for", sent)
    trigger = Trigger(sqlite_engine)
    _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger)
    (notice_id,) = trigger.calls
    listener_plan = _notice(sqlite_engine, notice_id).first_light["plans"]["ZTF kilonova"]
    summary = handle_notice(notice_id, plan_start=NIGHT)
    first = summary.submitted["ZTF kilonova"]["first_light"]
    assert first["plan_id"] == listener_plan and first["by"] == "listener"
    assert sum(first["submitted"].values()) == 0  # the flow sent none of it again
    with Session(sqlite_engine) as s:
        fast = s.exec(select(Plan).where(Plan.solver_status == "FIRST-BLOCK")).all()
        keys = [(q.telescope, q.request_key) for q in s.exec(select(QueueRequestRow))]
        event_pk = s.exec(select(Event.id)).one()
        lines = first_light_lines(s, event_pk)
    assert [p.id for p in fast] == [listener_plan]
    assert len(keys) == len(set(keys)) and set(sent.keys.values()) == {1}
    assert "queued by the listener" in lines[0]
    assert lines[1].startswith(f"  then the optimal plan #{summary.plans['ZTF kilonova']} "
                               "replaced it: ")


def test_the_flow_queues_a_first_block_the_listener_stored(prefect, sqlite_engine, simulator,
                                                            monkeypatch):
    """A first block the listener planned but left to the flow (its own accelerated
    simulator): the flow reuses it, queues it itself, each key once."""
    from tooflow.flows.handle_notice import handle_notice

    monkeypatch.setattr(warm, "_held_for_the_flow",
                        lambda kind, telescopes, settings: "held for this test")
    sent = Sent()
    monkeypatch.setattr(routing, "facility_for", sent)
    trigger = Trigger(sqlite_engine)
    _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger)
    (notice_id,) = trigger.calls
    assert trigger.queued_at_trigger[notice_id] == 0
    stored = _notice(sqlite_engine, notice_id).first_light["plans"]["ZTF kilonova"]
    summary = handle_notice(notice_id, plan_start=NIGHT)
    first = summary.submitted["ZTF kilonova"]["first_light"]
    assert first["plan_id"] == stored and first["by"] == "listener"
    assert sum(first["submitted"].values()) > 0  # queued by this run
    with Session(sqlite_engine) as s:
        fast = s.exec(select(Plan).where(Plan.solver_status == "FIRST-BLOCK")).all()
        keys = [(q.telescope, q.request_key) for q in s.exec(select(QueueRequestRow))]
        lines = first_light_lines(s, s.exec(select(Event.id)).one())
    assert [p.id for p in fast] == [stored]  # not planned again
    assert len(keys) == len(set(keys)) and set(sent.keys.values()) == {1}
    assert ", queued " in lines[0] and "by the listener" not in lines[0], lines


def test_listen_wires_first_light_in_front_of_its_trigger(sqlite_engine, simulator):
    """``tooflow listen``'s wiring: the path warmed up in a background thread, the wrapper."""
    import threading

    from tooflow.intake.service import warm_first_light as wire
    from tooflow.intake.store import store_notice
    from tooflow.telescopes import ephemeris

    ephemeris.clear_cache()
    trigger = Trigger(sqlite_engine)
    wrapped = wire(trigger, load_settings(), sqlite_engine, 30.0)
    warming = next(t for t in threading.enumerate() if t.name == "first-light-warm-up")
    warming.join()
    assert ephemeris._cache  # today's Sun and Moon, before any notice
    stored = store_notice(PRELIMINARY.read_bytes(), "igwn:igwn.gwalert", engine=sqlite_engine)
    wrapped(stored.notice_id)
    assert trigger.calls == [stored.notice_id]
    # the default window starts now: whether ZTF/DECam see MS181101ab in the next 30 min
    # depends on the hour, so only what was decided is checked
    record = _notice(sqlite_engine, stored.notice_id).first_light
    assert record["by"] == "listener" and (record["plans"] or record["skipped"])


def test_a_second_trigger_waits_for_the_first_light_under_way(sqlite_engine, simulator,
                                                              monkeypatch):
    """The reconciler's pass while the listener plans the same notice: the flow waits."""
    import threading

    from tooflow.intake.store import store_notice

    planning, release = threading.Event(), threading.Event()
    real = warm.plan_first_light

    def slow(*args, **kwargs):
        planning.set()
        release.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(warm, "plan_first_light", slow)
    trigger = Trigger(sqlite_engine, mark=False)
    wrapped = first_light_then_trigger(trigger, engine=sqlite_engine,
                                       settings=load_settings(), start=NIGHT)
    stored = store_notice(PRELIMINARY.read_bytes(), "igwn:igwn.gwalert", engine=sqlite_engine)
    first = threading.Thread(target=wrapped, args=(stored.notice_id,))
    first.start()
    planning.wait()
    second = threading.Thread(target=wrapped, args=(stored.notice_id,))  # the reconciler
    second.start()
    second.join(0.5)  # time for it to trigger, were it not waiting
    release.set()
    first.join()
    second.join()
    # both triggered (the same flow run, by the idempotency key), each after the first block
    # was queued: the second did not trigger while the first was planning
    assert trigger.calls == [stored.notice_id, stored.notice_id]
    assert len(trigger.counts) == 2 and min(trigger.counts) > 0


def test_a_queue_refusing_the_listeners_first_block_is_said(sqlite_engine, simulator,
                                                             monkeypatch, capsys, caplog):
    """The requests stay unsent for the flow, and `tooflow show`/`health` name the queue."""
    from tooflow.facilities.base import FacilityError

    real = routing.facility_for

    def refusing(telescope, settings):
        facility = real(telescope, settings)

        def refuse(observations, **kw):
            raise FacilityError(f"{telescope} queue answered 503 Service Unavailable")

        facility.submit = refuse
        return facility

    monkeypatch.setattr(routing, "facility_for", refusing)
    trigger = Trigger(sqlite_engine)
    _listen(sqlite_engine, [PRELIMINARY.read_bytes()], trigger)
    (notice_id,) = trigger.calls
    notice = _notice(sqlite_engine, notice_id)
    assert "503" in notice.first_light["errors"]["ZTF kilonova"]
    said = [r for r in caplog.records if r.name == "tooflow.listen.first_light"]
    assert said and said[-1].levelname == "WARNING"
    assert "first light planned, nothing queued here" in said[-1].getMessage()
    assert "0 request(s) queued, refused: DECam: DECam queue answered 503" \
        in said[-1].getMessage()
    with Session(sqlite_engine) as s:
        statuses = set(s.exec(select(QueueRequestRow.status)).all())
        lines = first_light_lines(s, notice.event_pk)
    assert statuses == {"unsent"}  # kept for the flow's submission, none lost
    assert any(line.startswith(f"first light of notice #{notice_id}: queue(s) refused the "
                               "listener's first light: ZTF kilonova: ")
               and "ZTF: ZTF queue answered 503" in line for line in lines), "\n".join(lines)
    import argparse

    from tooflow.cli.health import _health

    _health(argparse.Namespace(stale=60.0))
    out = capsys.readouterr().out
    assert f"#{notice_id}: queue(s) refused the listener's first light" in out
