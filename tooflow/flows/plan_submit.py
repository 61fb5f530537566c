"""The plan → submit stages of ``handle-notice``, first light first.

For each triggered program a fast plan is queued at once
(:func:`~tooflow.tasks.first_light.plan_first`: a single pointing, final; or
a sky map's first block from the greedy baseline); then, for a sky map, the
optimal plan (:func:`~tooflow.tasks.plan.plan`) is solved and submitted, which
supersedes the first block: what it also wants keeps its request key and is
not sent again, what it no longer wants is cancelled if it has not started.
Each program's ``first-light-…`` artifact says "first block submitted, optimal
plan pending", then how the optimal plan replaced it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect import get_run_logger

from ..stages.first_light import FirstLight
from ..stages.submit import SubmissionFailed
from ..tasks._context import context
from ..tasks.first_light import plan_first, publish_first_light
from ..tasks.plan import plan
from ..tasks.submit import submit

__all__ = ["PlanFailed", "merge_results", "plan_and_submit", "submit_all"]


def plan_and_submit(notice_id: int, event_id: str, programs: list[str],
                    plan_start: dt.datetime | None, stage: list[str], *,
                    approve: Callable[[dict[str, int | None]], dict[str, int | None]]
                    | None = None, needs_approval: set[str] | None = None,
                    after_first: Callable[[], None] | None = None
                    ) -> tuple[dict[str, int | None], dict[str, dict], dict[str, Exception]]:
    """Plan and submit each program: the fast plan first, then the optimal one.

    A program in ``needs_approval`` gets no fast plan (nothing is queued before
    a person approves); ``approve(plans)`` returns the optimal plans that may be
    submitted (those approved, or needing no approval). ``after_first()`` runs
    once the fast plans are submitted, before the optimal plans (handle-notice's
    "program triggered" notification).

    Raises
    ------
    PlanFailed
        When a program's optimal plan could not be made (its first block stays
        queued), after the other programs' plans were made and submitted.

    Returns
    -------
    plans, submitted, failures : dict, dict, dict
        Per program: the final plan's id (the single pointing's, else the
        optimal plan's); the submission result (as a dict; first block and
        optimal plan merged by :func:`merge_results`, with ``first_light``: the
        fast plan's kind, id and what it submitted); why a submission's task
        run failed (the optimal plan's; else the first block's, also when the
        optimal plan's submission then sent what the first block's queue refused).
    """
    from ..stages.first_light import replacement

    logger = get_run_logger()
    stage[0] = "plan"
    held = needs_approval or set()
    first = {p: plan_first(notice_id, event_id, p, plan_start) if p not in held
             else FirstLight(None, "none") for p in programs}
    early = {p: f.plan_id for p, f in first.items() if f.plan_id is not None}
    stage[0] = "submit"
    early_submitted, early_failures = submit_all(early)
    for p, f in first.items():
        if f.plan_id is None:
            if f.why:  # a sky map whose first block has nothing to observe: say why
                logger.info("%s (%s): no first block: %s", event_id, p, f.why)
                publish_first_light(event_id, p, [f"**no first block** ({f.why}); "
                                                  "the optimal plan follows"])
            continue
        sent = sum((early_submitted.get(p) or {}).get("submitted", {}).values())
        what = "single pointing submitted (final)" if f.final else \
            "first block submitted, optimal plan pending"
        if f.by == "listener" and f.queued_after is None:  # stored there, left to this run
            logger.info("%s (%s): first light: %s: plan %s planned by the listener, "
                        "%d request(s) queued by this run", event_id, p, what, f.plan_id, sent)
            publish_first_light(event_id, p, [
                f"**{what}**: plan {f.plan_id} ({f.kind}) planned by the listener, "
                f"{sent} request(s) queued by this run" + _errors(early_failures.get(p))])
            continue
        if f.by == "listener":  # queued before this run started; sent again: nothing
            after = f"{f.queued_after:.2f} s" if f.queued_after is not None else "?"
            logger.info("%s (%s): first light: %s by the listener %s after arrival: "
                        "plan %s; %d request(s) sent again by this run", event_id, p, what,
                        after, f.plan_id, sent)
            publish_first_light(event_id, p, [
                f"**{what}** by the listener, first request queued {after} after the "
                f"notice arrived: plan {f.plan_id} ({f.kind}, planned in {f.seconds:.2f} s "
                f"with parse, gate and submit); {sent} request(s) sent again by this run"
                + _errors(early_failures.get(p))])
            continue
        logger.info("%s (%s): first light: %s: plan %s, %d request(s) queued",
                    event_id, p, what, f.plan_id, sent)
        publish_first_light(event_id, p, [f"**{what}**: plan {f.plan_id} ({f.kind}, planned "
                                          f"in {f.seconds:.2f} s), {sent} request(s) queued"
                                          + _errors(early_failures.get(p))])
    if after_first is not None:
        after_first()
    stage[0] = "plan"
    optimal: dict[str, int | None] = {}
    plan_errors: dict[str, BaseException] = {}
    for p in programs:  # one program's failure does not cost the others their plan
        if first[p].final:
            continue
        state = plan(notice_id, event_id, p, plan_start, return_state=True)
        if state.is_failed():
            exc = state.result(raise_on_failure=False)
            plan_errors[p] = exc if isinstance(exc, BaseException) else \
                RuntimeError(state.message)
            logger.error("%s (%s): optimal plan failed: %s", event_id, p, plan_errors[p])
        else:
            optimal[p] = state.result()
    plans: dict[str, int | None] = dict(optimal)
    if approve is not None:
        stage[0] = "approval"
        optimal = approve(optimal)
    stage[0] = "submit"
    # an empty plan is submitted too: it cancels what earlier plans queued and it no longer wants
    submitted, failures = submit_all(optimal)
    for p, f in first.items():
        if f.plan_id is None or f.final:
            continue
        if p in plan_errors:
            publish_first_light(event_id, p, [
                f"**first block submitted; no optimal plan**: planning failed "
                f"({type(plan_errors[p]).__name__}: {plan_errors[p]}); the first block's "
                "requests stay as they are"])
            continue
        if optimal.get(p) is None:
            publish_first_light(event_id, p, ["**first block submitted; no optimal plan** "
                                              "(the event has no map to plan on)"])
            continue
        rep = replacement(f.plan_id, optimal[p], engine=context()[1])
        if p in submitted:
            submitted[p] = merge_results(early_submitted.get(p) or {}, submitted[p],
                                         rep.kept_by_telescope)
        logger.info("%s (%s): optimal plan %s replaced first block %s: %s",
                    event_id, p, optimal[p], f.plan_id, rep.sentence())
        publish_first_light(event_id, p, [
            f"**first block submitted, optimal plan replaced it**: plan {optimal[p]} "
            f"superseded first block {f.plan_id}: {rep.sentence()}"
            + _errors(failures.get(p))])
    for p in programs:
        if first[p].final:
            plans[p] = first[p].plan_id
            if p in early_submitted:
                submitted[p] = early_submitted[p]
            if p in early_failures:
                failures[p] = early_failures[p]
        elif p in early_failures and p not in failures:
            # a queue refused the first block: the run is not green even though the
            # optimal plan's submission (which sent what it also wanted) went through
            early = early_failures[p]
            failures[p] = SubmissionFailed(
                f"first block: {early}; the optimal plan's submission went through",
                early.result, early.transient)
        if first[p].plan_id is not None and p in submitted:
            submitted[p] = {**submitted[p], "first_light": {
                "kind": first[p].kind, "plan_id": first[p].plan_id, "by": first[p].by,
                "submitted": (early_submitted.get(p) or {}).get("submitted", {})}}
    if plan_errors:  # the others were planned and submitted: now the run fails
        stage[0] = "plan"
        raise PlanFailed("; ".join(f"{p}: {type(e).__name__}: {e}"
                                   for p, e in plan_errors.items())) \
            from next(iter(plan_errors.values()))
    return plans, submitted, failures


class PlanFailed(RuntimeError):
    """The optimal plan of at least one program could not be made (each named, with why).

    Raised once the other programs' plans were made and submitted.
    """


def merge_results(early: dict, late: dict, kept: dict[str, int]) -> dict:
    """One submission result for a first block and the optimal plan that replaced it.

    ``submitted`` counts what this run sent (first block and new requests of the
    optimal plan), ``already_queued`` what earlier runs had queued (not the
    first-block requests the optimal plan kept: ``kept`` per telescope),
    ``cancelled`` what the optimal plan's submission cancelled (first-block
    requests it no longer wanted among them).
    """
    out = dict(late)
    sent = dict(late.get("submitted") or {})
    for tel, n in (early.get("submitted") or {}).items():
        sent[tel] = sent.get(tel, 0) + n
    out["submitted"] = sent
    again = dict(late.get("rerequested") or {})
    for tel, n in (early.get("rerequested") or {}).items():
        again[tel] = again.get(tel, 0) + n
    out["rerequested"] = again
    queued = {tel: n - kept.get(tel, 0)
              for tel, n in (late.get("already_queued") or {}).items()}
    out["already_queued"] = {tel: n for tel, n in queued.items() if n > 0}
    return out


def _errors(exc: Exception | None) -> str:
    return f"; submission failed: {exc}" if exc is not None else ""


def submit_all(plans: dict[str, int | None]) -> tuple[dict[str, dict], dict[str, Exception]]:
    """Submit each plan; a program whose submission failed goes on with what went through.

    Returns
    -------
    submitted, failures : dict, dict
        Per program: the submission result (as a dict); why its task run failed.
    """
    submitted: dict[str, dict] = {}
    failures: dict[str, Exception] = {}
    for program, plan_id in plans.items():
        if plan_id is None:
            continue
        state = submit(plan_id, return_state=True)
        if not state.is_failed():
            submitted[program] = state.result()
            continue
        exc = state.result(raise_on_failure=False)
        if not isinstance(exc, SubmissionFailed):  # a bug, a timeout: the stage failed
            raise exc if isinstance(exc, Exception) else RuntimeError(state.message)
        failures[program] = exc
        submitted[program] = exc.result
    return submitted, failures
