"""Ask the on-duty astronomer to approve a plan, then wait for the decision."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..approvals import request_approval, wait_for_decision
from ..config import Settings
from ..models import Plan

__all__ = ["await_plan_approval"]


def await_plan_approval(event_pk: int, event_id: str, plan_id: int, program: str, *,
                        engine: Engine, settings: Settings, flow_run_url: str | None = None,
                        log: Callable[[str], None] = lambda _m: None,
                        poll: float = 2.0) -> str:
    """Request approval of a plan, notify with a link to its page, wait for the decision.

    A rejected plan (by a person or by the program's default at its timeout)
    gets status ``rejected`` and is not submitted.

    Returns
    -------
    str
        ``approved`` or ``rejected``.
    """
    from ..programs import load_programs
    from ..web.config import event_url
    from .notify import notify_event

    prog = next(p for p in load_programs(settings.resolved_programs_file) if p.name == program)
    with Session(engine, expire_on_commit=False) as session:
        row = request_approval(session, plan_id, prog)
        session.commit()
    url = event_url(settings, event_id, f"plan-{plan_id}")
    log(f"{event_id}: plan #{plan_id} ({program}) waits for approval at {url} until "
        f"{row.deadline:%Y-%m-%d %H:%M:%S} UTC (then: {row.default})")
    if row.status == "pending":
        notify_event(event_pk, "approval_needed", programs=[program],
                     flow_run_url=flow_run_url, engine=engine, settings=settings,
                     detail=f"plan #{plan_id} waits for approval: {url} (until "
                            f"{row.deadline:%H:%M} UTC, then {row.default})")
    row = wait_for_decision(row.id, engine, poll=poll)
    log(f"{event_id}: plan #{plan_id} {row.status} by {row.decided_by}"
        + (f": {row.comment}" if row.comment else ""))
    if row.status == "rejected":
        with Session(engine) as session:
            plan = session.get(Plan, plan_id)
            plan.status = "rejected"
            session.add(plan)
            session.commit()
    return row.status
