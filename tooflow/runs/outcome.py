"""Which flow run handled a notice, and how it ended, on the notice row.

``tooflow ingest`` runs the flow in-process (no trigger records the run), so the
flow itself records its run on the notice when it starts, and the outcome when
it ends: ``done`` when every stage it had to run did its work (a stage that
could not is recorded by :func:`tooflow.runs.failures.record_failure`: ``failed``).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..models import Notice, NoticeStatus
from ..models._types import utcnow

__all__ = ["record_flow_run", "finish_notice"]


def record_flow_run(notice_id: int, run_id: str | None, run_name: str | None, *,
                    engine: Engine) -> None:
    """Store the id and name of the flow run handling a notice (the latest run wins)."""
    if not run_id:
        return
    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise KeyError(f"no notice #{notice_id}")
        notice.flow_run_id, notice.flow_run_name = str(run_id), run_name
        notice.triggered_at = notice.triggered_at or utcnow()
        session.add(notice)
        session.commit()


def finish_notice(notice_id: int, *, engine: Engine) -> None:
    """Mark a notice ``done`` once its flow ran every stage it had to.

    A notice ``rejected``, ``failed`` (:func:`tooflow.runs.failures.record_failure`) or
    ``superseded`` keeps that status.
    """
    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status in (NoticeStatus.rejected.value,
                                               NoticeStatus.failed.value,
                                               NoticeStatus.superseded.value):
            return
        notice.status = NoticeStatus.done.value
        session.add(notice)
        session.commit()
