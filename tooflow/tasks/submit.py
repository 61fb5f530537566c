"""Tasks: submit a plan to the queues; cancel an event's requests."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task

from ..budgets import TASK_TIMEOUTS
from ..stages.submit import cancel_event_requests, submit_plan
from ._context import context
from .retry import retry_on_io

__all__ = ["submit", "cancel"]


@task(name="submit", timeout_seconds=TASK_TIMEOUTS["submit"],
      task_run_name="submit-plan-{plan_id}", retries=3,
      retry_delay_seconds=[5, 30, 120], retry_condition_fn=retry_on_io)
def submit(plan_id: int) -> dict:
    """Queue a plan (idempotent: a retry queues nothing twice)."""
    settings, engine = context()
    return asdict(submit_plan(plan_id, engine=engine, settings=settings))


@task(name="cancel", timeout_seconds=TASK_TIMEOUTS["cancel"],
      task_run_name="cancel-event-{event_pk}", retries=3,
      retry_delay_seconds=[5, 30, 120], retry_condition_fn=retry_on_io)
def cancel(event_pk: int) -> dict[str, int]:
    """Cancel everything still queued for an event (retraction)."""
    settings, engine = context()
    return cancel_event_requests(event_pk, engine=engine, settings=settings)
