"""Gate a parsed notice: evaluate the science programs' criteria, store the decisions.

The plain function behind the ``gate`` task of ``handle-notice``; tested
without Prefect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..db import get_engine
from ..models import Event, GateDecision, Localization, Notice, NoticeStatus
from ..programs import Decision, gate, load_programs
from ..records.event import event_fields, latest_localization

__all__ = ["gate_notice"]


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
