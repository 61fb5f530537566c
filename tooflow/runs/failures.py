"""Record a stage failure where an operator looks: the notice, its event, ``tooflow health``.

The ``handle-notice`` flow catches every exception of every stage, calls
:func:`record_failure` and re-raises, so the flow run ends Failed (red) in the
Prefect UI *and* the notice reads ``failed`` with the stage and the reason,
which ``tooflow show`` and ``tooflow health`` print. ``tooflow rerun`` runs
the notice again; a successful parse clears the failure.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from ..db import get_engine
from ..guards.text import redact
from ..models import Event, Notice, NoticeStatus

__all__ = ["MAX_REASON_CHARS", "failed_notices", "failure_reason", "record_event_failure",
           "record_failure", "stuck_notices"]

log = logging.getLogger(__name__)

#: A reason longer than this is cut (a traceback-sized message helps nobody in a table).
MAX_REASON_CHARS = 1000


def failure_reason(stage: str, exc: BaseException) -> str:
    """``"<stage> failed: <ExceptionType>: <message>"``, credentials redacted, bounded."""
    message = redact(str(exc)).strip() or "(no message)"
    reason = f"{stage} failed: {type(exc).__name__}: {message}"
    return reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 1] + "…"


def record_failure(notice_id: int, stage: str, exc: BaseException, *,
                   engine: Engine | None = None) -> str:
    """Mark notice ``notice_id`` failed at ``stage`` and note it on its event.

    Never raises: when the database itself is what failed, the reason is
    logged and returned (the Prefect run still ends Failed).

    Parameters
    ----------
    notice_id : int
    stage : str
        ``parse``, ``gate``, ``notify``, ``plan``, ``submit``, ``monitor``...
    exc : BaseException
        What went wrong.
    engine : Engine, optional

    Returns
    -------
    str
        The reason recorded.
    """
    reason = failure_reason(stage, exc)
    try:
        with Session(engine or get_engine(), expire_on_commit=False) as session:
            notice = session.get(Notice, notice_id)
            if notice is None:
                return reason
            if notice.status != NoticeStatus.rejected.value:
                notice.status = NoticeStatus.failed.value
            notice.error = reason
            session.add(notice)
            if notice.event_pk is not None:
                event = session.get(Event, notice.event_pk)
                event.last_error = f"notice #{notice_id}: {reason}"
                session.add(event)
            session.commit()
    except Exception as db_exc:  # noqa: BLE001 - recording must not hide the original error
        log.error("notice %s: %s (could not be recorded: %s)", notice_id, reason,
                  redact(str(db_exc)))
    return reason


def record_event_failure(event_pk: int, stage: str, exc: BaseException, *,
                         engine: Engine | None = None) -> str:
    """Note a failure on an event (``last_error``); never raises; return the reason."""
    reason = failure_reason(stage, exc)
    try:
        with Session(engine or get_engine()) as session:
            event = session.get(Event, event_pk)
            if event is not None:
                event.last_error = reason
                session.add(event)
                session.commit()
    except Exception as db_exc:  # noqa: BLE001 - recording must not hide the original error
        log.error("event %s: %s (could not be recorded: %s)", event_pk, reason,
                  redact(str(db_exc)))
    return reason


def failed_notices(engine: Engine | None = None, limit: int = 5) -> tuple[int, list[Notice]]:
    """How many notices are ``failed``, and the newest ``limit`` of them."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        count = session.exec(select(func.count()).select_from(Notice)
                             .where(Notice.status == NoticeStatus.failed.value)).one()
        newest = list(session.exec(select(Notice)
                                   .where(Notice.status == NoticeStatus.failed.value)
                                   .order_by(Notice.id.desc()).limit(limit)))
    return count, newest


def stuck_notices(engine: Engine | None = None, *, older_than: float | None = None,
                  now=None) -> list[Notice]:
    """Notices whose run started (``triggered``/``parsed``) longer ago than its budget.

    A run that died without recording anything (its worker killed, the machine
    rebooted) leaves its notice there; ``tooflow health`` lists them.

    Parameters
    ----------
    older_than : float, optional
        Seconds; default the ``handle-notice`` budget plus ten minutes.
    """
    import datetime as dt

    from ..models._types import utcnow
    from .budgets import HANDLE_NOTICE_TIMEOUT

    limit = (now or utcnow()) - dt.timedelta(
        seconds=older_than if older_than is not None else HANDLE_NOTICE_TIMEOUT + 600)
    started = func.coalesce(Notice.triggered_at, Notice.received)
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        return list(session.exec(select(Notice).where(
            Notice.status.in_([NoticeStatus.triggered.value, NoticeStatus.parsed.value]),
            started < limit).order_by(Notice.id)))
