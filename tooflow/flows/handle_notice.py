"""The ``handle-notice`` flow: one run per incoming notice.

parse → gate → first light → notify → plan → submit → monitor → circular
(first light: a fast plan queued at once, before the on-duty astronomers are
told, then the optimal one replacing it, :mod:`tooflow.flows.plan_submit`). Each step is a thin
task over a plain, tested function (:mod:`tooflow.stages.parse`, :mod:`tooflow.stages`);
ids pass between them. A retraction cancels what is queued for the event; an
update re-plans (what already ran or is queued with the same key is not sent
again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from contextlib import ExitStack

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed, State

from ..runs.budgets import CIRCULAR_MARGIN, HANDLE_NOTICE_TIMEOUT
from ..runs.failures import record_failure
from ..runs.result import HandledNotice
from ..stages.parse import ParseOutcome, supersede_if_newer
from ..stages.plan import unobservable_plans
from ..stages.submit import SubmissionFailed
from ..tasks._context import context
from ..tasks.approval import approval
from ..tasks.event_view import publish_event_view
from ..tasks.gate import gate
from ..tasks.monitor import watch
from ..tasks.notify import notify
from ..tasks.parse import parse
from ..tasks.submit import cancel
from .event_lock import event_lock
from .monitor import check_monitor_placement, monitor_event, monitor_mode
from .plan_submit import plan_and_submit

__all__ = ["handle_notice"]


def _rename_run(name: str) -> None:
    """Give the flow run a name an astronomer recognises (best effort)."""
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)
    except Exception:  # noqa: BLE001 - a cosmetic rename must never fail the flow
        pass


def _publish_view(event_pk: int, event_id: str) -> None:
    """Update the event's page (artifact); a failure to do so is a warning, not the run's."""
    state = publish_event_view(event_pk, event_id, return_state=True)
    if state.is_failed():
        get_run_logger().warning("%s: event page not updated: %s", event_id, state.message)


@flow(name="handle-notice", flow_run_name="notice-{notice_id}",
      timeout_seconds=HANDLE_NOTICE_TIMEOUT)
def handle_notice(notice_id: int, follow_up: bool = True,
                  plan_start: dt.datetime | None = None) -> HandledNotice | State:
    """Handle one stored notice, from parsing to the circular draft.

    Parameters
    ----------
    notice_id : int
        Id of the row in the ``notice`` table (stored by a listener or
        ``tooflow ingest``).
    follow_up : bool
        Plan, submit, monitor and draft for triggered programs (False: stop
        after the gate and the first notification).
    plan_start : datetime, optional
        Start of the planning window (default: now, or the event time if later),
        e.g. to plan for a coming night.

    Returns
    -------
    HandledNotice or State
        What the run did (:class:`~tooflow.runs.result.HandledNotice`): event
        id, notice type, rejection reason, gate decisions, plans, submissions
        (``submit_errors``: per program whose submission failed, why), progress
        and circular draft ids. When a queue
        did not take its requests, a ``Failed`` state carrying that summary:
        the run is red in the UI although every other stage ran, and the
        notice is ``failed`` with the reason (call with ``return_state=True``
        and read ``state.result(raise_on_failure=False)``).

    Raises
    ------
    Exception
        Whatever a stage raised, after recording it on the notice (status
        ``failed``, ``error`` naming the stage) and its event, so that the run
        ends Failed and ``tooflow show``/``tooflow health`` say why; once the
        notice has an event, the people on duty are told (``run_failed``,
        unless the run's own budget stopped it).
    """
    from ..runs.logs import send_tooflow_logs_to_prefect
    from ..runs.outcome import finish_notice

    send_tooflow_logs_to_prefect()
    stage = ["parse"]
    started = time.monotonic()
    event: list[tuple[int, str]] = []  # (event pk, event id) once parsed: the event's page
    try:
        out = _run_stages(notice_id, follow_up, plan_start, stage, event)
    except Exception as exc:
        # Whatever failed, the notice and its event say which stage and why
        # (tooflow show, tooflow health); the run still ends Failed. The run's own
        # timeout may surface as the running task's timeout: say which it was.
        why = _stopped(time.monotonic() - started, exc) if isinstance(exc, TimeoutError) else exc
        reason = record_failure(notice_id, stage[0], why)
        get_run_logger().error("notice %s: %s", notice_id, reason)
        if event:
            if why is exc:  # not past the run's budget: a person must re-run it
                _tell_failed(event[0][0], reason)
            _publish_view(*event[0])
        if why is not exc:  # the Prefect UI says the run's budget, not the task's
            raise TimeoutError(reason) from exc
        raise
    except asyncio.CancelledError:
        # Prefect stops a run past its timeout_seconds with a CancelledError (a
        # BaseException) inside the body, then marks it Failed (TimedOut).
        record_failure(notice_id, stage[0], _stopped(time.monotonic() - started))
        raise
    if out.rejected:
        return out
    errors = out.submit_errors
    if errors:  # the other stages ran; the run is red and the notice says why
        failure = SubmissionFailed("; ".join(dict.fromkeys(errors.values())), {}, True)
        reason = record_failure(notice_id, "submit", failure)
    else:
        finish_notice(notice_id, engine=context()[1])
    _publish_view(*event[0])
    if errors:
        out.failed, out.reason = True, reason
        return Failed(message=reason, data=out)
    return out


def _tell_failed(event_pk: int, reason: str) -> None:
    """Notify ``run_failed`` (e.g. the optimal plan failed after the first block was
    queued); a notification that fails itself is a warning, never the run's error."""
    state = notify(event_pk, "run_failed", [], f"{reason} (`tooflow rerun` once fixed)",
                   return_state=True)
    if state.is_failed():
        get_run_logger().warning("run_failed not notified: %s", state.message)


def _stopped(elapsed: float, exc: BaseException | None = None) -> BaseException:
    """Why a run was stopped: its own budget, else ``exc`` (or a cancellation)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    budget = ctx.flow.timeout_seconds if ctx is not None and ctx.flow is not None else None
    if budget is not None and elapsed >= budget - 1:
        return TimeoutError(f"the run exceeded its {budget:g} s budget after {elapsed:.0f} s "
                            "and was stopped")
    return exc or TimeoutError(f"the run was cancelled after {elapsed:.0f} s")


def _run_stages(notice_id: int, follow_up: bool, plan_start: dt.datetime | None,
                stage: list[str], event: list[tuple[int, str]]) -> HandledNotice:
    """The stages of :func:`handle_notice`; ``stage[0]`` names the one running."""
    from ..runs.outcome import record_flow_run

    logger = get_run_logger()
    started = time.monotonic()
    settings, engine = context()
    record_flow_run(notice_id, flow_run.id, flow_run.name, engine=engine)
    stage[0] = "start"  # a monitor that could not see the queues: refused before queueing
    check_monitor_placement(settings)
    stage[0] = "parse"
    parsed = parse(notice_id)
    if parsed.rejected:
        logger.warning("notice %s rejected: %s", notice_id, parsed.reason)
        return HandledNotice(notice_id, rejected=True, reason=parsed.reason)
    event.append((parsed.event_pk, parsed.event_id))
    run_name = f"{parsed.event_id}-{(parsed.notice_type or 'notice').lower()}-n{notice_id}"
    _rename_run(run_name)
    record_flow_run(notice_id, flow_run.id, run_name, engine=engine)
    out = HandledNotice(notice_id, event_id=parsed.event_id, notice_type=parsed.notice_type,
                        fields=parsed.summary, flow_run_name=run_name,
                        flow_run_url=flow_run.ui_url)
    stage[0] = "wait for the event"
    with ExitStack() as held:  # one flow per event at a time, from gate to submit
        held.enter_context(event_lock(parsed.event_id))
        newer = supersede_if_newer(notice_id)
        if newer is not None:
            logger.warning("notice %s: notice #%s of %s is later and has its own flow; "
                           "nothing more to do here", notice_id, newer, parsed.event_id)
            out.superseded_by = newer
            return out
        return _follow_up(notice_id, parsed, out, follow_up, plan_start, stage, started,
                          release=held.close)


def _follow_up(notice_id: int, parsed: ParseOutcome, out: HandledNotice, follow_up: bool,
               plan_start: dt.datetime | None, stage: list[str], started: float,
               release: Callable[[], None]) -> HandledNotice:
    """Gate, notify, plan, submit under the event's lock; ``release()`` it, then monitor.

    The monitor polls what the event has queued, whichever notice queued it: a
    later notice need not wait for the plan window to end to re-plan.
    """
    logger = get_run_logger()
    stage[0] = "gate"
    decisions = gate(notice_id, parsed.event_id, parsed.notice_type)
    out.decisions = [d.__dict__ for d in decisions]
    if parsed.summary.get("is_retraction"):
        stage[0] = "cancel"
        out.cancelled = cancel(parsed.event_pk)
        notify(parsed.event_pk, "retraction", [])
        return out
    triggered = out.triggered = [d.program for d in decisions if d.triggered]
    logger.info("%s %s: triggered %s", parsed.event_id, parsed.notice_type,
                ", ".join(triggered) or "no program")
    if not triggered:
        return out

    def notify_triggered() -> None:
        stage[0] = "notify"
        notify(parsed.event_pk, "program_triggered", triggered)

    if not follow_up:
        notify_triggered()
        return out

    # first light: a fast plan queued at once (not for programs whose plans need an
    # approval), then the on-duty astronomers told (their channels' answers, up to a
    # 30 s deadline each, no longer hold the telescopes back), then the optimal plan
    # replacing it
    plans, out.submitted, failures = plan_and_submit(
        notice_id, parsed.event_id, triggered, plan_start, stage,
        approve=lambda planned: _approved(parsed, planned, out),
        needs_approval=_needs_approval(), after_first=notify_triggered)
    out.plans = plans
    out.submit_errors = {p: str(exc) for p, exc in failures.items()}
    for program, exc in failures.items():
        logger.error("%s (%s): submission failed: %s", parsed.event_id, program, exc)
    if failures:
        stage[0] = "notify"
        notify(parsed.event_pk, "submission_failed", list(failures),
               "; ".join(out.submit_errors.values()))
    unobservable = out.not_observable = unobservable_plans(plans, engine=context()[1])
    if unobservable:
        logger.info("%s", "; ".join(unobservable.values()))
        notify(parsed.event_pk, "not_observable", list(unobservable),
               "; ".join(unobservable.values()))
    # A program whose queues all failed has nothing to monitor (its requests wait unsent).
    programs = [p for p, r in out.submitted.items() if p not in unobservable
                and (p not in failures
                     or sum(r["submitted"].values()) + sum(r["already_queued"].values()))]
    if not programs:
        return out
    notify(parsed.event_pk, "plan_submitted", programs)
    release()
    stage[0] = "monitor"
    # One monitor per event, whichever notice queued what: opened (or extended) here.
    new_requests = any(sum(out.submitted[p]["submitted"].values()) for p in programs)
    watch(parsed.event_pk, parsed.event_id, programs, notice_id, new_requests)
    if monitor_mode() == "deployment":  # the scheduled monitor-events deployment polls it
        out.monitor = "scheduled"
        return out
    # inline, the monitor stops polling in time to draft inside this run's budget
    left = HANDLE_NOTICE_TIMEOUT - (time.monotonic() - started) - CIRCULAR_MARGIN
    monitored = monitor_event(parsed.event_pk, parsed.event_id, wall_cap=max(0.0, left),
                              notice_id=notice_id)
    out.monitor = "inline"
    out.progress = monitored.get("progress")
    out.circulars = monitored.get("circulars") or {}
    out.polls = monitored.get("polls")
    out.handed_over_to = monitored.get("handed_over_to")
    return out


def _needs_approval() -> set[str]:
    """Programs whose plans are submitted only once approved (``approval: required``)."""
    from ..programs import load_programs

    settings, _engine = context()
    return {p.name for p in load_programs(settings.resolved_programs_file)
            if p.approval == "required"}


def _approved(parsed: ParseOutcome, plans: dict[str, int | None],
              out: HandledNotice) -> dict[str, int | None]:
    """The plans to submit: those of ``approval: required`` programs only once approved.

    A plan without exposures needs no approval (submitting it only cancels).
    """
    from sqlmodel import Session

    from ..models import Plan
    from ..programs import load_programs

    settings, engine = context()
    needs = {p.name for p in load_programs(settings.resolved_programs_file)
             if p.approval == "required"}
    kept = dict(plans)
    for program, plan_id in plans.items():
        if program not in needs or plan_id is None:
            continue
        with Session(engine) as session:
            if not session.get(Plan, plan_id).observable:
                continue
        decision = approval(parsed.event_pk, parsed.event_id, plan_id, program)
        out.approvals[program] = decision
        if decision != "approved":
            del kept[program]
    return kept
