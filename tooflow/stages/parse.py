"""Parse a stored notice and record what it says: the event and its localization.

These are the plain functions behind the ``parse`` task of the ``handle-notice``
flow (the gate's are in :mod:`.gate`). They read the notice by id, work, store, and return ids
and small summaries; they are tested without Prefect.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..db import get_engine
from ..errors import NoticeRejected, SkymapUnavailable
from ..models import Event, Localization, Notice, NoticeStatus, Plan
from ..models._types import utcnow
from ..notice import ParsedNotice
from ..notice.order import is_older
from ..parsers import parse_notice
from ..parsers.validate import check_parsed
from ..records.event import event_fields

__all__ = ["ParseOutcome", "parse_stored_notice", "supersede_if_newer"]

log = logging.getLogger(__name__)


@dataclass
class ParseOutcome:
    """What parsing a stored notice gave."""

    notice_id: int
    rejected: bool
    reason: str | None = None
    event_pk: int | None = None
    event_id: str | None = None
    notice_type: str | None = None
    localization_id: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: Not applied: a later notice of the event already was (``reason`` says which).
    superseded: bool = False


def _reject(session: Session, notice: Notice, reason: str) -> ParseOutcome:
    notice.status = NoticeStatus.rejected.value
    notice.rejection_reason = reason
    session.add(notice)
    session.commit()
    log.warning("notice %s rejected: %s", notice.id, reason)
    return ParseOutcome(notice.id, True, reason)


def _newer_notice(session: Session, notice: Notice, parsed: ParsedNotice) -> Notice | None:
    """The notice its event already reads, if it is later than ``notice`` (by content)."""
    event = session.exec(select(Event).where(Event.event_id == parsed.event_id)).first()
    if event is None or event.latest_notice_id in (None, notice.id):
        return None
    latest = session.get(Notice, event.latest_notice_id)
    if latest is None or not is_older(parsed.notice_type, parsed.issued,
                                      latest.notice_type, latest.issued):
        return None
    return latest


def _supersede(session: Session, notice: Notice, event_pk: int | None,
               newer: Notice) -> ParseOutcome:
    notice.status = NoticeStatus.superseded.value
    notice.rejection_reason = (
        f"superseded by notice #{newer.id} ({newer.notice_type or '?'}, issued "
        f"{newer.issued.isoformat() if newer.issued else '?'}), a later notice of the event "
        "already applied: nothing planned for this one")
    notice.event_pk = event_pk
    session.add(notice)
    session.commit()
    log.warning("notice %s %s", notice.id, notice.rejection_reason)
    return ParseOutcome(notice.id, True, notice.rejection_reason, event_pk=event_pk,
                        notice_type=notice.notice_type, superseded=True)


def supersede_if_newer(notice_id: int, *, engine: Engine | None = None) -> int | None:
    """Mark ``notice_id`` superseded if its event now reads a later notice; return that one.

    The ``handle-notice`` flow asks once it holds the event: a later notice
    parsed meanwhile has its own flow, which does the follow-up with
    everything known.
    """
    with Session(engine or get_engine()) as session:
        notice = session.get(Notice, notice_id)
        event = session.get(Event, notice.event_pk) if notice and notice.event_pk else None
        if event is None or event.latest_notice_id in (None, notice_id):
            return None
        newer = session.get(Notice, event.latest_notice_id)
        if newer is None:
            return None
        _supersede(session, notice, event.id, newer)
        return newer.id


def _upsert_event(session: Session, parsed: ParsedNotice, notice_id: int) -> Event:
    event = session.exec(select(Event).where(Event.event_id == parsed.event_id)).first()
    if event is None:
        event = Event(event_id=parsed.event_id, kind=parsed.kind, source=parsed.source,
                      time=parsed.time, is_mock=parsed.is_mock)
    if parsed.is_retraction:
        event.retracted = True
    else:
        # Later notices refine the event; keep what they do not repeat.
        event.properties = {**(event.properties or {}), **_jsonable(parsed.properties)}
        if parsed.external_coincidence:
            event.properties["external_coincidence"] = _jsonable(parsed.external_coincidence)
        event.time = parsed.time or event.time
    event.latest_notice_type = parsed.notice_type
    event.latest_notice_id = notice_id
    event.updated = utcnow()
    session.add(event)
    session.flush()
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _record_localization(session: Session, notice: Notice, event: Event,
                         parsed: ParsedNotice, settings: Settings) -> Localization | None:
    from ..skymap import SkymapStore, localization_to_moc, moc_to_bytes, summarize
    from ..skymap.read import WARNING_KEY

    loc = parsed.localization
    if loc is None:
        return None
    row = Localization(event_pk=event.id, notice_id=notice.id, state="stored", url=loc.url)
    try:
        # NoticeRejected on a corrupt map or an impossible region
        moc = localization_to_moc(loc, fetch=True, timeout=settings.skymap_fetch_timeout,
                                  retries=settings.skymap_fetch_retries,
                                  deadline=settings.skymap_fetch_deadline)
    except SkymapUnavailable as exc:
        row.state = "unavailable"
        log.warning("notice %s: %s", notice.id, exc)
        moc = None
    if moc is None:
        session.add(row)
        session.flush()
        return row
    row.warning = moc.meta.pop(WARNING_KEY, None)  # e.g. renormalised
    if loc.skymap_bytes is None and loc.is_circle:  # a circle, an ellipse or a box
        row.state = loc.shape or "circle"
        row.error_radius = loc.error_radius
    store = SkymapStore(settings.resolved_skymap_dir)
    row.skymap_sha256, _ = store.put(moc_to_bytes(moc))
    s = summarize(moc)
    row.ra, row.dec = (loc.ra, loc.dec) if loc.is_circle else (s.ra, s.dec)
    row.area_50, row.area_90 = s.area_50, s.area_90
    row.distance_mean, row.distance_std = s.distance_mean, s.distance_std
    session.add(row)
    session.flush()
    return row


def parse_stored_notice(notice_id: int, *, engine: Engine | None = None,
                        settings: Settings | None = None) -> ParseOutcome:
    """Parse notice ``notice_id`` and record its event and localization.

    A notice that cannot be used is marked rejected with the specific reason
    and nothing else changes. Parsing an already parsed notice again is
    harmless: the event is updated with the same values and the localization
    row is reused — except one whose sky map could not be fetched, which is
    fetched again (``tooflow rerun`` is how an operator asks for that).

    Returns
    -------
    ParseOutcome
    """
    settings = settings or load_settings()
    engine = engine or get_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise LookupError(f"no notice with id {notice_id}")
        if notice.status == NoticeStatus.rejected.value:
            return ParseOutcome(notice.id, True, notice.rejection_reason)
        try:
            parsed = check_parsed(
                parse_notice(bytes(notice.payload), max_bytes=settings.max_notice_bytes,
                             source=notice.source),
                received=notice.received)
        except NoticeRejected as exc:
            return _reject(session, notice, str(exc))
        notice.format = parsed.format
        notice.notice_type = parsed.notice_type
        notice.issued = parsed.issued
        newer = _newer_notice(session, notice, parsed)
        if newer is not None:  # out of order: a later notice of the event is applied
            return _supersede(session, notice, newer.event_pk, newer)
        try:
            event = _upsert_event(session, parsed, notice.id)
            notice.event_pk = event.id
            existing = session.exec(select(Localization)
                                    .where(Localization.notice_id == notice.id)).first()
            if existing is not None and existing.state == "unavailable" and not session.exec(
                    select(Plan.id).where(Plan.localization_id == existing.id)).first():
                # A sky map that could not be fetched: try again (a re-run does this).
                session.delete(existing)
                session.flush()
                existing = None
            loc = existing or _record_localization(session, notice, event, parsed, settings)
        except NoticeRejected as exc:
            session.rollback()
            notice = session.get(Notice, notice_id)
            return _reject(session, notice, str(exc))
        if notice.status in (NoticeStatus.received.value, NoticeStatus.triggered.value,
                             NoticeStatus.failed.value):
            notice.status = NoticeStatus.parsed.value
        if notice.error and (event.last_error or "").startswith(f"notice #{notice.id}:"):
            event.last_error = None  # run again: the failure recorded is history
        notice.error = None
        session.add(notice)
        session.commit()
        fields = event_fields(event, loc, parsed.notice_type)
        return ParseOutcome(notice.id, False, None, event.id, event.event_id,
                            parsed.notice_type, loc.id if loc else None,
                            summary=fields)

