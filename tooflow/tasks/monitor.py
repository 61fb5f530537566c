"""Task: one poll of an event's queues."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task

from ..db_retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.monitor import poll_event
from ._context import context

__all__ = ["poll"]


@task(name="poll", timeout_seconds=TASK_TIMEOUTS["poll"])
@database_retries("poll")
def poll(event_pk: int) -> dict:
    """Poll once; returns the progress as a dict."""
    settings, engine = context()
    return asdict(poll_event(event_pk, engine=engine, settings=settings))
