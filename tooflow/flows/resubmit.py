"""The ``resubmit-unsent`` flow: send the requests no queue accepted, until the window closes.

A queue that could not be reached (or answered an error) when a plan was
submitted leaves its requests ``unsent`` (the submit task run and the
handle-notice run are Failed). This flow, deployed on a schedule (prefect.yaml:
every 5 minutes) and run by ``tooflow reconcile``, sends them again: their
request keys make a queue that already has them answer with their state, so
nothing is queued twice. Requests a queue accepts now open their event's
monitor again (polled by the scheduled ``monitor-events`` deployment, or here
by a ``monitor-event`` sub-flow with ``monitor: {mode: inline}``);
requests whose plan window closed become ``expired``. The run is Failed while a
queue still refuses, or when requests expired, and Completed otherwise.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from ..runs.budgets import CIRCULAR_MARGIN, RESUBMIT_TIMEOUT
from ..tasks.event_view import publish_event_view
from ..tasks.monitor import watch
from ..tasks.resubmit import resubmit
from .monitor import monitor_event, monitor_mode

__all__ = ["resubmit_unsent_flow"]


@flow(name="resubmit-unsent", flow_run_name="resubmit-unsent", timeout_seconds=RESUBMIT_TIMEOUT)
def resubmit_unsent_flow(now: dt.datetime | None = None,
                         monitor: bool = True) -> dict[str, Any] | State:
    """Send every ``unsent`` request again while its plan window is open.

    Parameters
    ----------
    now : datetime, optional
        Current time compared with the plan windows (default: now).
    monitor : bool
        Start a monitor for the events whose requests a queue accepted now.

    Returns
    -------
    dict or State
        The :class:`~tooflow.stages.submit.ResubmitResult` as a dict; a Failed
        state carrying it when requests are still unsent or expired.
    """
    from ..runs.logs import send_tooflow_logs_to_prefect
    from ..stages.submit import submitted_programs
    from ..tasks._context import context

    send_tooflow_logs_to_prefect()
    logger = get_run_logger()
    started = time.monotonic()
    result = resubmit(now)
    for label, n in result["submitted"].items():
        logger.info("%s: %d request(s) accepted by the queue now", label, n)
    for label, n in result["cancelled"].items():
        logger.info("%s: %d unsent request(s) dropped (plan superseded or event retracted)",
                    label, n)
    for label, n in result["expired"].items():
        logger.error("%s: %d request(s) never accepted before their window closed", label, n)
    for label, error in result["errors"].items():
        logger.error("%s: %d request(s) still not accepted: %s", label,
                     result["still_unsent"].get(label, 0), error)
    engine = context()[1]
    touched = set(result["events"])
    for event_pk in sorted(touched):
        event_id, programs = submitted_programs(event_pk, engine=engine)
        if monitor and programs:
            watch(event_pk, event_id, programs, None, True)
            if monitor_mode() == "inline":  # stops in time to draft inside this run's budget
                left = RESUBMIT_TIMEOUT - (time.monotonic() - started) - CIRCULAR_MARGIN
                monitor_event(event_pk, event_id, wall_cap=max(0.0, left))
                continue
        publish_event_view(event_pk, event_id, return_state=True)
    problems = [f"{label}: {error}" for label, error in result["errors"].items()]
    problems += [f"{label}: {n} request(s) expired unsent" for label, n in
                 result["expired"].items()]
    if problems:
        return Failed(message="; ".join(problems), data=result)
    return result
