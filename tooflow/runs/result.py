"""What one ``handle-notice`` run did: the flow's return value, typed.

Read by ``tooflow ingest`` (:mod:`tooflow.cli.ingest`), the terminal summary
(:func:`tooflow.views.summary.format_followup`), ``tooflow rerun`` and the
tests; ids and small summaries only, as everything between tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["HandledNotice"]


@dataclass
class HandledNotice:
    """The result of one ``handle-notice`` run.

    Attributes
    ----------
    notice_id : int
        The notice handled.
    rejected : bool
        The notice could not be used (``reason`` says why); nothing else ran.
    reason : str, optional
        Why it was rejected, or why the run failed.
    failed : bool
        The run ended Failed (a queue did not take its requests, or a stage raised).
    event_id, notice_type : str, optional
        The event and the notice's type, once parsed.
    fields : dict
        The event's fields (what the gate evaluated and the summary prints).
    flow_run_name, flow_run_url : str, optional
        The run, as named and linked in the Prefect UI.
    superseded_by : int, optional
        A later notice of the event already applied; nothing was done here.
    decisions : list of dict
        The gate's decisions (``program``, ``triggered``, ``reason``).
    triggered : list of str
        Programs the notice triggered.
    cancelled : dict, optional
        A retraction: requests cancelled per telescope.
    plans : dict
        Plan id per triggered program (None: nothing to plan, no sky map).
    approvals : dict
        Per program with ``approval: required``: ``approved`` or ``rejected``
        (a rejected plan is not submitted).
    submitted : dict
        Per program, the submission result (``submitted``, ``already_queued``,
        ``errors``, ``unsent``, ``held`` per telescope).
    submit_errors : dict
        Per program whose submission failed, why.
    not_observable : dict
        Per program whose plan has no exposure, why and when next observable.
    monitor : str, optional
        Who follows the event's queued observations: ``scheduled`` (the
        ``monitor-events`` deployment; ``monitor: {mode: deployment}``, this run
        ended at submission) or ``inline`` (this run did).
    progress : dict, optional
        The inline monitor's last progress (open, executed, coverage …).
    polls : int, optional
        Polls of the event's queues so far (the inline monitor's count).
    circulars : dict
        Circular draft id per program.
    handed_over_to : int, optional
        The later notice whose run took over the monitoring.
    """

    notice_id: int
    rejected: bool = False
    reason: str | None = None
    failed: bool = False
    event_id: str | None = None
    notice_type: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    flow_run_name: str | None = None
    flow_run_url: str | None = None
    superseded_by: int | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    triggered: list[str] = field(default_factory=list)
    cancelled: dict[str, int] | None = None
    plans: dict[str, int | None] = field(default_factory=dict)
    approvals: dict[str, str] = field(default_factory=dict)
    submitted: dict[str, dict[str, Any]] = field(default_factory=dict)
    submit_errors: dict[str, str] = field(default_factory=dict)
    not_observable: dict[str, str] = field(default_factory=dict)
    monitor: str | None = None
    progress: dict[str, Any] | None = None
    polls: int | None = None
    circulars: dict[str, int] = field(default_factory=dict)
    handed_over_to: int | None = None
