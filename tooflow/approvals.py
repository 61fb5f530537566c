"""Plans that wait for a person: ``approval: required`` programs (DECam time, ...).

A plan of such a program is not submitted until someone on duty approves it
(web page or ``tooflow approve``), or its timeout passes and the program's
``approval_default`` decides. The request and the decision are rows
(:class:`~tooflow.models.PlanApproval`), so they survive a restart of the
web server or of the flow's worker: a waiting flow reads the row, and a run
started again finds the decision already taken.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from .audit import record
from .models import Plan, PlanApproval
from .programs import Program

__all__ = ["request_approval", "decide", "settle_expired", "wait_for_decision",
           "pending_approvals", "ApprovalClosed", "DECISIONS"]

#: What a person can decide.
DECISIONS = ("approve", "reject")


class ApprovalClosed(ValueError):
    """The plan was already decided (by someone else, or by its timeout)."""


def request_approval(session: Session, plan_id: int, program: Program,
                     now: dt.datetime | None = None) -> PlanApproval:
    """The approval request of a plan, created once (a re-run finds the same row).

    Parameters
    ----------
    session : Session
        Committed by the caller.
    plan_id : int
        The plan that waits.
    program : Program
        Its program (``approval_timeout``, ``approval_default``).
    """
    row = session.exec(select(PlanApproval).where(PlanApproval.plan_id == plan_id)).first()
    if row is not None:
        return row
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise LookupError(f"no plan #{plan_id}")
    now = now or dt.datetime.now(dt.UTC)
    row = PlanApproval(plan_id=plan_id, event_pk=plan.event_pk, program=program.name,
                       requested=now, default=program.approval_default,
                       deadline=now + dt.timedelta(seconds=program.approval_timeout))
    session.add(row)
    session.flush()
    return row


def _status(decision: str) -> str:
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    return "approved" if decision == "approve" else "rejected"


def decide(session: Session, approval_id: int, decision: str, actor: str, comment: str = "",
           now: dt.datetime | None = None) -> PlanApproval:
    """Approve or reject a waiting plan; recorded with who and when.

    Raises
    ------
    ApprovalClosed
        Already decided, or past its deadline (its default decided).
    LookupError
        No such approval request.
    """
    status = _status(decision)
    row = session.get(PlanApproval, approval_id)
    if row is None:
        raise LookupError(f"no approval request #{approval_id}")
    now = now or dt.datetime.now(dt.UTC)
    settle_expired(session, row, now)
    if row.status != "pending":
        raise ApprovalClosed(f"plan #{row.plan_id} was already {row.status} by "
                             f"{row.decided_by} at {row.decided:%Y-%m-%d %H:%M:%S} UTC")
    row.status, row.decided, row.decided_by = status, now, actor
    row.comment = (comment or "").strip()[:2000]
    session.add(row)
    record(session, actor, f"{decision}_plan", event_pk=row.event_pk,
           target=f"plan #{row.plan_id}", program=row.program, comment=row.comment)
    session.flush()
    return row


def settle_expired(session: Session, row: PlanApproval,
                   now: dt.datetime | None = None) -> PlanApproval:
    """Past its deadline, a pending request takes its program's default decision."""
    now = now or dt.datetime.now(dt.UTC)
    if row.status == "pending" and now >= row.deadline:
        row.status, row.decided = _status(row.default), row.deadline
        row.decided_by = "timeout"
        row.comment = f"no decision within the timeout: {row.default} (the program's default)"
        session.add(row)
        record(session, "timeout", f"{row.default}_plan", event_pk=row.event_pk,
               target=f"plan #{row.plan_id}", program=row.program, comment=row.comment)
        session.flush()
    return row


def pending_approvals(session: Session, event_pk: int | None = None) -> list[PlanApproval]:
    """Approval requests still waiting (of one event, or of all)."""
    query = select(PlanApproval).where(PlanApproval.status == "pending")
    if event_pk is not None:
        query = query.where(PlanApproval.event_pk == event_pk)
    return list(session.exec(query.order_by(PlanApproval.id)))


def wait_for_decision(approval_id: int, engine: Engine, *, poll: float = 2.0,
                      clock: Callable[[], dt.datetime] | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> PlanApproval:
    """Block until the approval request is decided, by a person or by its deadline.

    Reads the row every ``poll`` seconds (the decision comes from another
    process: the web server, ``tooflow approve``); the deadline is stored, so
    a wait resumed after a restart ends when the first one would have.

    Returns
    -------
    PlanApproval
        The decided row (``status`` approved or rejected).
    """
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    while True:
        with Session(engine, expire_on_commit=False) as session:
            row = session.get(PlanApproval, approval_id)
            if row is None:
                raise LookupError(f"no approval request #{approval_id}")
            now = clock()
            settle_expired(session, row, now)
            session.commit()
            if row.status != "pending":
                return row
            left = (row.deadline - now).total_seconds()
        sleep(max(0.05, min(poll, left)))
