"""Task: decide which science programs a notice triggers, and show why."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact

from ..db.retry import database_retries
from ..programs import Decision
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.gate import gate_notice
from ._context import artifact_key

__all__ = ["gate", "decisions_markdown"]


def decisions_markdown(event_id: str, notice_type: str | None,
                       decisions: list[Decision]) -> str:
    """A markdown table of gate decisions for the Prefect UI."""
    lines = [f"### Gate: {event_id} {notice_type or ''}".rstrip(), "",
             "| program | triggered | why |", "| --- | --- | --- |"]
    for d in decisions:
        reason = d.reason.replace("|", "\\|")
        lines.append(f"| {d.program} | {'**yes**' if d.triggered else 'no'} | {reason} |")
    return "\n".join(lines)


@task(name="gate", timeout_seconds=TASK_TIMEOUTS["gate"],
      task_run_name="gate-notice-{notice_id}")
@database_retries("gate")
def gate(notice_id: int, event_id: str, notice_type: str | None) -> list[Decision]:
    """Gate notice ``notice_id``; publish the decisions as a markdown artifact."""
    decisions = gate_notice(notice_id)
    create_markdown_artifact(
        markdown=decisions_markdown(event_id, notice_type, decisions),
        key=artifact_key("gate", event_id),
        description=f"Gate decisions for {event_id}",
    )
    return decisions

