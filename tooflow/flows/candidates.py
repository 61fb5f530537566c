"""The ``handle-candidates`` flow: a batch of candidate alerts (an exposure's, a file's).

Parse the stored alerts (:mod:`tooflow.candidates.store`), then for every
event the batch may belong to (a sky map, an event time at most
``ACTIVE_DAYS`` before the detections) associate and rank the batch's
candidates (:mod:`tooflow.candidates.association`, :mod:`~tooflow.candidates.ranking`),
record the scores, notify above the threshold once, and publish the event's
top-candidates table (artifact ``candidates-<event id>``). A task that cannot
do its work fails the run (red), with the reason in its state.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from ..runs.budgets import CANDIDATE_BATCH_TIMEOUT
from ..tasks.candidates import parse_alerts, publish_candidates, score_event

__all__ = ["handle_candidates"]


@flow(name="handle-candidates", timeout_seconds=CANDIDATE_BATCH_TIMEOUT)
def handle_candidates(alert_ids: list[int], event_ids: list[str] | None = None) -> dict[str, Any]:
    """Parse, associate, score and record one batch of candidate alerts.

    Parameters
    ----------
    alert_ids : list of int
        Stored ``candidate_alert`` rows (:func:`tooflow.candidates.store.store_alert`).
    event_ids : list of str, optional
        Score for these events only (default: every active event).

    Returns
    -------
    dict
        Per event: considered, associated, listed, the top scores, who was notified.
    """
    from sqlmodel import Session, select

    from ..models import Event
    from ..tasks._context import context

    parsed = parse_alerts(alert_ids)
    events = parsed["events"]
    if event_ids is not None:
        _settings, engine = context()
        with Session(engine) as session:
            events = [e.id for e in session.exec(
                select(Event).where(Event.event_id.in_(event_ids))).all()]
    run_id = str(flow_run.get_id() or "") or None
    summary: dict[str, Any] = {"alerts": len(alert_ids), "rejected": parsed["rejected"],
                               "candidates": len(parsed["candidate_ids"]), "events": {}}
    failed: list[str] = []
    for event_pk in events:  # one event's failure does not stop the others
        state = score_event(event_pk, parsed["candidate_ids"], run_id, return_state=True)
        if not state.is_completed():
            failed.append(f"event #{event_pk}: {state.message}")
            continue
        scored = state.result()
        publish_candidates(scored["event_id"])
        summary["events"][scored["event_id"]] = scored
    if failed:  # red, with the reason; the events that could be scored are recorded
        raise RuntimeError(f"scoring failed for {len(failed)} event(s): " + "; ".join(failed))
    return summary
