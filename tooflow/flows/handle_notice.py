"""The ``handle-notice`` flow: one run per incoming notice.

parse → gate → (notify → plan → submit → monitor → circular for triggered programs).
Each step is a thin task over a plain, tested function; ids pass between them.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from ..tasks.gate import gate
from ..tasks.parse import parse

__all__ = ["handle_notice"]


def _rename_run(name: str) -> None:
    """Give the flow run a name an astronomer recognises (best effort)."""
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)
    except Exception:  # noqa: BLE001 - a cosmetic rename must never fail the flow
        pass


@flow(name="handle-notice", flow_run_name="notice-{notice_id}", log_prints=False)
def handle_notice(notice_id: int) -> dict[str, Any]:
    """Handle one stored notice, from parsing to the circular draft.

    Parameters
    ----------
    notice_id : int
        Id of the row in the ``notice`` table (stored by a listener or
        ``tooflow ingest``).

    Returns
    -------
    dict
        A short summary: event id, notice type, rejection reason or the
        gate decisions.
    """
    logger = get_run_logger()
    parsed = parse(notice_id)
    if parsed.rejected:
        logger.warning("notice %s rejected: %s", notice_id, parsed.reason)
        return {"notice_id": notice_id, "rejected": True, "reason": parsed.reason}
    run_name = f"{parsed.event_id}-{(parsed.notice_type or 'notice').lower()}-n{notice_id}"
    _rename_run(run_name)

    decisions = gate(notice_id, parsed.event_id, parsed.notice_type)
    triggered = [d.program for d in decisions if d.triggered]
    logger.info("%s %s: triggered %s", parsed.event_id, parsed.notice_type,
                ", ".join(triggered) or "no program")
    return {
        "notice_id": notice_id,
        "rejected": False,
        "event_id": parsed.event_id,
        "notice_type": parsed.notice_type,
        "fields": parsed.summary,
        "decisions": [d.__dict__ for d in decisions],
        "triggered": triggered,
        "flow_run_name": run_name,
    }
