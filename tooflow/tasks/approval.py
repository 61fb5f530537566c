"""Task: a plan of an ``approval: required`` program waits for a person's decision."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from ..runs.budgets import TASK_TIMEOUTS
from ..stages.approval import await_plan_approval
from ._context import context

__all__ = ["approval"]


@task(name="approval", timeout_seconds=TASK_TIMEOUTS["approval"],
      task_run_name="approval-{program}")
def approval(event_pk: int, event_id: str, plan_id: int, program: str) -> str:
    """Ask for a decision on the plan and wait for it; returns ``approved``/``rejected``."""
    settings, engine = context()
    logger = get_run_logger()
    return await_plan_approval(event_pk, event_id, plan_id, program, engine=engine,
                               settings=settings, flow_run_url=flow_run.ui_url,
                               log=logger.info)
