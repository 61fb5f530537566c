"""Task: draft the GCN Circular and publish it for review."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact

from ..models import CircularDraft
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.circular import draft_circular
from ._context import artifact_key, context

__all__ = ["circular"]


@task(name="circular", timeout_seconds=TASK_TIMEOUTS["circular"],
      task_run_name="circular-{program}")
def circular(event_pk: int, event_id: str, program: str, coverage: dict[str, float],
             area: dict[str, float]) -> int:
    """Render and store the draft; returns its id."""
    from sqlmodel import Session

    settings, engine = context()
    draft_id = draft_circular(event_pk, program, engine=engine, settings=settings,
                              coverage=coverage, area=area)
    with Session(engine) as session:
        draft = session.get(CircularDraft, draft_id)
        create_markdown_artifact(
            markdown=f"### GCN Circular draft\n\n```\nSUBJECT: {draft.subject}\n\n"
                     f"{draft.body}\n```",
            key=artifact_key("circular", event_id), description=f"Draft for {event_id}")
    return draft_id
