"""Task: tell the on-duty astronomers (once per change)."""

from __future__ import annotations

from prefect import task
from prefect.runtime import flow_run

from ..runs.budgets import TASK_TIMEOUTS
from ..stages.notify import notify_event
from ._context import context

__all__ = ["notify"]


@task(name="notify", timeout_seconds=TASK_TIMEOUTS["notify"],
      task_run_name="notify-{reason}")
def notify(event_pk: int, reason: str, programs: list[str], detail: str = "") -> int:
    """Notify about an event; returns how many deliveries were recorded."""
    settings, engine = context()
    return len(notify_event(event_pk, reason, programs=programs, detail=detail,
                            flow_run_url=flow_run.ui_url, engine=engine, settings=settings))
