"""The ``monitor-event`` flow: poll the queues until the plans are done, then draft.

It has a lifetime of its own (the plan window: up to days with real telescopes),
so ``handle-notice`` runs it as a sub-flow in the embedded default and, with
``monitor: {mode: deployment}``, hands it to the ``monitor-event`` deployment
(:func:`start_monitor_deployment`) and finishes.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from ..records.event import monitor_handed_over
from ..runs.budgets import MONITOR_EVENT_TIMEOUT
from ..runs.failures import record_event_failure
from ..stages.monitor import monitor_budget
from ..tasks._context import artifact_key, context
from ..tasks.circular import circular
from ..tasks.event_view import publish_event_view
from ..tasks.monitor import poll
from ..tasks.notify import notify

__all__ = ["monitor_event", "monitor_mode", "start_monitor_deployment", "MONITOR_DEPLOYMENT"]

MONITOR_DEPLOYMENT = "monitor-event/monitor-event"


def monitor_mode() -> str:
    """``inline`` (a sub-flow: the embedded default) or ``deployment`` (monitor.mode)."""
    from ..config import load_settings

    return load_settings().monitor.mode


def start_monitor_deployment(event_pk: int, event_id: str, programs: list[str],
                             notice_id: int, idempotency_key: str | None = None) -> str:
    """Start the ``monitor-event`` deployment for an event; return the flow run id.

    One monitor run per notice that submitted plans: a re-run of the same
    notice gets the same monitor run back (idempotency key; another key, e.g.
    for requests a queue accepted later, starts another run).
    """
    from prefect.deployments import run_deployment

    run = run_deployment(MONITOR_DEPLOYMENT, timeout=0, as_subflow=False,
                         parameters={"event_pk": event_pk, "event_id": event_id,
                                     "programs": programs,
                                     # 0: not a notice's monitor (resubmit): never hands over
                                     "notice_id": notice_id or None},
                         idempotency_key=idempotency_key
                         or f"monitor-event{event_pk}-notice{notice_id}")
    return str(run.id)


@flow(name="monitor-event", flow_run_name="monitor-{event_id}",
      timeout_seconds=MONITOR_EVENT_TIMEOUT)
def monitor_event(event_pk: int, event_id: str, programs: list[str] | None = None,
                  poll_seconds: float = 2.0, max_wall_seconds: float | None = None,
                  wall_cap: float | None = None, notice_id: int | None = None) -> dict:
    """Poll an event's queue requests, record executed observations and coverage.

    Then draft the GCN Circular of each program in ``programs`` and tell the
    on-duty astronomers it is ready.

    Parameters
    ----------
    event_pk, event_id : int, str
        The event (database id and name).
    programs : list of str, optional
        Programs whose observations the circular drafts report.
    poll_seconds : float
        Seconds between polls.
    max_wall_seconds : float, optional
        Stop after this long; default: until the latest plan window closes
        (accelerated for the simulator, see :func:`tooflow.stages.monitor.monitor_budget`).
    wall_cap : float, optional
        Never poll longer than this (seconds), whatever the plan window: what is
        left of the calling ``handle-notice`` run's budget when run inline.
    notice_id : int, optional
        The notice whose run started this monitor: when a later notice of the
        event has submitted plans of its own (and so monitors), this one stops
        without drafting (one monitor and one draft per event at a time).

    Returns
    -------
    dict
        ``progress``: the last :class:`~tooflow.stages.monitor.Progress` as a dict;
        ``circulars``: draft id per program; ``handed_over_to``: the later
        notice whose monitor took over, if one did.

    Raises
    ------
    Exception
        Whatever failed, after recording it on the event (``last_error``; a run
        of the ``monitor-event`` deployment has no notice of its own).
    """
    try:
        return _monitor(event_pk, event_id, programs, poll_seconds, max_wall_seconds,
                        wall_cap, notice_id)
    except Exception as exc:
        reason = record_event_failure(event_pk, "monitor", exc)
        get_run_logger().error("%s: %s", event_id, reason)
        raise


def _monitor(event_pk: int, event_id: str, programs: list[str] | None, poll_seconds: float,
             max_wall_seconds: float | None, wall_cap: float | None,
             notice_id: int | None) -> dict:
    logger = get_run_logger()
    settings, engine = context()
    budget = max_wall_seconds if max_wall_seconds is not None else monitor_budget(
        event_pk, engine=engine, settings=settings)
    if wall_cap is not None and budget > wall_cap:
        logger.warning("%s: monitoring stops after %.0f s, before the plan window closes "
                       "(%.0f s): the handle-notice budget; set monitor.mode: deployment "
                       "to monitor whole windows", event_id, wall_cap, budget)
        budget = wall_cap
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
        newer = monitor_handed_over(event_pk, notice_id) if notice_id is not None else None
        if newer is not None:  # a later notice's run monitors the event now
            logger.info("%s: notice #%s has re-planned and monitors the event; this "
                        "monitor stops without a draft", event_id, newer)
            return {"progress": progress, "circulars": {}, "handed_over_to": newer}
        time.sleep(poll_seconds)
    logger.info("%s: %d executed, %d open, %d failed; probability covered %.1f %%", event_id,
                progress["executed"], progress["open"], progress["failed"],
                100 * progress["coverage"].get("total", 0.0))
    drafts = {p: circular(event_pk, event_id, p, progress["coverage"], progress["area"])
              for p in programs or []}
    if drafts:
        notify(event_pk, "circular_ready", list(drafts))
    if progress.get("unsent"):
        logger.warning("%s: %d request(s) still not accepted by their queue (retried by "
                       "`tooflow reconcile` / resubmit-unsent)", event_id, progress["unsent"])
    publish_event_view(event_pk, event_id, return_state=True)  # a page not updated: its task
    return {"progress": progress, "circulars": drafts}
