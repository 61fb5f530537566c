"""The one monitor of each event: opened at submission, polled, drafted once.

Whichever notice queued an event's requests, the event has one
:class:`~tooflow.models.EventMonitor` row. The run that submitted plans opens
it (:func:`open_monitor`); each poll of the queues is counted on it
(:func:`record_poll`), which says when the work is finished — no request
open in any queue, or the latest plan window closed; the caller that then
wins :func:`claim_draft` drafts the circulars, once per event and program.
Requests queued by a later notice open it again (a new generation), so a
claim made for the earlier work fails and the draft waits for the new work.

The functions are plain (no Prefect): the ``monitor-events`` scheduled flow
and the inline ``monitor-event`` sub-flow both call them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..models import Event, EventMonitor
from .monitor import plan_window

__all__ = ["MIN_POLL_SECONDS", "Verdict", "open_monitor",
           "record_poll", "claim_draft", "reopen_monitor", "watched_events", "poll_every",
           "load_monitor"]

#: Shortest wall-clock interval between two polls of an inline monitor (s).
MIN_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Verdict:
    """Where an event's monitor stands after a poll."""

    generation: int
    """The monitor's generation when it was polled (what a draft claims)."""
    finished: bool
    """No request open any more, or the window closed: time to draft."""
    reason: str
    """``open`` (still waiting), ``done`` or ``window closed``."""
    polls: int
    """Polls of this event so far."""
    programs: tuple[str, ...]
    """Programs whose circulars the draft is for."""


def poll_every(settings: Settings) -> float:
    """Seconds of the facility's clock between two polls of an event (``monitor.poll_every``).

    The period of the scheduled ``monitor-events`` deployment, and of an inline
    monitor (divided by the speed-up of an accelerated simulator).
    """
    return float(settings.monitor.poll_every)


def open_monitor(event_pk: int, programs: list[str], *, notice_id: int | None,
                 new_requests: bool, engine: Engine, settings: Settings,
                 now: dt.datetime | None = None, facility_for=None) -> EventMonitor:
    """Open (or extend) the event's monitor after a submission; return its row.

    Parameters
    ----------
    event_pk : int
        The event.
    programs : list of str
        Programs with submitted plans: their circulars are drafted when the
        work is finished (added to those already followed).
    notice_id : int, optional
        The notice whose run submitted (None: ``resubmit-unsent``).
    new_requests : bool
        A queue accepted requests it did not hold before. A monitor already
        drafted opens again only then (a re-run that queued nothing new does
        not make a second draft); one still watching moves to a new
        generation, so the draft waits for the new requests.
    engine, settings
        Database and settings.
    now : datetime, optional
        Wall-clock time (default: now).
    facility_for : callable, optional
        Adapter lookup, for tests (default: the configured facilities).

    Returns
    -------
    EventMonitor
        The row as stored (detached).
    """
    now = now or dt.datetime.now(dt.UTC)
    window = plan_window(event_pk, engine=engine, settings=settings, now=now,
                         facility_for=facility_for)
    closes = now + dt.timedelta(seconds=window.seconds)
    interval = max(MIN_POLL_SECONDS, poll_every(settings) / window.speedup)
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(select(EventMonitor).where(EventMonitor.event_pk == event_pk)
                           ).first()
        if row is None:
            row = EventMonitor(event_pk=event_pk, programs=sorted(set(programs)),
                               notice_id=notice_id, closes=closes, interval=interval,
                               opened=now)
        else:
            row.programs = sorted(set(row.programs or []) | set(programs))
            row.closes = max(row.closes, closes)
            row.interval = min(row.interval, interval)
            if notice_id is not None:
                row.notice_id = notice_id
            if new_requests:
                row.generation += 1
                if row.status != "watching":
                    row.status, row.opened = "watching", now
        session.add(row)
        session.commit()
        return row


def load_monitor(event_pk: int, *, engine: Engine) -> EventMonitor | None:
    """The event's monitor row, if it has one (detached)."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(EventMonitor).where(EventMonitor.event_pk == event_pk)
                            ).first()


def record_poll(event_pk: int, open_requests: int, *, engine: Engine,
                now: dt.datetime | None = None) -> Verdict:
    """Count a poll of the event's queues; say whether its monitor's work is finished.

    Parameters
    ----------
    event_pk : int
        The event.
    open_requests : int
        Requests a queue still holds unfinished after the poll
        (:attr:`tooflow.stages.monitor.Progress.open`).
    now : datetime, optional
        Wall-clock time (default: now).

    Raises
    ------
    LookupError
        If the event has no monitor (none was opened).
    """
    now = now or dt.datetime.now(dt.UTC)
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(select(EventMonitor).where(EventMonitor.event_pk == event_pk)
                           ).first()
        if row is None:
            raise LookupError(f"event #{event_pk} has no monitor")
        row.polls += 1
        row.last_poll = now
        session.add(row)
        session.commit()
    reason = "done" if open_requests == 0 else "window closed" if now >= row.closes else "open"
    return Verdict(generation=row.generation, finished=reason != "open", reason=reason,
                   polls=row.polls, programs=tuple(row.programs or ()))


def claim_draft(event_pk: int, generation: int, *, engine: Engine,
                now: dt.datetime | None = None) -> bool:
    """Mark the monitor drafted if it is still at ``generation``; True for the one caller that did.

    One atomic ``UPDATE``: of two monitors finishing together (an inline one
    and a scheduled tick), one drafts; a monitor that moved to a new
    generation (new requests queued since the poll) is not claimed.
    """
    now = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        result = session.exec(
            update(EventMonitor)
            .where(EventMonitor.event_pk == event_pk, EventMonitor.status == "watching",
                   EventMonitor.generation == generation)
            .values(status="done", drafted=now, drafted_generation=generation))
        session.commit()
        return result.rowcount == 1


def reopen_monitor(event_pk: int, generation: int, *, engine: Engine) -> None:
    """Undo :func:`claim_draft` after the draft failed: the next poll drafts again."""
    with Session(engine) as session:
        session.exec(update(EventMonitor)
                     .where(EventMonitor.event_pk == event_pk, EventMonitor.status == "done",
                            EventMonitor.drafted_generation == generation)
                     .values(status="watching", drafted=None, drafted_generation=generation - 1))
        session.commit()


def watched_events(*, engine: Engine) -> list[tuple[int, str]]:
    """``(event pk, event id)`` of every monitor still watching, oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(EventMonitor.event_pk, Event.event_id)
                            .join(Event, Event.id == EventMonitor.event_pk)
                            .where(EventMonitor.status == "watching")
                            .order_by(EventMonitor.opened)).all()
    return [(pk, event_id) for pk, event_id in rows]
