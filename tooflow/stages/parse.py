"""Parse a stored notice and record what it says: the event and its localization.

These are the plain functions behind the ``parse`` and ``gate`` tasks of the
``handle-notice`` flow. They read the notice by id, work, store, and return ids
and small summaries; they are tested without Prefect.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..db import get_engine
from ..errors import NoticeRejected, SkymapUnavailable
from ..models import Event, GateDecision, Localization, Notice, NoticeStatus, Plan
from ..models._types import utcnow
from ..notice import ParsedNotice
from ..notice_order import is_older
from ..parsers import parse_notice
from ..parsers.validate import check_parsed
from ..programs import Decision, gate, load_programs

__all__ = ["ParseOutcome", "parse_stored_notice", "event_fields", "gate_notice",
           "latest_localization", "monitor_handed_over", "supersede_if_newer"]

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


def monitor_handed_over(event_pk: int, notice_id: int, *,
                        engine: Engine | None = None) -> int | None:
    """The later notice whose run now monitors the event instead of ``notice_id``'s, if any.

    A later notice (the one the event reads) that has submitted a plan has its
    own monitor, which polls every request of the event: the earlier monitor
    stops, so one event gets one monitor and one circular draft at a time.
    """
    with Session(engine or get_engine()) as session:
        event = session.get(Event, event_pk)
        if event is None or event.latest_notice_id in (None, notice_id):
            return None
        submitted = session.exec(select(Plan.id).where(
            Plan.event_pk == event_pk, Plan.notice_id == event.latest_notice_id,
            Plan.status == "submitted")).first()
        return event.latest_notice_id if submitted is not None else None


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
    from ..skymap import (
        SkymapStore,
        fetch_skymap,
        read_skymap_bytes,
        region_to_moc,
        summarize,
    )

    loc = parsed.localization
    if loc is None:
        return None
    row = Localization(event_pk=event.id, notice_id=notice.id, state="stored", url=loc.url)
    data = loc.skymap_bytes
    if data is None and loc.url and not loc.is_circle:
        try:
            data = fetch_skymap(loc.url, timeout=settings.skymap_fetch_timeout,
                                retries=settings.skymap_fetch_retries,
                                deadline=settings.skymap_fetch_deadline)
        except SkymapUnavailable as exc:
            row.state = "unavailable"
            log.warning("notice %s: %s", notice.id, exc)
    if data is not None:
        from ..skymap.read import WARNING_KEY

        moc = read_skymap_bytes(data)  # NoticeRejected on a corrupt map
        row.warning = moc.meta.pop(WARNING_KEY, None)  # e.g. renormalised
    elif loc.is_circle:
        moc = region_to_moc(loc)  # a circle, an ellipse or a box, kept as what it is
        row.state = loc.shape or "circle"
        row.error_radius = loc.error_radius
    else:
        session.add(row)
        session.flush()
        return row
    store = SkymapStore(settings.resolved_skymap_dir)
    row.skymap_sha256, _ = store.put(moc_to_bytes(moc))
    s = summarize(moc)
    row.ra, row.dec = (loc.ra, loc.dec) if loc.is_circle else (s.ra, s.dec)
    row.area_50, row.area_90 = s.area_50, s.area_90
    row.distance_mean, row.distance_std = s.distance_mean, s.distance_std
    session.add(row)
    session.flush()
    return row


def moc_to_bytes(moc) -> bytes:
    """A multi-order map as FITS bytes (ligo.skymap's writer, with its header)."""
    import tempfile
    from pathlib import Path

    from ligo.skymap.io.fits import write_sky_map

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "skymap.multiorder.fits"
        write_sky_map(str(path), moc, moc=True)
        return path.read_bytes()


def latest_localization(session: Session, event_pk: int) -> Localization | None:
    """The newest usable localization of an event (one with a stored map first)."""
    rows = session.exec(select(Localization).where(Localization.event_pk == event_pk)
                        .order_by(Localization.id.desc())).all()
    for row in rows:
        if row.skymap_sha256:
            return row
    return rows[0] if rows else None


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


def event_fields(event: Event, loc: Localization | None,
                 notice_type: str | None = None) -> dict[str, Any]:
    """The flat field dictionary the gate evaluates and the summary prints."""
    fields: dict[str, Any] = dict(event.properties or {})
    fields.update(
        event_id=event.event_id, kind=event.kind, source=event.source,
        time=event.time.isoformat(), is_mock=event.is_mock,
        # A retracted event stays retracted: later notices trigger nothing.
        is_retraction=event.retracted,
        notice_type=notice_type or event.latest_notice_type,
    )
    if loc is not None:
        for name in ("ra", "dec", "error_radius", "area_50", "area_90",
                     "distance_mean", "distance_std"):
            value = getattr(loc, name)
            if value is not None:
                fields[name] = value
        fields["localization_state"] = loc.state
        if loc.warning:
            fields["localization_warning"] = loc.warning
        if loc.error_radius is None and loc.area_90 is not None:
            # The radius of a disc of the same 90% area (deg, small-angle), so that
            # GRB/neutrino criteria on error_radius also read sky maps.
            fields["error_radius"] = math.sqrt(loc.area_90 / math.pi)
    return fields


def _coincidences(session: Session, event: Event, settings: Settings) -> dict[str, Any]:
    """Record the event's multi-messenger coincidences; their fields for the gate.

    ``coincident_with`` (partner event ids), ``coincident_kinds``, ``overlap``
    (the largest overlap integral), ``joint_area_90`` (deg²).
    """
    from ..skymap import SkymapStore
    from .coincidence import coincidence_fields, find_coincidences

    if event.kind in ("GW", "GRB", "neutrino") and not event.retracted:
        find_coincidences(session, event.id, store=SkymapStore(settings.resolved_skymap_dir))
        session.flush()
    return coincidence_fields(session, event.id)


def gate_notice(notice_id: int, *, engine: Engine | None = None,
                settings: Settings | None = None) -> list[Decision]:
    """Gate a parsed notice against the configured science programs and store the decisions.

    Gating the same notice again replaces its earlier decisions.
    """
    settings = settings or load_settings()
    engine = engine or get_engine(settings)
    programs = load_programs(settings.resolved_programs_file)
    with Session(engine, expire_on_commit=False) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.event_pk is None:
            raise LookupError(f"notice {notice_id} has not been parsed")
        event = session.get(Event, notice.event_pk)
        loc = session.exec(select(Localization).where(Localization.notice_id == notice_id)
                           ).first() or latest_localization(session, event.id)
        fields = event_fields(event, loc, notice.notice_type)
        fields.update(_coincidences(session, event, settings))
        decisions = gate(fields, programs)
        for old in session.exec(select(GateDecision)
                                .where(GateDecision.notice_id == notice_id)).all():
            session.delete(old)
        for d in decisions:
            session.add(GateDecision(notice_id=notice_id, event_pk=event.id,
                                     program=d.program, triggered=d.triggered, reason=d.reason))
        notice.status = NoticeStatus.gated.value
        session.add(notice)
        session.commit()
    return decisions
