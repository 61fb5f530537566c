"""The ``monitor-event`` flow: poll the queues until the plan is done or its window ends."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from ..stages.monitor import monitor_budget
from ..tasks._context import artifact_key, context
from ..tasks.monitor import poll

__all__ = ["monitor_event"]


@flow(name="monitor-event", flow_run_name="monitor-{event_id}")
def monitor_event(event_pk: int, event_id: str, poll_seconds: float = 2.0,
                  max_wall_seconds: float | None = None) -> dict:
    """Poll an event's queue requests, record executed observations and coverage.

    Parameters
    ----------
    event_pk, event_id : int, str
        The event (database id and name).
    poll_seconds : float
        Seconds between polls.
    max_wall_seconds : float, optional
        Stop after this long; default: until the latest plan window closes
        (accelerated for the simulator, see :func:`tooflow.stages.monitor.monitor_budget`).

    Returns
    -------
    dict
        The last :class:`~tooflow.stages.monitor.Progress`, as a dict.
    """
    logger = get_run_logger()
    settings, engine = context()
    budget = max_wall_seconds if max_wall_seconds is not None else monitor_budget(
        event_pk, engine=engine, settings=settings)
    deadline = time.monotonic() + budget
    artifact = create_progress_artifact(0.0, key=artifact_key("progress", event_id),
                                        description=f"Requests done for {event_id}")
    while True:
        progress = poll(event_pk)
        total = sum(progress[k] for k in ("open", "completed", "failed", "cancelled"))
        done = total - progress["open"]
        update_progress_artifact(artifact, 100.0 * done / total if total else 100.0)
        for tel, err in progress["errors"].items():
            logger.warning("%s: %s", tel, err)
        if progress["open"] == 0 or time.monotonic() >= deadline:
            break
        time.sleep(poll_seconds)
    logger.info("%s: %d executed, %d open, %d failed; probability covered %.1f %%", event_id,
                progress["executed"], progress["open"], progress["failed"],
                100 * progress["coverage"].get("total", 0.0))
    return progress
