"""First light as stored: when the fast plan reached the queues, and what replaced it.

Read back from the plan and queue-request rows (shared by the flow's artifact,
``tooflow ingest``'s summary and ``tooflow show``): the fast plan
(``FIRST-BLOCK`` or ``SINGLE-POINTING``), when its first request was queued and
how long after its notice arrived, how many requests it queued per telescope,
and, for a first block, how the optimal plan that followed replaced it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import Session, select

from ..models import Notice, Plan, PlannedObservationRow, QueueRequestRow
from ..observations import base_request_key, request_attempt

__all__ = ["FAST_STATUSES", "FirstLightRecord", "Replacement", "first_light_records",
           "listener_failures", "listener_problem", "listener_warnings", "reached_a_queue",
           "replacement_in"]

#: ``Plan.solver_status`` of the fast plans (tooflow.planning.first_light).
FAST_STATUSES = ("FIRST-BLOCK", "SINGLE-POINTING")


def reached_a_queue(row: QueueRequestRow) -> bool:
    """Whether a queue ever accepted the request (not unsent, expired, or dropped unsent).

    A request no queue accepted is ``unsent``, then ``expired`` or ``cancelled``
    with a detail saying it was never sent (:mod:`tooflow.stages.submit`: "not
    sent: …", "… before any queue accepted it").
    """
    if row.status in ("unsent", "expired"):
        return False
    detail = row.detail or ""
    return not (row.status == "cancelled" and (detail.startswith("not sent")
                                               or detail.endswith("before any queue "
                                                                  "accepted it")))


@dataclass
class Replacement:
    """How the optimal plan replaced a first-block plan.

    Attributes
    ----------
    kept : int
        First-block requests the optimal plan also wants (queued once, not sent again);
        ``kept_by_telescope`` the same per telescope.
    cancelled : int
        First-block requests the optimal plan no longer wants, cancelled before they started.
    started : int
        First-block requests the optimal plan no longer wants that had started
        (or finished) and were left alone.
    new : int
        Requests of the optimal plan the first block did not have, and first-block
        requests that failed at the telescope and that it requested again
        (``KEY:r2``, :func:`tooflow.stages.submit.submit_plan`).
    """

    kept: int = 0
    cancelled: int = 0
    started: int = 0
    new: int = 0
    kept_by_telescope: dict[str, int] = field(default_factory=dict)

    def sentence(self) -> str:
        """One line for the flow's artifact and log."""
        return (f"{self.kept} first-block request(s) kept, {self.cancelled} cancelled before "
                f"they started, {self.started} already started left alone, {self.new} new")


def replacement_in(session: Session, first_plan_id: int, optimal_plan_id: int) -> Replacement:
    """Compare the first-block plan's requests with the optimal plan that replaced it."""
    first = session.get(Plan, first_plan_id)
    mine = session.exec(select(QueueRequestRow).where(
        QueueRequestRow.event_pk == first.event_pk,
        QueueRequestRow.plan_id == first_plan_id)).all()
    wanted = {(r.telescope, r.request_key) for r in session.exec(
        select(PlannedObservationRow).where(PlannedObservationRow.plan_id == optimal_plan_id))}
    out = Replacement()
    first_keys = {(q.telescope, base_request_key(q.request_key)) for q in mine}
    again = {(q.telescope, base_request_key(q.request_key)) for q in session.exec(
        select(QueueRequestRow).where(QueueRequestRow.event_pk == first.event_pk,
                                      QueueRequestRow.plan_id == optimal_plan_id))
        if request_attempt(q.request_key) > 1}
    for q in mine:
        slot = (q.telescope, base_request_key(q.request_key))
        if q.status == "failed" and slot in again:
            out.new += 1  # failed: the optimal plan requested it again (not kept)
        elif slot in wanted:
            out.kept += 1
            out.kept_by_telescope[q.telescope] = out.kept_by_telescope.get(q.telescope, 0) + 1
        elif q.status == "cancelled":
            out.cancelled += 1
        else:
            out.started += 1
    out.new += len(wanted - first_keys)
    return out


@dataclass
class FirstLightRecord:
    """One fast plan of an event as stored.

    Attributes
    ----------
    plan_id, program : int, str
    kind : str
        ``first block`` or ``single pointing``.
    notice_id : int
        The notice it was planned for.
    arrived : datetime.datetime
        When that notice was stored (UTC).
    queued : datetime.datetime or None
        When its first request reached a queue (None: none did).
    requests : dict of str to int
        Requests it queued (accepted by a queue) per telescope.
    unsent : int
        Its requests no queue accepted (kept "unsent", retried, or dropped unsent).
    left_to_optimal : int
        For a first block: its requests no queue accepted when it was submitted
        that the optimal plan wanted too and took over (sent with it, or kept
        unsent by it).
    failure : str or None
        For a first block without an optimal plan: why its notice's run failed
        (the first block's requests stay as they are).
    optimal_plan_id : int or None
        For a first block: the optimal plan that followed it (None: pending).
    replacement : Replacement or None
        How that optimal plan replaced it.
    by : str
        ``flow``, or ``listener`` when the listener planned and queued it before
        triggering the flow (``notice.first_light``).
    """

    plan_id: int
    program: str
    kind: str
    notice_id: int
    arrived: dt.datetime
    queued: dt.datetime | None
    requests: dict[str, int]
    unsent: int = 0
    optimal_plan_id: int | None = None
    replacement: Replacement | None = None
    by: str = "flow"
    left_to_optimal: int = 0
    failure: str | None = None

    @property
    def after_arrival(self) -> float | None:
        """Seconds from the notice's arrival to the first request queued."""
        if self.queued is None:
            return None
        return (_utc(self.queued) - _utc(self.arrived)).total_seconds()

    def lines(self) -> list[str]:
        """A person on duty's lines: when, how many, then what replaced it."""
        total = sum(self.requests.values())
        per = ", ".join(f"{t} {n}" for t, n in sorted(self.requests.items()))
        head = f"first light ({self.program}): {self.kind}, plan #{self.plan_id}"
        if self.queued is None:
            head += ": nothing queued"
        else:
            by = " by the listener" if self.by == "listener" else ""
            head += (f", queued{by} {_utc(self.queued):%Y-%m-%d %H:%M:%S} UTC, "
                     f"{self.after_arrival:.1f} s after notice #{self.notice_id} arrived: "
                     f"{total} request(s) [{per}]")
        if self.unsent:
            head += f"; {self.unsent} not accepted by a queue"
        if self.left_to_optimal:
            head += (f"; {self.left_to_optimal} not accepted by a queue then, left to the "
                     f"optimal plan #{self.optimal_plan_id}")
        out = [head]
        if self.kind == "single pointing":
            out.append("  final: the localization fits one field of every telescope, "
                       "no optimal plan follows")
        elif self.optimal_plan_id is None and self.failure:
            out.append(f"  no optimal plan: {self.failure.rstrip('.')}; the first block's "
                       "requests stay as they are")
        elif self.optimal_plan_id is None:
            out.append("  optimal plan pending")
        else:
            out.append(f"  then the optimal plan #{self.optimal_plan_id} replaced it: "
                       f"{self.replacement.sentence()}")
        return out


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def listener_warnings(session: Session, event_pk: int) -> list[str]:
    """Lines for the event's notices whose first light in the listener failed.

    The flow's own first light ran instead: nothing was lost but speed
    (``notice.first_light.warning``, :mod:`tooflow.stages.warm_first_light`).
    """
    out = []
    for notice in session.exec(select(Notice).where(Notice.event_pk == event_pk)
                               .order_by(Notice.id)).all():
        problem = listener_problem(notice.first_light)
        if problem:
            out.append(f"first light of notice #{notice.id}: {problem}")
    return out


def listener_problem(record: object) -> str | None:
    """What went wrong with the listener's first light, from ``notice.first_light``.

    Its failure (``warning``: the flow's own first light ran instead) and the
    queues that refused its requests (``errors`` per program: those requests
    stayed unsent and the flow's submission sent them again), or None.
    """
    if not isinstance(record, dict):
        return None
    parts = [str(record["warning"])] if record.get("warning") else []
    errors = record.get("errors") or {}
    if isinstance(errors, dict) and errors:
        parts.append("queue(s) refused the listener's first light: " + "; ".join(
            f"{program}: {why}" for program, why in sorted(errors.items()))
            + " (left unsent for the flow's submission)")
    return "; ".join(parts) or None


def listener_failures(session: Session, since: dt.datetime) -> list[tuple[int, str]]:
    """Notices received since ``since`` whose first light in the listener failed, newest first.

    ``(notice id, reason)``; the flow's own first light ran for each (``tooflow health``).
    """
    rows = session.exec(select(Notice.id, Notice.first_light).where(
        Notice.received >= since, Notice.first_light.is_not(None))
        .order_by(Notice.id.desc())).all()
    return [(i, problem) for i, record in rows
            if (problem := listener_problem(record)) is not None]


def _taken_over(session: Session, first: Plan, optimal_plan_id: int) -> int:
    """First-block requests no queue accepted then, which the optimal plan took over.

    An unsent request the optimal plan also wants becomes the optimal plan's
    (:func:`tooflow.stages.submit.submit_plan` sends it again or keeps it unsent).
    """
    keys = set(session.exec(select(PlannedObservationRow.request_key).where(
        PlannedObservationRow.plan_id == first.id)).all())
    moved = session.exec(select(QueueRequestRow.request_key).where(
        QueueRequestRow.event_pk == first.event_pk,
        QueueRequestRow.plan_id == optimal_plan_id)).all()
    return sum(key in keys for key in moved)


def first_light_records(session: Session, event_pk: int,
                        plan_ids: set[int] | None = None) -> list[FirstLightRecord]:
    """The event's fast plans (all, or those in ``plan_ids``), oldest first."""
    out = []
    plans = session.exec(select(Plan).where(Plan.event_pk == event_pk)
                         .order_by(Plan.id)).all()
    for p in plans:
        if p.solver_status not in FAST_STATUSES or (plan_ids is not None
                                                    and p.id not in plan_ids):
            continue
        rows = session.exec(select(QueueRequestRow).where(
            QueueRequestRow.event_pk == event_pk, QueueRequestRow.plan_id == p.id)).all()
        accepted = [q for q in rows if reached_a_queue(q)]
        notice = session.get(Notice, p.notice_id)
        rec = FirstLightRecord(
            plan_id=p.id, program=p.program,
            kind="single pointing" if p.solver_status == "SINGLE-POINTING" else "first block",
            notice_id=p.notice_id, arrived=notice.received,
            queued=min((q.submitted for q in accepted), default=None),
            requests=dict(Counter(q.telescope for q in accepted)),
            unsent=len(rows) - len(accepted),
            by="listener" if _queued_by_listener(notice, p) else "flow")
        if rec.kind == "first block":
            later = next((o for o in plans if o.id > p.id and o.program == p.program
                          and o.notice_id == p.notice_id
                          and o.solver_status not in FAST_STATUSES), None)
            if later is not None:
                rec.optimal_plan_id = later.id
                rec.replacement = replacement_in(session, p.id, later.id)
                rec.left_to_optimal = _taken_over(session, p, later.id)
            elif notice.status == "failed":
                rec.failure = notice.error
        out.append(rec)
    return out


def _queued_by_listener(notice: Notice, plan: Plan) -> bool:
    """The listener planned ``plan`` and sent its requests (not only stored it for the flow)."""
    record = notice.first_light or {}
    if plan.id not in (record.get("plans") or {}).values():
        return False
    sent = (record.get("submitted") or {}).get(plan.program)
    return sent is None or bool(sum(sent.values()))
