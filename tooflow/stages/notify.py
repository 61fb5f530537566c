"""Notify the on-duty astronomers about an event, once per change."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..models import Event, NotificationRecord
from ..records.event import event_fields, latest_localization

__all__ = ["notify_event"]


def notify_event(event_pk: int, reason: str, *, programs: list[str],
                 urgent: bool | None = None, flow_run_url: str | None, engine: Engine,
                 settings: Settings,
                 now: dt.datetime | None = None, environ=None,
                 detail: str = "") -> list[int]:
    """Send ``reason`` about an event to whoever is on duty, unless nothing changed.

    ``urgent=None`` takes the urgency from the programs' configuration. The
    last summary sent for the same event and reason is compared with the new
    one (:func:`tooflow.notify.should_notify`); a notice that changes nothing
    sends nothing, as the GROWTH marshal did. A mock or test event reaches no
    phone (no SMS, no call) unless one of ``programs`` says ``mock_phone: true``.
    ``detail`` is one more sentence (e.g. why nothing can be observed, and when
    it next can).

    Returns
    -------
    list of int
        Ids of the stored :class:`~tooflow.models.NotificationRecord` rows (empty
        when nothing was sent).
    """
    from ..notify import EventSummary, notify, should_notify
    from ..programs import load_programs

    now = now or dt.datetime.now(dt.UTC)
    mine = [p for p in load_programs(settings.resolved_programs_file) if p.name in programs]
    if urgent is None:  # urgent when any of the programs is
        urgent = any(p.urgent for p in mine)
    with Session(engine, expire_on_commit=False) as session:
        event = session.get(Event, event_pk)
        roster = settings.roster
        if event.is_mock and not any(p.mock_phone for p in mine):
            # a mock/test event reaches a phone only where a program opts in (mock_phone)
            urgent = False
            roster = [replace(person, channels=replace(person.channels, phone=None))
                      for person in roster]
        fields = event_fields(event, latest_localization(session, event_pk))
        summary = EventSummary.from_fields(fields, programs=programs, urgent=urgent,
                                           flow_run_url=flow_run_url, detail=detail)
        last = session.exec(select(NotificationRecord)
                            .where(NotificationRecord.event_pk == event_pk,
                                   NotificationRecord.reason == reason)
                            .order_by(NotificationRecord.id.desc())).first()
        previous = EventSummary.from_dict(last.summary) if last and last.summary else None
        if not should_notify(previous, summary):
            return []
        deliveries = notify(summary, reason, roster,
                            settings.notifications,
                            now=now, environ=environ)
        rows = [NotificationRecord(event_pk=event_pk, fingerprint=summary.fingerprint(),
                                   summary=summary.to_dict(), **d.record_fields())
                for d in deliveries]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]
