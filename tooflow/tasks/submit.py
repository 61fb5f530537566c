"""Tasks: submit a plan to the queues; cancel an event's requests."""

from __future__ import annotations

from dataclasses import asdict

from prefect import get_run_logger, task

from ..db.retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.submit import SubmissionFailed, cancel_event_requests, submit_plan
from ._context import context

__all__ = ["submit", "cancel"]


@task(name="submit", timeout_seconds=TASK_TIMEOUTS["submit"],
      task_run_name="submit-plan-{plan_id}")
@database_retries("submit")
def submit(plan_id: int) -> dict:
    """Queue a plan (idempotent: a retry queues nothing twice).

    A telescope whose queue did not take its requests (after the HTTP retry
    policy of :mod:`tooflow.facilities.http`; the task itself retries only a
    database outage) fails the task run (red in the UI), with an ERROR log
    line per telescope; the others' requests are queued all the same, and the
    failed ones are kept ``unsent`` for :func:`~tooflow.stages.submit.resubmit_unsent`.

    Raises
    ------
    SubmissionFailed
        With the :class:`~tooflow.stages.submit.SubmitResult` (as a dict).
    """
    settings, engine = context()
    result = submit_plan(plan_id, engine=engine, settings=settings)
    if result.errors:
        logger = get_run_logger()
        for tel, error in sorted(result.errors.items()):
            logger.error("%s: submission of plan %s failed: %s; %d request(s) kept unsent "
                         "(retried by `tooflow reconcile` and the resubmit-unsent deployment)",
                         tel, plan_id, error, result.unsent.get(tel, 0))
        raise SubmissionFailed(result.failure_message(), asdict(result), result.transient)
    return asdict(result)


@task(name="cancel", timeout_seconds=TASK_TIMEOUTS["cancel"],
      task_run_name="cancel-event-{event_pk}")
@database_retries("cancel")
def cancel(event_pk: int) -> dict[str, int]:
    """Cancel everything still queued for an event (retraction)."""
    settings, engine = context()
    return cancel_event_requests(event_pk, engine=engine, settings=settings)
