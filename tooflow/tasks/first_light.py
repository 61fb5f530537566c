"""Tasks: plan what to queue at once (first light); say how the optimal plan replaced it."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.artifacts import create_markdown_artifact
from sqlmodel import Session, select

from ..db.retry import database_retries
from ..models import Plan, PlannedObservationRow
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.first_light import FirstLight, plan_first_light
from ._context import artifact_key, context

__all__ = ["plan_first", "publish_first_light"]


@task(name="plan-first-light", timeout_seconds=TASK_TIMEOUTS["plan_first_light"],
      task_run_name="plan-first-light-{program}")
@database_retries("plan_first_light")
def plan_first(notice_id: int, event_id: str, program: str,
               start: dt.datetime | None = None) -> FirstLight:
    """Plan and store the fast plan of ``program`` (a single pointing or the first block)."""
    from .plan import plan_markdown

    settings, engine = context()
    first = plan_first_light(notice_id, program, engine=engine, settings=settings,
                             start=start)
    if first.plan_id is not None:
        with Session(engine) as session:
            row = session.get(Plan, first.plan_id)
            obs = session.exec(select(PlannedObservationRow)
                               .where(PlannedObservationRow.plan_id == first.plan_id)
                               .order_by(PlannedObservationRow.start_time)).all()
            create_markdown_artifact(
                markdown=f"**First light: {first.kind}** (planned in {first.seconds:.2f} s)"
                         f"\n\n{plan_markdown(row, obs, event_id)}",
                key=artifact_key("plan", event_id, program),
                description=f"First-light plan for {event_id}")
    return first


def publish_first_light(event_id: str, program: str, lines: list[str]) -> None:
    """The first-light artifact of ``program``: what was queued first and what replaced it.

    One key per event and program (``first-light-<event>-<program>``), a new
    version at each step: "first block submitted, optimal plan pending", then
    "optimal plan N replaced it: …".
    """
    create_markdown_artifact(markdown="\n".join([f"### First light: {event_id}, {program}",
                                                 "", *lines]),
                             key=artifact_key("first-light", event_id, program),
                             description=f"First light for {event_id} ({program})")
