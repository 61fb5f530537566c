"""Notify the on-duty astronomers about an event, once per change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..events import event_fields, latest_localization
from ..models import Event, NotificationRecord

__all__ = ["notify_event"]


def notify_event(event_pk: int, reason: str, *, programs: list[str],
                 urgent: bool | None = None, flow_run_url: str | None, engine: Engine,
                 settings: Settings,
                 now: dt.datetime | None = None, environ=None) -> list[int]:
    """Send ``reason`` about an event to whoever is on duty, unless nothing changed.

    ``urgent=None`` takes the urgency from the programs' configuration. The
    last summary sent for the same event and reason is compared with the new
    one (:func:`tooflow.notify.should_notify`); a notice that changes nothing
    sends nothing, as the GROWTH marshal did.

    Returns
    -------
    list of int
        Ids of the stored :class:`~tooflow.models.NotificationRecord` rows (empty
        when nothing was sent).
    """
    from ..gate import load_programs
    from ..notify import EventSummary, NotifyConfig, load_roster, notify, should_notify

    now = now or dt.datetime.now(dt.UTC)
    if urgent is None:  # urgent when any of the programs is
        urgent = any(p.urgent for p in load_programs(settings.resolved_programs_file)
                     if p.name in programs)
    with Session(engine, expire_on_commit=False) as session:
        event = session.get(Event, event_pk)
        fields = event_fields(event, latest_localization(session, event_pk))
        summary = EventSummary.from_fields(fields, programs=programs, urgent=urgent,
                                           flow_run_url=flow_run_url)
        last = session.exec(select(NotificationRecord)
                            .where(NotificationRecord.event_pk == event_pk,
                                   NotificationRecord.reason == reason)
                            .order_by(NotificationRecord.id.desc())).first()
        previous = EventSummary.from_dict(last.summary) if last and last.summary else None
        if not should_notify(previous, summary):
            return []
        deliveries = notify(summary, reason, load_roster(settings.extra.get("roster")),
                            NotifyConfig.from_mapping(settings.extra.get("notifications")),
                            now=now, environ=environ)
        rows = [NotificationRecord(event_pk=event_pk, fingerprint=summary.fingerprint(),
                                   summary=summary.to_dict(), **d.record_fields())
                for d in deliveries]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]
