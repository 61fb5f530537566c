"""Task: parse a stored notice and record its event and localization."""

from __future__ import annotations

from prefect import task

from ..db.retry import database_retries
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.parse import ParseOutcome, parse_stored_notice

__all__ = ["parse"]


@task(name="parse", timeout_seconds=TASK_TIMEOUTS["parse"],
      task_run_name="parse-notice-{notice_id}")
@database_retries("parse")
def parse(notice_id: int) -> ParseOutcome:
    """Parse notice ``notice_id`` (a corrupt notice is recorded as rejected, not retried)."""
    return parse_stored_notice(notice_id)
