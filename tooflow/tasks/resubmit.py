"""Task: send again the requests no queue has accepted yet."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from prefect import task

from ..runs.budgets import TASK_TIMEOUTS
from ..stages.submit import resubmit_unsent
from ._context import context
from .retry import retry_on_io

__all__ = ["resubmit"]


@task(name="resubmit", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_io,
      timeout_seconds=TASK_TIMEOUTS["resubmit"])
def resubmit(now: dt.datetime | None = None) -> dict:
    """:func:`~tooflow.stages.submit.resubmit_unsent` over every event; the result as a dict."""
    settings, engine = context()
    return asdict(resubmit_unsent(engine=engine, settings=settings, now=now))
