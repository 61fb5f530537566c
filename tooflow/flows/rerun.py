"""The ``rerun`` flow: run ``handle-notice`` again for an event, from the Prefect UI.

The deployment's Run button asks for ``event_id`` (and optionally ``notice_id``);
the flow picks the event's latest notice and runs ``handle-notice`` on it as a
sub-flow, so the run graph shows the whole re-run. Queue submissions that exist
already are not repeated (request keys in the submission layer).
"""

from __future__ import annotations

from prefect import flow

from ..intake.rerun import rerun_notice_id
from ..runs.budgets import RERUN_TIMEOUT
from ..runs.result import HandledNotice
from .handle_notice import handle_notice

__all__ = ["rerun"]


@flow(name="rerun", flow_run_name="rerun-{event_id}", timeout_seconds=RERUN_TIMEOUT)
def rerun(event_id: str, notice_id: int | None = None) -> HandledNotice:
    """Run the per-notice flow again for ``event_id`` (e.g. ``S230518h``).

    Parameters
    ----------
    event_id : str
        The event (superevent id, ``Fermi-GBM-<trigger>``, ``EP-<id>``...).
    notice_id : int, optional
        A notice of that event; default: its latest.

    Returns
    -------
    HandledNotice
        What the ``handle-notice`` sub-flow did.
    """
    return handle_notice(rerun_notice_id(event_id, notice_id))
