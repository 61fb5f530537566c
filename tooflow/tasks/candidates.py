"""Tasks of the candidate flow: parse a batch, score it for each event, publish the table."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from ..runs.budgets import TASK_TIMEOUTS
from ._context import artifact_key, context

__all__ = ["parse_alerts", "publish_candidates", "score_event"]


@task(name="candidates-parse", timeout_seconds=TASK_TIMEOUTS["candidates_parse"])
def parse_alerts(alert_ids: list[int]) -> dict[str, Any]:
    """Parse the stored alerts of a batch (already parsed ones are read back).

    Returns
    -------
    dict
        ``candidate_ids``, ``rejected`` ({alert id: reason}) and ``events``
        (pks of the events the batch may belong to).
    """
    from sqlmodel import Session

    from ..candidates.scoring import events_for_candidates
    from ..candidates.store import process_alerts

    _settings, engine = context()
    ids: list[int] = []
    rejected: dict[int, str] = {}
    for out in process_alerts(alert_ids, engine=engine):
        if out.status == "rejected":
            rejected[out.alert_id] = out.reason or "rejected"
        ids.extend(i for i in out.candidate_ids if i not in ids)
    with Session(engine) as session:
        events = events_for_candidates(session, ids)
    return {"candidate_ids": ids, "rejected": rejected, "events": events}


@task(name="candidates-score", task_run_name="candidates-score-{event_pk}",
      timeout_seconds=TASK_TIMEOUTS["candidates_score"])
def score_event(event_pk: int, candidate_ids: list[int] | None,
                flow_run_id: str | None = None) -> dict[str, Any]:
    """Associate and rank for one event, record, notify above the threshold (once)."""
    from ..candidates.scoring import notify_candidates, score_event_candidates

    settings, engine = context()
    result = score_event_candidates(event_pk, engine=engine, settings=settings,
                                    candidate_ids=candidate_ids, flow_run_id=flow_run_id)
    notified = notify_candidates(event_pk, engine=engine, settings=settings)
    return {"event_id": result.event_id, "considered": result.considered,
            "associated": result.associated, "listed": result.listed, "top": result.top,
            "skipped": result.skipped, "notified": notified}


@task(name="candidates-view", task_run_name="candidates-view-{event_id}",
      timeout_seconds=TASK_TIMEOUTS["candidates_view"])
def publish_candidates(event_id: str) -> str:
    """Artifact ``candidates-<event id>``: the top candidates with difference thumbnails."""
    from sqlmodel import Session, select

    from ..candidates.config import CandidateConfig
    from ..candidates.plots import thumbnail_data_uri
    from ..candidates.views import event_candidates, render_ranked_markdown
    from ..models import Candidate, CandidateCutout

    settings, engine = context()
    top = CandidateConfig.from_settings(settings).top
    ranked = event_candidates(event_id, limit=top, engine=engine)
    thumbs: dict[str, str | None] = {}
    with Session(engine) as session:
        for r in ranked:
            cand = session.exec(select(Candidate).where(Candidate.name == r.name)).first()
            cut = session.exec(select(CandidateCutout).where(
                CandidateCutout.alert_id == cand.latest_alert_id,
                CandidateCutout.kind == "difference")).first() if cand.latest_alert_id else None
            thumbs[r.name] = thumbnail_data_uri(cut.data) if cut else None
    key = artifact_key("candidates", event_id)
    create_markdown_artifact(markdown=render_ranked_markdown(event_id, ranked, thumbnails=thumbs,
                                                             top=top),
                             key=key, description=f"{event_id}: top candidates")
    return key
