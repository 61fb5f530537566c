"""First light from the listener's warm process, before the flow is triggered.

Every ``handle-notice`` flow run of a served deployment is a new Python process
(and ``tooflow ingest`` is one): it pays 5–6 s of CPU for its imports and caches
before its first request is queued. The listener (``tooflow listen``) is a
long-lived process that has paid them already, so right after storing and
acknowledging a notice — on the trigger pool's threads, never holding storing
back — it runs first light itself (:func:`warm_first_light`): parse, gate, and
for each triggered program that needs no approval the fast plan (single
pointing or first block, :func:`~tooflow.stages.first_light.plan_first_light`)
submitted at once (:func:`~tooflow.stages.submit.submit_plan`). Then it
triggers the flow as always; the flow finds the fast plan stored for
(notice, program), does not plan it again, and its submission of it sends
nothing twice (the request keys are queued already).

The rule: the listener does it only when it cannot interfere with a flow.

* The notice has no plan yet and the listener has not done it before (the
  reconciler triggers a notice still ``received`` again: nothing is re-planned;
  one that comes while the listener is on it waits for it, then triggers).
* It is not rejected, superseded or a retraction (the flow handles those).
* Its event has no plan yet and no other notice of the event is on its way
  (received, triggered, parsed or gated): a later notice of a known event goes
  through the flow's own first light, under the flow's per-event lock. Two
  notices of a new event arriving together: an in-process lock per event lets
  one through; the other sees the first one on its way and leaves it to its flow.
* Every telescope of the program goes to a queue other processes reach: a real
  queue, or the simulator at ``facilities.simulator.url`` — on the embedded
  default the one ``tooflow listen`` serves for itself and hands to every flow
  run of its runner (:func:`tooflow.intake.service.share_simulator`). A
  simulator served only inside this process (no URL the runs know) would know
  requests the flow's process never sees: then it is left to the flow.
* Before planning and before submitting, the deadline is checked: past it
  nothing more is sent (the flow does it).
* A first block for that listener's own simulator, when its clock is
  accelerated (×7200 by default), is planned and stored but left to the flow to
  submit with its optimal plan (:func:`_held_for_the_flow`): queued here, it
  would restart the simulator's clock tens of seconds of wall time — days of
  simulated time — before the optimal plan arrives, whose window would be over.
  A single pointing is final (no optimal plan follows): it is queued here.

The notice keeps status ``received`` until its flow run exists (the reconciler's
rule); what was done is recorded on ``notice.first_light`` (shown by
``tooflow show`` with the first-light lines).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..guards.deadline import Deadline, DeadlineExceeded, call_with_deadline
from ..models import Event, Notice, NoticeStatus, Plan
from .first_light import plan_first_light
from .gate import gate_notice
from .parse import parse_stored_notice
from .submit import submit_plan

__all__ = ["WarmFirstLight", "first_light_then_trigger", "warm_first_light", "warm_up"]

log = logging.getLogger("tooflow.listen.first_light")

#: Statuses of a notice still on its way through its flow (or about to be triggered).
ON_ITS_WAY = (NoticeStatus.received.value, NoticeStatus.triggered.value,
              NoticeStatus.parsed.value, NoticeStatus.gated.value)

_guard = threading.Lock()
_event_locks: dict[str, threading.Lock] = {}
_running: dict[int, threading.Event] = {}  # notices in hand: set when done


@dataclass
class WarmFirstLight:
    """What the listener's first light did for one notice.

    Attributes
    ----------
    notice_id : int
    event_id : str or None
    plans : dict of str to int
        Per program, the fast plan stored and submitted.
    kinds : dict of str to str
        Per program, ``single pointing`` or ``first block``.
    submitted : dict of str to dict
        Per program, requests sent per telescope.
    errors : dict of str to str
        Per program, why a queue did not take its requests (kept ``unsent``;
        the flow's submission sends them again).
    skipped : str or None
        Why nothing (more) was done here; the flow's own first light does it.
    queued_after : float or None
        Seconds from the notice's arrival to its first request queued.
    seconds : dict of str to float
        Wall time of each step (parse, gate, plan, submit) and ``total``.
    """

    notice_id: int
    event_id: str | None = None
    plans: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    submitted: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None
    queued_after: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def sentence(self) -> str:
        """One log line."""
        if not self.plans:
            return f"notice #{self.notice_id}: first light left to the flow: {self.skipped}"
        per = "; ".join(f"{p}: {self.kinds[p]} plan #{i}, "
                        f"{sum(self.submitted.get(p, {}).values())} request(s) queued"
                        + (f", refused: {self.errors[p]}" if p in self.errors else "")
                        for p, i in self.plans.items())
        verb = "queued" if self.queued_after is not None else "planned, nothing queued here"
        after = (f", first request {self.queued_after:.2f} s after arrival"
                 if self.queued_after is not None else "")
        more = f" ({self.skipped})" if self.skipped else ""
        return f"notice #{self.notice_id} ({self.event_id}): first light {verb}{after}: {per}{more}"


def _event_lock(event_id: str) -> threading.Lock:
    with _guard:
        return _event_locks.setdefault(event_id, threading.Lock())


def _simulated_here(telescopes: list[str], settings: Settings) -> list[str]:
    """Telescopes whose requests would go to a simulator only this process knows.

    None when ``facilities.simulator.url`` is set: a simulator as a service, or
    the one ``tooflow listen`` serves and hands to its flow runs
    (``TOOFLOW_SIMULATOR_URL``; its settings carry that URL).
    """
    from ..facilities.routing import is_real_queue

    if settings.facilities.simulator.url:
        return []
    return [t for t in telescopes if not is_real_queue(t, settings)]


def _held_for_the_flow(kind: str, telescopes: list[str], settings: Settings) -> str | None:
    """Why a fast plan of ``kind`` is stored but left to the flow to submit (None: submit it).

    A first block whose telescopes go to the listener's own simulator (served by
    ``tooflow listen`` for itself and its runs) with an accelerated clock: the
    optimal plan follows from the flow's new process tens of seconds later
    (measured 30 s, load 5), hours to days of simulated time, while the first
    block's submission would have restarted that clock; submitted together by the
    flow, the two are seconds apart as with ``tooflow ingest``.
    """
    from ..facilities.routing import is_real_queue
    from ..simulator.local import shared_simulator

    shared = shared_simulator()
    if (kind != "first block" or shared is None or shared.simulator.speedup <= 1.0
            or settings.facilities.simulator.url != shared.url):
        return None
    simulated = [t for t in telescopes if not is_real_queue(t, settings)]
    if not simulated:
        return None
    return (f"{', '.join(simulated)} go to the listener's own simulator, whose clock runs "
            f"×{shared.simulator.speedup:g}: the flow submits it with its optimal plan")


def _no_program(settings: Settings) -> str | None:
    """Why no configured program can have its first light here (None: some can)."""
    from ..programs import load_programs

    programs = load_programs(settings.resolved_programs_file)
    if any(p.approval != "required" and not _simulated_here(list(p.telescopes), settings)
           for p in programs):
        return None
    return ("no program without approval whose telescopes all go to queues other "
            "processes reach (a real queue, or the simulator at facilities.simulator.url, "
            "which tooflow listen sets to its own on the embedded default)")


def _why_not(session: Session, notice_id: int, event_pk: int) -> str | None:
    """Why the listener must leave this event to the flows (None: it may go ahead)."""
    event = session.get(Event, event_pk)
    if event.latest_notice_id not in (None, notice_id):
        return f"notice #{event.latest_notice_id} of {event.event_id} is later"
    other = session.exec(select(Notice.id, Notice.status).where(
        Notice.event_pk == event_pk, Notice.id != notice_id,
        Notice.status.in_(ON_ITS_WAY))).first()
    if other is not None:
        return (f"notice #{other[0]} of {event.event_id} is on its way ({other[1]}): "
                "the flows take the event in turn")
    planned = session.exec(select(Plan.id).where(Plan.event_pk == event_pk)).first()
    if planned is not None:
        return f"{event.event_id} has plans already (#{planned}): the flow re-plans it"
    return None


def _already(session: Session, notice: Notice) -> str | None:
    """Why this notice needs nothing more from the listener (done before, or its flow runs)."""
    if notice.status != NoticeStatus.received.value or notice.flow_run_id:
        return f"its flow has started (status {notice.status})"
    if (notice.first_light or {}).get("plans"):
        return "the listener queued its first light already"
    planned = session.exec(select(Plan.id).where(Plan.notice_id == notice.id)).first()
    if planned is not None:
        return f"it has a plan already (#{planned})"
    return None


def _record(engine: Engine, notice_id: int, done: WarmFirstLight | None,
            warning: str | None = None) -> None:
    """Keep the notice ``received`` until its flow exists; record what was done on it."""
    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            return
        if notice.flow_run_id is None and notice.status in (NoticeStatus.parsed.value,
                                                             NoticeStatus.gated.value):
            notice.status = NoticeStatus.received.value
        record = dict(notice.first_light or {})
        if done is not None:
            record.update({k: v for k, v in asdict(done).items()
                           if k in ("plans", "kinds", "submitted", "skipped", "queued_after",
                                    "errors")})
            record["seconds"] = done.seconds.get("total")
        if warning is not None:
            record["warning"] = warning
        if record:
            record["by"] = "listener"
            notice.first_light = record
        session.add(notice)
        session.commit()


def warm_first_light(notice_id: int, *, engine: Engine, settings: Settings,
                     start: dt.datetime | None = None,
                     deadline: Deadline | None = None) -> WarmFirstLight:
    """Parse, gate, plan and queue first light of a stored notice, without Prefect.

    Parameters
    ----------
    notice_id : int
        A stored notice, still ``received`` (not triggered yet).
    engine, settings
        The listener's database engine and settings.
    start : datetime, optional
        Start of the planning window (default: now, or the event time if later),
        as the flow's ``plan_start``.
    deadline : Deadline, optional
        Checked before planning and before submitting: past it nothing more is
        sent (the flow does it).

    Returns
    -------
    WarmFirstLight
        What was done, with ``skipped`` saying why not (more). The notice's
        ``first_light`` column records it; its status is ``received`` again
        (unless parsing rejected or superseded it).

    Raises
    ------
    Exception
        Whatever a stage raised (the caller logs it and triggers the flow,
        whose own first light then runs); the notice is left ``received``.
    """
    t0 = time.perf_counter()
    out = WarmFirstLight(notice_id)
    with _guard:
        busy = _running.get(notice_id)
        if busy is None:
            done = _running[notice_id] = threading.Event()
    if busy is not None:  # e.g. the reconciler meanwhile: let it finish, then trigger
        busy.wait(deadline.remaining() if deadline is not None else None)
        out.skipped = "the listener was on it already"
        return out
    try:
        if not settings.planning.first_light:
            out.skipped = "planning.first_light is off"
            return out
        out.skipped = _no_program(settings)
        if out.skipped:  # nothing to parse for (a simulator only this process knows)
            return out
        with Session(engine) as session:
            notice = session.get(Notice, notice_id)
            if notice is None:
                raise LookupError(f"no notice with id {notice_id}")
            out.skipped = _already(session, notice)
        if out.skipped:
            return out
        try:
            _steps(out, notice_id, engine, settings, start, deadline)
        except BaseException:
            _restore_quietly(engine, notice_id)
            raise
        out.seconds["total"] = round(time.perf_counter() - t0, 3)
        _record(engine, notice_id, out)
        return out
    finally:
        with _guard:
            _running.pop(notice_id, None)
        done.set()


def _restore_quietly(engine: Engine, notice_id: int) -> None:
    """Keep the notice ``received`` on the way out of a failure (the caller reports it)."""
    try:
        _record(engine, notice_id, None)
    except Exception as exc:  # noqa: BLE001 - the failure itself is what the caller reports
        log.warning("notice #%s: could not restore its status: %s", notice_id, exc)


def _steps(out: WarmFirstLight, notice_id: int, engine: Engine, settings: Settings,
           start: dt.datetime | None, deadline: Deadline | None) -> None:
    from ..programs import load_programs
    from ..records.first_light import first_light_records

    t = time.perf_counter()
    parsed = parse_stored_notice(notice_id, engine=engine, settings=settings)
    out.seconds["parse"] = round(time.perf_counter() - t, 3)
    out.event_id = parsed.event_id
    if parsed.rejected:
        out.skipped = ("superseded: " if parsed.superseded else "rejected: ") + str(parsed.reason)
        return
    if parsed.summary.get("is_retraction"):
        out.skipped = "a retraction: the flow cancels what the event queued"
        return
    with _event_lock(parsed.event_id):
        with Session(engine) as session:
            out.skipped = _why_not(session, notice_id, parsed.event_pk)
        if out.skipped:
            return
        t = time.perf_counter()
        decisions = gate_notice(notice_id, engine=engine, settings=settings)
        out.seconds["gate"] = round(time.perf_counter() - t, 3)
        programs = {p.name: p for p in load_programs(settings.resolved_programs_file)}
        left: list[str] = []
        for d in decisions:
            program = programs.get(d.program)
            if not d.triggered or program is None:
                continue
            if program.approval == "required":
                left.append(f"{d.program}: approval required")
                continue
            here = _simulated_here(list(program.telescopes), settings)
            if here:
                left.append(f"{d.program}: {', '.join(here)} would be observed by a "
                            "simulator only the listener knows (no facilities.simulator.url)")
                continue
            if deadline is not None and deadline.expired():
                left.append(f"{d.program}: the deadline passed before planning")
                continue
            t = time.perf_counter()
            first = plan_first_light(notice_id, d.program, engine=engine, settings=settings,
                                     start=start)
            out.seconds["plan"] = round(out.seconds.get("plan", 0.0)
                                        + time.perf_counter() - t, 3)
            if first.plan_id is None:
                left.append(f"{d.program}: nothing to queue early")
                continue
            out.plans[d.program], out.kinds[d.program] = first.plan_id, first.kind
            out.submitted[d.program] = {}  # nothing sent yet (the flow sends what is not)
            held = _held_for_the_flow(first.kind, list(program.telescopes), settings)
            if held:
                left.append(f"{d.program}: {first.kind} plan #{first.plan_id} stored, not "
                            f"queued here: {held}")
                continue
            if deadline is not None and deadline.expired():
                left.append(f"{d.program}: the deadline passed before submitting "
                            f"(plan #{first.plan_id} stored; the flow submits it)")
                continue
            t = time.perf_counter()
            result = submit_plan(first.plan_id, engine=engine, settings=settings)
            out.seconds["submit"] = round(out.seconds.get("submit", 0.0)
                                          + time.perf_counter() - t, 3)
            out.submitted[d.program] = dict(result.submitted)
            if result.errors:
                out.errors[d.program] = "; ".join(f"{tel}: {e}"
                                                  for tel, e in result.errors.items())
        if not any(d.triggered for d in decisions):
            left.append("no program triggered")
        out.skipped = "; ".join(left) or None
    if out.plans:
        with Session(engine) as session:
            times = [r.after_arrival for r in first_light_records(
                session, parsed.event_pk, set(out.plans.values()))
                if r.after_arrival is not None]
        out.queued_after = round(min(times), 3) if times else None


def first_light_then_trigger(trigger: Callable[[int], Any], *, engine: Engine,
                             settings: Settings, deadline: float = 30.0,
                             start: dt.datetime | None = None,
                             on_warning: Callable[[int, str], None] | None = None
                             ) -> Callable[[int], Any]:
    """``trigger`` preceded by the listener's first light (:func:`warm_first_light`).

    The returned ``trigger(notice_id)`` runs first light within ``deadline``
    seconds in total, then calls ``trigger(notice_id)`` whatever first light did:
    a failure or the deadline is logged as a warning with the reason, recorded on
    the notice (``first_light.warning``) and handed to ``on_warning(notice_id,
    reason)`` (the listener's status), and the flow's own first light then runs.
    """

    def warm_then_trigger(notice_id: int) -> Any:
        limit = Deadline(deadline, f"first light of notice #{notice_id}")
        try:
            done = call_with_deadline(
                lambda: warm_first_light(notice_id, engine=engine, settings=settings,
                                         start=start, deadline=limit),
                deadline, f"first light of notice #{notice_id}")
        except Exception as exc:  # noqa: BLE001 - the flow's own first light runs
            why = (str(exc) if isinstance(exc, DeadlineExceeded)
                   else f"{type(exc).__name__}: {exc}")
            reason = f"first light in the listener failed: {why}; the flow plans it"
            log.warning("notice #%s: %s", notice_id, reason)
            try:
                _record(engine, notice_id, None, warning=reason[:500])
            except Exception as rec:  # noqa: BLE001 - the log line says it
                log.warning("notice #%s: could not record it: %s", notice_id, rec)
            if on_warning is not None:
                on_warning(notice_id, reason)
        else:  # a queue that refused the listener's requests is a warning (they stay unsent)
            (log.warning if done.errors else log.info)("%s", done.sentence())
        return trigger(notice_id)

    return warm_then_trigger


def warm_up(settings: Settings) -> float:
    """Import the first-light path and fill its caches, so the first notice does not pay.

    Imports the parsers, sky-map readers, planner and facility clients, loads
    the telescope catalogue with its field grids and today's Sun/Moon
    ephemeris. Meant for a background thread of the listener. Returns the
    seconds it took.
    """
    t0 = time.perf_counter()
    import tooflow.facilities  # noqa: F401 - the queue clients
    import tooflow.parsers  # noqa: F401 - the notice formats
    import tooflow.planning.first_light  # noqa: F401 - greedy first block
    import tooflow.skymap  # noqa: F401 - multi-order maps

    from ..programs import load_programs

    try:
        import ligo.skymap.io  # noqa: F401 - the FITS reader parsing uses
    except ImportError:
        pass
    from ..telescopes.catalogue import find_telescope
    from ..telescopes.ephemeris import sun_moon

    now = time.time()
    for program in load_programs(settings.resolved_programs_file):
        for name in program.telescopes:
            tel = find_telescope(name)
            if tel is None:
                continue
            if tel.has_grid:
                tel.fields  # noqa: B018 - the field grid, read once per process
            sun_moon(tel.longitude, tel.latitude, tel.elevation, [now, now + 2 * 86400])
    return time.perf_counter() - t0
