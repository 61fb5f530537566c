"""Task: send again the requests no queue has accepted yet."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from prefect import task

from ..db.retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.submit import resubmit_unsent
from ._context import context

__all__ = ["resubmit"]


@task(name="resubmit", timeout_seconds=TASK_TIMEOUTS["resubmit"])
@database_retries("resubmit")
def resubmit(now: dt.datetime | None = None) -> dict:
    """:func:`~tooflow.stages.submit.resubmit_unsent` over every event; the result as a dict."""
    settings, engine = context()
    return asdict(resubmit_unsent(engine=engine, settings=settings, now=now))
