"""Tasks: open an event's monitor; one poll of an event's queues."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task

from ..db.retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.event_monitor import open_monitor
from ..stages.monitor import poll_event
from ._context import context

__all__ = ["poll", "watch"]


@task(name="poll", timeout_seconds=TASK_TIMEOUTS["poll"], task_run_name="poll-{event_id}")
@database_retries("poll")
def poll(event_pk: int, event_id: str = "") -> dict:
    """Poll once; returns the progress as a dict."""
    settings, engine = context()
    return asdict(poll_event(event_pk, engine=engine, settings=settings))


@task(name="watch", timeout_seconds=TASK_TIMEOUTS["poll"], task_run_name="watch-{event_id}")
@database_retries("watch")
def watch(event_pk: int, event_id: str, programs: list[str], notice_id: int | None,
          new_requests: bool) -> dict:
    """Open (or extend) the event's monitor; returns its row as a dict."""
    settings, engine = context()
    row = open_monitor(event_pk, programs, notice_id=notice_id, new_requests=new_requests,
                       engine=engine, settings=settings)
    return row.model_dump(mode="json")
