"""An event's rows read back: shared by the stages, the views and the CLI."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, or_, select

from ..config import Settings
from ..db import get_engine
from ..models import Event, Localization, MultimessengerCoincidence, Plan

__all__ = ["coincidence_rows", "event_fields", "event_map_sha256", "joint_skymap_sha256",
           "latest_localization",
           "load_event_moc", "monitor_handed_over"]


def latest_localization(session: Session, event_pk: int) -> Localization | None:
    """The newest usable localization of an event (one with a stored map first)."""
    rows = session.exec(select(Localization).where(Localization.event_pk == event_pk)
                        .order_by(Localization.id.desc())).all()
    for row in rows:
        if row.skymap_sha256:
            return row
    return rows[0] if rows else None


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


def load_event_moc(session: Session, event_pk: int, settings: Settings,
                   notice_id: int | None = None):
    """The map to plan on, and the localization row it comes from.

    The joint map of the event's best multi-messenger coincidence when there is
    one, else the map of ``notice_id`` if it has one, else the event's latest.
    """
    from ..skymap import SkymapStore, read_skymap_bytes

    sha256, loc = event_map_sha256(session, event_pk, notice_id)
    if sha256 is None:
        return None, loc
    return read_skymap_bytes(SkymapStore(settings.resolved_skymap_dir).get(sha256)), loc


def event_map_sha256(session: Session, event_pk: int, notice_id: int | None = None
                     ) -> tuple[str | None, Localization | None]:
    """Which stored map :func:`load_event_moc` reads (its sha256), without reading it.

    The store is content-addressed, so the sha256 names the map's content:
    what a cache of numbers computed from the map is keyed by.
    """
    joint = joint_skymap_sha256(session, event_pk)
    loc = None
    if notice_id is not None:
        loc = session.exec(select(Localization).where(Localization.notice_id == notice_id,
                                                      Localization.skymap_sha256.is_not(None))
                           ).first()
    loc = loc or latest_localization(session, event_pk)
    if joint:  # a coincidence with a GRB or neutrino: plan on the joint map
        return joint, loc
    if loc is None or not loc.skymap_sha256:
        return None, loc
    return loc.skymap_sha256, loc


def coincidence_rows(session: Session, event_pk: int) -> list[MultimessengerCoincidence]:
    """The multi-messenger coincidences an event takes part in (as GW or as external)."""
    return list(session.exec(select(MultimessengerCoincidence).where(or_(
        MultimessengerCoincidence.gw_event_pk == event_pk,
        MultimessengerCoincidence.external_event_pk == event_pk))
        .order_by(MultimessengerCoincidence.id)))


def joint_skymap_sha256(session: Session, event_pk: int) -> str | None:
    """The joint map of the event's best coincidence (largest overlap), for the planner."""
    rows = [r for r in coincidence_rows(session, event_pk) if r.joint_skymap_sha256]
    if not rows:
        return None
    return max(rows, key=lambda r: r.overlap or 0.0).joint_skymap_sha256


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
