"""Run the ``handle-notice`` flow again for an event (``tooflow rerun``).

The new run uses a fresh idempotency key, so Prefect creates a new flow run;
the flow and the facility queue layer (request keys, unique per planned
observation) make sure nothing already submitted is submitted twice.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..db import get_engine
from ..models import Event, Notice
from .trigger import DEFAULT_DEPLOYMENT, trigger_notice

__all__ = ["rerun_event", "rerun_notice_id"]


def rerun_notice_id(event_id: str, notice_id: int | None = None, *,
                    engine: Engine | None = None) -> int:
    """The notice to run again: ``notice_id`` (checked) or the event's latest notice.

    The latest is the one the event reads (by alert type and issue time, see
    :mod:`tooflow.notice.order`), not the last to arrive.

    Raises
    ------
    LookupError
        Unknown event, an event without notices, or a notice of another event.
    """
    with Session(engine or get_engine()) as session:
        event = session.exec(select(Event).where(Event.event_id == event_id)).first()
        if event is None:
            raise LookupError(f"no event {event_id!r} in the database "
                              "(`tooflow events` lists them)")
        if notice_id is not None:
            notice = session.get(Notice, notice_id)
            if notice is None or notice.event_pk != event.id:
                raise LookupError(f"notice #{notice_id} is not a notice of {event_id}")
            return notice_id
        if event.latest_notice_id is not None:  # by the notices' own order, not arrival
            return event.latest_notice_id
        latest = session.exec(select(Notice.id).where(Notice.event_pk == event.id)
                              .order_by(Notice.received.desc(), Notice.id.desc())).first()
        if latest is None:
            raise LookupError(f"event {event_id} has no stored notice")
        return latest


def rerun_event(event_id: str, notice_id: int | None = None, *,
                deployment: str = DEFAULT_DEPLOYMENT, engine: Engine | None = None
                ) -> tuple[int, str]:
    """Start a new ``handle-notice`` run for an event.

    Returns
    -------
    (int, str)
        The notice id and the new flow run id.
    """
    engine = engine or get_engine()
    nid = rerun_notice_id(event_id, notice_id, engine=engine)
    return nid, trigger_notice(nid, deployment=deployment, engine=engine, rerun=True)
