"""Task: one poll of an event's queues."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task

from ..runs.budgets import TASK_TIMEOUTS
from ..stages.monitor import poll_event
from ._context import context
from .retry import retry_on_io

__all__ = ["poll"]


@task(name="poll", timeout_seconds=TASK_TIMEOUTS["poll"],
      retries=3, retry_delay_seconds=[2, 10, 30],
      retry_condition_fn=retry_on_io)
def poll(event_pk: int) -> dict:
    """Poll once; returns the progress as a dict."""
    settings, engine = context()
    return asdict(poll_event(event_pk, engine=engine, settings=settings))
