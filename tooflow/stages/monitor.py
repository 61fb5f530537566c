"""Poll the queues of an event: request states, executed observations, coverage."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..config import Settings
from ..facilities import FacilityError
from ..facilities.base import TERMINAL_STATUSES
from ..guards.text import redact
from ..models import ExecutedObservationRow, Plan, PlannedObservationRow, QueueRequestRow
from ..observations import base_request_key
from ..records.coverage import event_coverage
from ..records.transactions import store_transactions
from .submit import EXPIRED, NOT_SENT, UNSENT, latest_requests, update_request

__all__ = ["Progress", "Window", "poll_event", "monitor_budget", "plan_window"]


@dataclass
class Progress:
    """Where an event's observations stand after one poll."""

    open: int = 0
    completed: int = 0
    failed: int = 0
    """Requests that failed, were rejected or expired unsent, and were not re-requested."""
    rerequested: int = 0
    """Requests that failed at the telescope and that a later plan requested again
    (under a new key ``…:rN``, counted by its own state)."""
    cancelled: int = 0
    unsent: int = 0
    executed: int = 0
    new_executed: int = 0
    coverage: dict[str, float] = field(default_factory=dict)
    area: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """No request is waiting in a queue any more."""
        return self.open == 0


def poll_event(event_pk: int, *, engine: Engine, settings: Settings,
               facility_for=None) -> Progress:
    """Ask each queue about the event's open requests and store what was executed.

    A facility that does not answer is recorded in ``errors`` and the others
    are still polled.
    """
    if facility_for is None:
        from ..facilities.routing import facility_for
    progress = Progress()
    with Session(engine, expire_on_commit=False) as session:
        requests = session.exec(select(QueueRequestRow)
                                .where(QueueRequestRow.event_pk == event_pk)).all()
        by_tel = defaultdict(list)
        for q in requests:
            by_tel[q.telescope].append(q)
        # Exposures are asked for from the start of the earliest plan window (the
        # facility's clock, which for the simulator is its accelerated one).
        starts = session.exec(select(Plan.start).where(Plan.event_pk == event_pk)).all()
        since = min(starts) - dt.timedelta(hours=1) if starts else None
        unkeyed = _keys_by_field(session, event_pk)
        for tel, rows in by_tel.items():
            if all(q.status in NOT_SENT for q in rows):  # no queue holds any: nothing to ask
                continue
            keys = {q.request_key for q in rows}
            open_keys = [q.request_key for q in rows if q.status not in TERMINAL_STATUSES
                         and q.status not in NOT_SENT]
            try:
                facility = facility_for(tel, settings)
            except Exception as exc:  # noqa: BLE001 - recorded per telescope
                progress.errors[tel] = redact(f"{type(exc).__name__}: {exc}")
                continue
            with facility:
                try:
                    for state in facility.status(open_keys) if open_keys else []:
                        update_request(session, event_pk, state)
                    for obs in facility.executed(since) if since else []:
                        if obs.request_key is None:  # e.g. ZTF exposures read over TAP
                            obs = _match_by_field(obs, unkeyed)
                        if obs.request_key in keys:
                            progress.new_executed += _store_executed(session, event_pk, obs)
                except FacilityError as exc:
                    progress.errors[tel] = str(exc)
                finally:
                    store_transactions(session, facility, event_pk)
            session.commit()
        rows = session.exec(select(QueueRequestRow)
                            .where(QueueRequestRow.event_pk == event_pk)).all()
        latest = {id(q) for q in latest_requests(rows).values()}
        for q in rows:
            if q.status == "completed":
                progress.completed += 1
            elif q.status == "failed" and id(q) not in latest:  # a later request was sent
                progress.rerequested += 1
            elif q.status in ("failed", "rejected", EXPIRED):
                progress.failed += 1
            elif q.status == UNSENT:  # no queue holds it yet: resubmit_unsent retries it
                progress.unsent += 1
            elif q.status == "cancelled":
                progress.cancelled += 1
            else:
                progress.open += 1
        executed = session.exec(select(ExecutedObservationRow)
                                .where(ExecutedObservationRow.event_pk == event_pk)).all()
        progress.executed = len(executed)
        if executed:
            progress.coverage, progress.area = event_coverage(session, event_pk, executed, settings)
    return progress


def _keys_by_field(session: Session, event_pk: int) -> dict[tuple, list[str]]:
    """Keys of the event's planned exposures not yet executed, by (telescope, field, filter)."""
    rows = session.exec(select(PlannedObservationRow).join(Plan)
                        .where(Plan.event_pk == event_pk)
                        .order_by(PlannedObservationRow.visit)).all()
    done = {base_request_key(k) for k in session.exec(
        select(ExecutedObservationRow.request_key)
        .where(ExecutedObservationRow.event_pk == event_pk)).all() if k}
    out: dict[tuple, list[str]] = defaultdict(list)
    for r in rows:
        if r.field_id is not None and r.request_key not in done and \
                r.request_key not in out[(r.telescope, r.field_id, r.filter)]:
            out[(r.telescope, r.field_id, r.filter)].append(r.request_key)
    return out


def _match_by_field(obs, unkeyed: dict[tuple, list[str]]):
    """Give an exposure without a request key the first planned key of its field/filter.

    Facilities that publish exposures without our keys (ZTF at IRSA) are matched
    on (telescope, field, filter), visit by visit.
    """
    keys = unkeyed.get((obs.telescope, obs.field_id, obs.filter))
    if not keys:
        return obs
    return replace(obs, request_key=keys.pop(0))


def _store_executed(session: Session, event_pk: int, obs) -> int:
    row = ExecutedObservationRow(event_pk=event_pk, telescope=obs.telescope,
                                 field_id=obs.field_id, target=obs.target, ra=obs.ra,
                                 dec=obs.dec, filter=obs.filter,
                                 exposure_time=obs.exposure_time, obs_time=obs.obs_time,
                                 limiting_magnitude=obs.limiting_magnitude,
                                 request_key=obs.request_key)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # seen at an earlier poll
        return 0
    return 1


@dataclass(frozen=True)
class Window:
    """How long an event's latest plan window stays open, in wall-clock seconds."""

    seconds: float
    """Wall-clock seconds until it closes (0 when closed or nothing was submitted)."""
    speedup: float = 1.0
    """The fastest facility clock (an accelerated simulator's), relative to the wall clock."""


def plan_window(event_pk: int, *, engine: Engine, settings: Settings,
                now: dt.datetime | None = None, facility_for=None) -> Window:
    """Wall-clock time until the event's latest submitted plan window closes.

    A facility whose health report gives its own ``clock`` and ``speedup`` (the
    accelerated simulator) is timed by them; others by the wall clock.
    ``monitor.max_wall_seconds`` caps the result.
    """
    if facility_for is None:
        from ..facilities.routing import facility_for
    now = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        plans = session.exec(select(Plan).where(Plan.event_pk == event_pk,
                                                Plan.status == "submitted")).all()
    budget, fastest = 0.0, 1.0
    for tel in sorted({t for p in plans for t in p.telescopes}):
        end = max(p.end for p in plans if tel in p.telescopes)
        try:
            with facility_for(tel, settings) as facility:
                report = facility.health()
        except Exception:  # noqa: BLE001 - an unreachable queue: use the wall clock
            report = {}
        clock, speedup = report.get("clock"), float(report.get("speedup") or 1.0)
        t0 = dt.datetime.fromisoformat(clock.replace("Z", "+00:00")) if clock else now
        budget = max(budget, (end - t0).total_seconds() / speedup)
        fastest = max(fastest, speedup)
    cap = settings.monitor.max_wall_seconds
    budget = max(0.0, budget) + 5.0 if plans else 0.0
    return Window(min(budget, float(cap)) if cap is not None else budget, fastest)


def monitor_budget(event_pk: int, *, engine: Engine, settings: Settings,
                   now: dt.datetime | None = None, facility_for=None) -> float:
    """Wall-clock seconds the monitor may poll: until the latest plan window closes.

    :func:`plan_window`'s seconds.
    """
    return plan_window(event_pk, engine=engine, settings=settings, now=now,
                       facility_for=facility_for).seconds
