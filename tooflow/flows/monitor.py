"""The monitor of an event's queued observations: one per event, polled, drafted once.

Every run that submits plans opens the event's monitor (one
:class:`~tooflow.models.EventMonitor` row per event, whichever notice queued
what: :mod:`tooflow.stages.event_monitor`). Two ways to follow it:

``monitor: {mode: deployment}`` (production)
    ``handle-notice`` ends at submission. The ``monitor-events`` deployment,
    on a schedule (prefect.yaml: every 5 minutes, one run at a time), polls
    every event still watched once per run — one ``poll`` task run per event
    per run — and drafts an event's circulars when no request is open any
    more or its plan window closed.
``monitor: {mode: inline}`` (the default: ``tooflow ingest``)
    ``handle-notice`` runs ``monitor-event`` as a sub-flow for its event: the
    same polls, spaced ``monitor.poll_every`` seconds of the facility's clock
    (at least 2 s of wall clock: the embedded simulator's clock is
    accelerated), then the same draft.

The scheduled monitor runs in another process than the run that queued the
requests, so it needs queues that every process reaches: a telescope observed
by the simulator served inside a process cannot be monitored from another one.
:func:`check_monitor_placement` refuses that combination before anything is
queued.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.states import Failed, State

from ..config import Settings
from ..records.event import monitor_handed_over
from ..runs.budgets import MONITOR_EVENT_TIMEOUT, MONITOR_EVENTS_TIMEOUT
from ..runs.failures import record_event_failure
from ..stages.event_monitor import (
    Verdict,
    claim_draft,
    load_monitor,
    record_poll,
    reopen_monitor,
    watched_events,
)
from ..tasks._context import artifact_key, context
from ..tasks.circular import circular
from ..tasks.event_view import publish_event_view
from ..tasks.monitor import poll
from ..tasks.notify import notify

__all__ = ["MONITOR_DEPLOYMENT", "MonitorPlacementError", "check_monitor_placement",
           "monitor_event", "monitor_events", "monitor_mode", "simulated_in_process"]

#: The scheduled deployment that polls every watched event (prefect.yaml).
MONITOR_DEPLOYMENT = "monitor-events/monitor-events"


class MonitorPlacementError(RuntimeError):
    """The monitor would run in another process than the simulator that holds the requests."""


def monitor_mode(settings: Settings | None = None) -> str:
    """``inline`` (a sub-flow: the embedded default) or ``deployment`` (monitor.mode)."""
    from ..config import load_settings

    return (settings or load_settings()).monitor.mode


def simulated_in_process(settings: Settings) -> list[str]:
    """Telescopes of the configured programs observed by a simulator served in-process.

    Those have no ``facilities`` entry with a real adapter and there is no
    ``facilities.simulator.url``: each process that submits or polls starts
    its own simulator, which knows only its own requests.
    """
    from ..facilities.routing import is_real_queue
    from ..programs import load_programs

    if settings.facilities.simulator.url:
        return []
    telescopes = {t for p in load_programs(settings.resolved_programs_file)
                  for t in p.telescopes}
    return sorted(t for t in telescopes if not is_real_queue(t, settings))


def check_monitor_placement(settings: Settings, mode: str | None = None) -> None:
    """Refuse a scheduled monitor with telescopes simulated in-process, before anything is queued.

    Parameters
    ----------
    settings : Settings
        The configuration to check.
    mode : str, optional
        The monitor mode (default: ``monitor.mode`` of ``settings``).

    Raises
    ------
    MonitorPlacementError
        With ``monitor.mode: deployment`` while a telescope is observed by a
        simulator served inside each process (no ``facilities.simulator.url``).
    """
    mode = mode or monitor_mode(settings)
    if mode != "deployment":
        return
    telescopes = simulated_in_process(settings)
    if telescopes:
        raise MonitorPlacementError(
            f"monitor.mode: deployment polls the queues from the scheduled monitor-events "
            f"deployment, in another process than the handle-notice run that queued the "
            f"requests, but {', '.join(telescopes)} would be observed by a telescope "
            "simulator served inside each process (no facilities.simulator.url), which "
            "knows only its own requests. Run the simulator as a service (`tooflow "
            "simulator serve`, then facilities: {simulator: {url: http://HOST:8765}}), "
            "give those telescopes their real queues, or set monitor.mode: inline "
            "(one process: `tooflow ingest`)")


@flow(name="monitor-event", flow_run_name="monitor-{event_id}",
      timeout_seconds=MONITOR_EVENT_TIMEOUT)
def monitor_event(event_pk: int, event_id: str, poll_seconds: float | None = None,
                  wall_cap: float | None = None, notice_id: int | None = None) -> dict:
    """Follow one event's monitor in this process until its work is finished, then draft.

    The inline form of the monitor (``monitor.mode: inline``): the event's
    monitor must be open (:func:`tooflow.stages.event_monitor.open_monitor`).

    Parameters
    ----------
    event_pk, event_id : int, str
        The event (database id and name).
    poll_seconds : float, optional
        Wall-clock seconds between polls (default: the monitor's interval,
        ``monitor.poll_every`` of the facility's clock, at least 2 s).
    wall_cap : float, optional
        Never poll longer than this (seconds), whatever the plan window: what is
        left of the calling ``handle-notice`` run's budget.
    notice_id : int, optional
        The notice whose run follows the event: once a later notice of the
        event has submitted plans of its own (and so follows the event), this
        one stops without drafting.

    Returns
    -------
    dict
        ``progress``: the last :class:`~tooflow.stages.monitor.Progress` as a dict;
        ``circulars``: draft id per program (empty when another monitor drafted);
        ``polls``: polls of the event so far; ``handed_over_to``: the later
        notice whose run took over, if one did.

    Raises
    ------
    Exception
        Whatever failed, after recording it on the event (``last_error``).
    """
    try:
        return _follow(event_pk, event_id, poll_seconds, wall_cap, notice_id)
    except Exception as exc:
        reason = record_event_failure(event_pk, "monitor", exc)
        get_run_logger().error("%s: %s", event_id, reason)
        raise


def _follow(event_pk: int, event_id: str, poll_seconds: float | None, wall_cap: float | None,
            notice_id: int | None) -> dict:
    logger = get_run_logger()
    engine = context()[1]
    row = load_monitor(event_pk, engine=engine)
    if row is None:
        raise LookupError(f"{event_id} has no monitor open: nothing was submitted")
    window = max(0.0, (row.closes - dt.datetime.now(dt.UTC)).total_seconds())
    budget = window
    if wall_cap is not None and window > wall_cap:
        logger.warning("%s: monitoring stops after %.0f s, before the plan window closes "
                       "(%.0f s): the handle-notice budget; set monitor.mode: deployment "
                       "to monitor whole windows", event_id, wall_cap, window)
        budget = wall_cap
    interval = poll_seconds if poll_seconds is not None else row.interval
    stop_at = time.monotonic() + budget
    artifact = create_progress_artifact(0.0, key=artifact_key("progress", event_id),
                                        description=f"Requests done for {event_id}")
    while True:
        progress = poll(event_pk, event_id)
        verdict = record_poll(event_pk, progress["open"], engine=engine)
        _report(progress, artifact)
        left = stop_at - time.monotonic()
        if verdict.finished or left <= 0:
            break
        newer = monitor_handed_over(event_pk, notice_id) if notice_id is not None else None
        if newer is not None:  # a later notice's run follows the event now
            logger.info("%s: notice #%s has re-planned and follows the event; this "
                        "monitor stops without a draft", event_id, newer)
            return {"progress": progress, "circulars": {}, "polls": verdict.polls,
                    "handed_over_to": newer}
        time.sleep(min(interval, left))
    drafts = _finish(event_pk, event_id, progress, verdict)
    _sweep_locks()
    return {"progress": progress, "circulars": drafts, "polls": verdict.polls}


def _report(progress: dict, artifact=None) -> None:
    total = sum(progress[k] for k in ("open", "completed", "failed", "cancelled"))
    if artifact is not None:
        update_progress_artifact(artifact, 100.0 * (total - progress["open"]) / total
                                 if total else 100.0)
    for tel, err in progress["errors"].items():
        get_run_logger().warning("%s: %s", tel, err)


def _finish(event_pk: int, event_id: str, progress: dict, verdict: Verdict) -> dict[str, int]:
    """Draft each program's circular once (if this caller wins the claim); notify; page."""
    logger = get_run_logger()
    engine = context()[1]
    logger.info("%s: %d executed, %d open, %d failed; probability covered %.1f %% (%s after "
                "%d poll(s))", event_id, progress["executed"], progress["open"],
                progress["failed"], 100 * progress["coverage"].get("total", 0.0),
                verdict.reason if verdict.finished else "stopped", verdict.polls)
    if not claim_draft(event_pk, verdict.generation, engine=engine):
        logger.info("%s: not drafting: drafted by another monitor, or new requests were "
                    "queued since (the monitor follows them)", event_id)
        return {}
    try:
        drafts = {p: circular(event_pk, event_id, p, progress["coverage"], progress["area"])
                  for p in verdict.programs}
        if drafts:
            notify(event_pk, "circular_ready", list(drafts))
    except Exception:
        reopen_monitor(event_pk, verdict.generation, engine=engine)  # drafted next time
        raise
    if progress.get("unsent"):
        logger.warning("%s: %d request(s) still not accepted by their queue (retried by "
                       "`tooflow reconcile` / resubmit-unsent)", event_id, progress["unsent"])
    publish_event_view(event_pk, event_id, return_state=True)  # a page not updated: its task
    return drafts


def _sweep_locks() -> None:
    """Delete the per-event concurrency limits no run needs any more (best effort)."""
    from .event_lock import sweep_event_locks

    try:
        deleted = sweep_event_locks(engine=context()[1])
    except Exception as exc:  # noqa: BLE001 - housekeeping never fails a monitor
        get_run_logger().warning("per-event concurrency limits not swept: %s", exc)
        return
    if deleted:
        get_run_logger().info("deleted %d idle per-event concurrency limit(s): %s",
                              len(deleted), ", ".join(deleted))


@flow(name="monitor-events", flow_run_name="monitor-events",
      timeout_seconds=MONITOR_EVENTS_TIMEOUT)
def monitor_events() -> dict[str, Any] | State:
    """Poll every watched event once; draft the circulars of those whose work is finished.

    The scheduled monitor (``monitor.mode: deployment``; prefect.yaml runs it
    every 5 minutes, one run at a time): one ``poll`` task run per watched
    event, whatever the number of notices that queued its requests. With
    ``monitor.mode: inline`` the runs that queued follow their events
    themselves and this flow only deletes idle per-event concurrency limits.

    Returns
    -------
    dict or State
        Per event id: ``polls`` so far, ``state`` (``open``, ``done``, ``window
        closed``) and ``circulars`` drafted now; a Failed state carrying it
        when an event could not be polled or drafted (recorded on the event).

    Raises
    ------
    MonitorPlacementError
        At once, when the configured telescopes are simulated in-process
        (:func:`check_monitor_placement`).
    """
    from ..runs.logs import send_tooflow_logs_to_prefect

    send_tooflow_logs_to_prefect()
    logger = get_run_logger()
    settings, engine = context()
    if monitor_mode(settings) != "deployment":
        logger.info("monitor.mode is inline: each handle-notice run follows its event")
        _sweep_locks()
        return {"events": {}, "errors": {}}
    check_monitor_placement(settings)
    events: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for event_pk, event_id in watched_events(engine=engine):
        try:
            progress = poll(event_pk, event_id)
            verdict = record_poll(event_pk, progress["open"], engine=engine)
            _report(progress)
            drafts = _finish(event_pk, event_id, progress, verdict) if verdict.finished else {}
        except Exception as exc:  # noqa: BLE001 - the other events are still polled
            errors[event_id] = record_event_failure(event_pk, "monitor", exc)
            logger.error("%s: %s", event_id, errors[event_id])
            continue
        events[event_id] = {"polls": verdict.polls, "state": verdict.reason,
                            "circulars": drafts}
    _sweep_locks()
    result = {"events": events, "errors": errors}
    if errors:
        return Failed(message="; ".join(f"{e}: {r}" for e, r in errors.items()), data=result)
    return result
