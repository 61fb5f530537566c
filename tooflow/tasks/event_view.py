"""Task: publish the event's page (:mod:`tooflow.views.event`) as one Prefect artifact."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from sqlmodel import Session

from ..db.retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..views.event import load_event_view, render_markdown
from ._context import artifact_key, context

__all__ = ["publish_event_view", "ui_base_url"]


def ui_base_url() -> str | None:
    """The Prefect UI's base URL for links (from PREFECT_UI_URL / PREFECT_API_URL)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    if ui:
        return str(ui).rstrip("/")
    api = PREFECT_API_URL.value()
    return str(api).rstrip("/").removesuffix("/api") if api else None


@task(name="event-view", task_run_name="event-view-{event_id}",
      timeout_seconds=TASK_TIMEOUTS["event_view"])
@database_retries("event view")
def publish_event_view(event_pk: int, event_id: str) -> str:
    """Create the next version of artifact ``event-<event id>``; returns its key.

    The key is stable per event, so the Artifacts page keeps one entry per
    event whose latest version is the event as it stands now.
    """
    settings, engine = context()
    with Session(engine) as session:
        view = load_event_view(session, event_id, ui_base=ui_base_url(), settings=settings)
    key = artifact_key("event", event_id)
    create_markdown_artifact(markdown=render_markdown(view), key=key,
                             description=f"{event_id}: everything tooflow knows, as it stands")
    return key
