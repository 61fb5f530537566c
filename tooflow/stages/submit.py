"""Submit a plan to the facility queues, cancel an event's requests."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..config import Settings
from ..facilities import FacilityError
from ..facilities.base import TERMINAL_STATUSES
from ..facilities.http import FacilityUnavailable
from ..guards.text import redact
from ..models import (
    Event,
    ExecutedObservationRow,
    Notice,
    NoticeStatus,
    Plan,
    PlannedObservationRow,
    QueueRequestRow,
)
from ..models._types import utcnow
from ..observations import PlannedObservation, base_request_key, request_attempt
from ..records.transactions import store_transactions

__all__ = ["SubmitResult", "SubmissionFailed", "ResubmitResult", "submit_plan",
           "resubmit_unsent", "cancel_event_requests", "update_request", "latest_requests",
           "UNSENT", "EXPIRED", "NOT_SENT", "submitted_programs"]

#: A planned request the queue has not accepted yet (unreachable, error): kept to retry.
UNSENT = "unsent"
#: An unsent request whose plan window closed before any queue accepted it.
EXPIRED = "expired"
#: Statuses of requests no queue holds.
NOT_SENT = frozenset({UNSENT, EXPIRED})
#: Statuses of requests a telescope has started (never cancelled by a re-plan).
STARTED = frozenset({"executing", "completed"})
#: ``Plan.solver_status`` of a first-block plan (:mod:`tooflow.planning.first_light`):
#: its submission adds requests and cancels nothing.
FIRST_BLOCK = "FIRST-BLOCK"


@dataclass
class SubmitResult:
    """What :func:`submit_plan` did, per telescope."""

    submitted: dict[str, int] = field(default_factory=dict)
    already_queued: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    unsent: dict[str, int] = field(default_factory=dict)
    #: Of ``submitted``, the re-requests of exposures whose last request failed
    #: at the telescope (sent under a new key ``…:rN``).
    rerequested: dict[str, int] = field(default_factory=dict)
    transient: bool = True

    def failure_message(self) -> str:
        """One line naming each telescope that failed, its error and what was kept."""
        return "; ".join(f"{tel}: {err} ({self.unsent.get(tel, 0)} request(s) kept unsent)"
                         for tel, err in sorted(self.errors.items()))


class SubmissionFailed(RuntimeError):
    """At least one telescope's queue did not take its requests.

    ``args`` are (message, result as a dict, transient) so that the exception
    survives pickling in a Prefect state.
    """

    def __init__(self, message: str, result: dict, transient: bool):
        super().__init__(message, result, transient)

    @property
    def result(self) -> dict:
        """The :class:`SubmitResult` as a dict (what went through and what did not)."""
        return self.args[1]

    @property
    def transient(self) -> bool:
        """Every failure was an unreachable queue (worth retrying soon)."""
        return bool(self.args[2])

    def __str__(self) -> str:
        return str(self.args[0])


def _planned(row: PlannedObservationRow, event_id: str, attempt: int = 1) -> PlannedObservation:
    obs = PlannedObservation(telescope=row.telescope, ra=row.ra, dec=row.dec,
                             filter=row.filter, exposure_time=row.exposure_time,
                             start_time=row.start_time, probability=row.probability,
                             visit=row.visit, field_id=row.field_id, target=row.target,
                             event_id=event_id)
    if obs.request_key != row.request_key:
        raise ValueError(f"planned observation {row.id}: stored key {row.request_key!r} "
                         f"is not {obs.request_key!r}")
    return replace(obs, attempt=attempt) if attempt > 1 else obs


def latest_requests(rows) -> dict[tuple[str, str], QueueRequestRow]:
    """The latest request of each planned exposure: (telescope, planned key) → row.

    An exposure re-requested after a failure has several rows (``KEY``,
    ``KEY:r2``…); the one with the highest attempt says where it stands.
    """
    out: dict[tuple[str, str], QueueRequestRow] = {}
    for q in rows:
        slot = (q.telescope, base_request_key(q.request_key))
        if slot not in out or request_attempt(q.request_key) > request_attempt(
                out[slot].request_key):
            out[slot] = q
    return out


def submit_plan(plan_id: int, *, engine: Engine, settings: Settings,
                facility_for=None) -> SubmitResult:
    """Queue a plan's observations; never the same observation twice.

    A planned exposure whose request key the event already has in a queue (from
    this plan, an earlier plan or an earlier run) is not sent again — unless
    its latest request *failed* at the telescope (weather, a fault, its window
    closed unobserved) and was sent for an earlier plan: this later plan then
    requests it again under a new key, ``KEY:r2`` (``:r3``…), since a queue
    answers a key it already holds with that request's state (and never one
    a telescope executed). Requests of
    superseded plans of the same program that the new plan no longer wants
    (nor another program's current plan), and that have not run, are cancelled
    (never one that started: the queue's own state, as last read, or an
    executed observation says so). A first-block plan (status
    ``FIRST-BLOCK``, queued before the optimal plan) only adds requests: the
    optimal plan that supersedes it decides what to cancel. One telescope's
    failure is recorded and does not stop the others: its requests are kept as
    ``unsent`` rows with the error, which
    :func:`resubmit_unsent` (and a re-run of this function) sends again. A mock
    or test event is sent to a real queue (not the simulator) only when its
    program says ``mock_real_queues: true``; otherwise that telescope's
    requests are held back, with the reason in ``held``.
    """
    from ..facilities.routing import is_real_queue

    if facility_for is None:
        from ..facilities.routing import facility_for
    result = SubmitResult()
    with Session(engine, expire_on_commit=False) as session:
        plan = session.get(Plan, plan_id)
        event = session.get(Event, plan.event_pk)
        rows = session.exec(select(PlannedObservationRow)
                            .where(PlannedObservationRow.plan_id == plan_id)).all()
        existing = session.exec(select(QueueRequestRow)
                                .where(QueueRequestRow.event_pk == event.id)).all()
        live = {(q.telescope, q.request_key): q for q in existing
                if q.status not in ("cancelled", "rejected") and q.status not in NOT_SENT}
        latest = latest_requests(existing)
        unsent = {(q.telescope, q.request_key): q for q in existing if q.status == UNSENT}
        if event.is_mock and not _mock_real_queues(settings, plan.program):
            for tel in sorted({r.telescope for r in rows if is_real_queue(r.telescope, settings)}):
                result.held[tel] = ("mock/test event: its program does not send mocks to "
                                    "real queues (mock_real_queues)")
            rows = [r for r in rows if r.telescope not in result.held]
        wanted = {(r.telescope, r.request_key) for r in rows}
        executed = {(e.telescope, e.request_key) for e in session.exec(
            select(ExecutedObservationRow).where(ExecutedObservationRow.event_pk == event.id))}
        observed = {(tel, base_request_key(key)) for tel, key in executed if key}
        by_tel: dict[str, list[PlannedObservation]] = defaultdict(list)
        retries: set[tuple[str, str]] = set()
        for r in rows:
            q = latest.get((r.telescope, r.request_key))
            attempt = request_attempt(q.request_key) if q is not None else 1
            if q is not None and q.status == "failed" and q.plan_id != plan_id \
                    and (r.telescope, r.request_key) not in observed:
                # failed at the telescope for an earlier plan: this plan asks again,
                # under a key no queue has seen (the old one would answer "failed")
                obs = _planned(r, event.event_id, attempt + 1)
                retries.add((r.telescope, obs.request_key))
                by_tel[r.telescope].append(obs)
            elif q is not None and (q.telescope, q.request_key) in live:
                result.already_queued[r.telescope] = result.already_queued.get(r.telescope,
                                                                               0) + 1
            else:  # never sent, not accepted yet, or cancelled/rejected: its latest key
                by_tel[r.telescope].append(_planned(r, event.event_id, attempt))
        stale = defaultdict(list)
        # a first block only adds: what it does not want is the optimal plan's to decide
        replaces = plan.solver_status != FIRST_BLOCK
        # a plan replaces its own program's requests only, never one another program's
        # current plan wants (two programs of one event each keep theirs)
        ours = set(session.exec(select(Plan.id).where(Plan.event_pk == event.id,
                                                      Plan.program == plan.program)).all())
        theirs = set(session.exec(
            select(PlannedObservationRow.telescope, PlannedObservationRow.request_key)
            .join(Plan, Plan.id == PlannedObservationRow.plan_id)
            .where(Plan.event_pk == event.id, Plan.program != plan.program,
                   Plan.status.in_(["planned", "submitted"]))).all())
        wanted |= theirs
        for (tel, key), q in live.items():
            if replaces and (tel, base_request_key(key)) not in wanted and q.plan_id in ours \
                    and q.plan_id != plan_id and q.status not in TERMINAL_STATUSES \
                    and q.status not in STARTED and (tel, key) not in executed:
                stale[tel].append(q)
        for (tel, key), q in unsent.items():
            if replaces and (tel, base_request_key(key)) not in wanted and q.plan_id in ours \
                    and q.plan_id != plan_id:
                # never sent: nothing to ask
                _set(session, q, "cancelled", "superseded before any queue accepted it")
        for tel in sorted(set(by_tel) | set(stale)):
            try:
                facility = facility_for(tel, settings)
            except Exception as exc:  # noqa: BLE001 - recorded per telescope
                result.errors[tel] = redact(f"{type(exc).__name__}: {exc}")
                result.transient = False
                result.unsent[tel] = _keep_unsent(session, event.id, plan_id,
                                                  by_tel.get(tel, []), result.errors[tel])
                session.commit()
                continue
            with facility:
                try:
                    if stale.get(tel):
                        states = facility.cancel([q.request_key for q in stale[tel]])
                        for state in states:
                            update_request(session, event.id, state)
                        # a queue leaves a request that started as it is: count what it cancelled
                        result.cancelled[tel] = sum(st.status == "cancelled" for st in states)
                    obs = by_tel.get(tel, [])
                    if obs:
                        states = facility.submit(obs, event_id=event.event_id,
                                                 program=plan.program,
                                                 window=(plan.start, plan.end))
                        for state in states:
                            _insert(session, event.id, plan_id, state)
                        result.submitted[tel] = len(states)
                        again = sum((tel, o.request_key) in retries for o in obs)
                        if again:
                            result.rerequested[tel] = again
                except FacilityError as exc:
                    result.errors[tel] = str(exc)
                    result.transient &= isinstance(exc, FacilityUnavailable)
                    result.unsent[tel] = _keep_unsent(session, event.id, plan_id,
                                                      by_tel.get(tel, []), str(exc))
                finally:
                    store_transactions(session, facility, event.id)
                    session.commit()
        if result.submitted:
            plan.status = "submitted"
            session.add(plan)
        session.commit()
    return result


def _mock_real_queues(settings: Settings, program: str) -> bool:
    """Whether ``program`` opts in to sending mock events to real queues."""
    from ..programs import load_programs

    return any(p.mock_real_queues for p in load_programs(settings.resolved_programs_file)
               if p.name == program)


def _set(session: Session, row: QueueRequestRow, status: str, detail: str) -> None:
    row.status, row.detail, row.updated = status, detail, utcnow()
    session.add(row)


def _keep_unsent(session: Session, event_pk: int, plan_id: int,
                 observations: list[PlannedObservation], error: str) -> int:
    """Store (or refresh) an ``unsent`` row per observation the queue did not take."""
    detail = redact(f"not sent: {error}")
    for obs in observations:
        row = session.exec(select(QueueRequestRow).where(
            QueueRequestRow.event_pk == event_pk, QueueRequestRow.telescope == obs.telescope,
            QueueRequestRow.request_key == obs.request_key)).first()
        if row is None:
            row = QueueRequestRow(event_pk=event_pk, plan_id=plan_id, telescope=obs.telescope,
                                  request_key=obs.request_key, status=UNSENT)
        row.plan_id = plan_id
        _set(session, row, UNSENT, detail)
    return len(observations)


def _insert(session: Session, event_pk: int, plan_id: int, state) -> None:
    existing = session.exec(select(QueueRequestRow).where(
        QueueRequestRow.event_pk == event_pk, QueueRequestRow.telescope == state.telescope,
        QueueRequestRow.request_key == state.request_key)).first()
    if existing is not None:  # an unsent (or expired) row: the queue took it now
        existing.plan_id = plan_id
        update_request(session, event_pk, state)
        return
    row = QueueRequestRow(event_pk=event_pk, plan_id=plan_id, telescope=state.telescope,
                          request_key=state.request_key, queue_id=state.queue_id,
                          status=state.status, detail=redact(state.detail or ""))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # already there (a concurrent run): keep the first
        update_request(session, event_pk, state)


def update_request(session: Session, event_pk: int, state) -> None:
    """Record what a queue said about one of the event's requests (status, detail, id)."""
    row = session.exec(select(QueueRequestRow).where(
        QueueRequestRow.event_pk == event_pk, QueueRequestRow.telescope == state.telescope,
        QueueRequestRow.request_key == state.request_key)).first()
    if row is None:
        return
    row.status, row.detail, row.updated = state.status, redact(state.detail or ""), utcnow()
    row.queue_id = state.queue_id or row.queue_id
    session.add(row)


def cancel_event_requests(event_pk: int, *, engine: Engine, settings: Settings,
                          facility_for=None) -> dict[str, int]:
    """Cancel every request of an event that has not run (a retraction).

    Returns
    -------
    dict
        Number of requests cancelled per telescope.
    """
    if facility_for is None:
        from ..facilities.routing import facility_for
    cancelled: dict[str, int] = {}
    with Session(engine, expire_on_commit=False) as session:
        open_rows = []
        for q in session.exec(select(QueueRequestRow)
                              .where(QueueRequestRow.event_pk == event_pk)):
            if q.status == UNSENT:  # no queue holds it: nothing to ask, never send it
                _set(session, q, "cancelled", "cancelled before any queue accepted it")
            elif q.status not in TERMINAL_STATUSES and q.status not in NOT_SENT:
                open_rows.append(q)
        executed = {(e.telescope, e.request_key) for e in session.exec(
            select(ExecutedObservationRow).where(ExecutedObservationRow.event_pk == event_pk))}
        by_tel = defaultdict(list)
        for q in open_rows:
            if (q.telescope, q.request_key) not in executed:
                by_tel[q.telescope].append(q.request_key)
        for tel, keys in by_tel.items():
            with facility_for(tel, settings) as facility:
                try:
                    states = facility.cancel(keys)
                finally:
                    store_transactions(session, facility, event_pk)
                for state in states:
                    update_request(session, event_pk, state)
                cancelled[tel] = sum(s.status == "cancelled" for s in states)
        for plan in session.exec(select(Plan).where(Plan.event_pk == event_pk,
                                                    Plan.status.in_(["planned", "submitted"]))):
            plan.status = "cancelled"
            session.add(plan)
        session.commit()
    return cancelled


@dataclass
class ResubmitResult:
    """What :func:`resubmit_unsent` did, per ``"EVENT TELESCOPE"``."""

    submitted: dict[str, int] = field(default_factory=dict)
    still_unsent: dict[str, int] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)  #: event pks that got requests queued


def resubmit_unsent(*, engine: Engine, settings: Settings, now: dt.datetime | None = None,
                    event_pk: int | None = None, facility_for=None) -> ResubmitResult:
    """Send again the requests no queue has accepted yet (status ``unsent``).

    Per plan and telescope: while the plan window is open, the observations
    are submitted again (their request keys make a queue that already has
    them answer with their state: nothing is ever queued twice); once the
    window has closed they become ``expired``; those of a superseded or
    cancelled plan, or of a retracted event, become ``cancelled``. A queue that
    still fails keeps its rows ``unsent`` with the new error.

    Parameters
    ----------
    engine, settings
        Database and configuration.
    now : datetime, optional
        Current time (UTC) compared with the plan windows; default now.
    event_pk : int, optional
        Only this event's requests.
    facility_for : callable, optional
        ``facility_for(telescope, settings)``; default the configured queues.
    """
    if facility_for is None:
        from ..facilities.routing import facility_for
    now = now or utcnow()
    result = ResubmitResult()
    with Session(engine, expire_on_commit=False) as session:
        query = select(QueueRequestRow).where(QueueRequestRow.status == UNSENT)
        if event_pk is not None:
            query = query.where(QueueRequestRow.event_pk == event_pk)
        groups: dict[tuple[int, str], list[QueueRequestRow]] = defaultdict(list)
        for q in session.exec(query.order_by(QueueRequestRow.id)):
            groups[(q.plan_id, q.telescope)].append(q)
        for (plan_id, tel), requests in sorted(groups.items()):
            plan = session.get(Plan, plan_id)
            event = session.get(Event, plan.event_pk)
            label = f"{event.event_id} {tel}"
            if event.retracted or plan.status in ("superseded", "cancelled"):
                for q in requests:
                    _set(session, q, "cancelled", f"not sent: plan {plan.status}"
                         if not event.retracted else "not sent: the event was retracted")
                result.cancelled[label] = len(requests)
            elif plan.end <= now:
                for q in requests:
                    _set(session, q, EXPIRED, f"never accepted before the window closed "
                         f"({plan.end:%Y-%m-%d %H:%M} UTC); last {q.detail}")
                result.expired[label] = len(requests)
            else:
                _send_again(session, plan, event, tel, requests, settings, facility_for,
                            result, label)
            session.commit()
        for pk in sorted(set(result.events)):
            _clear_recovered_submission(session, pk, now)
        session.commit()
    return result


#: Prefix of the reason :func:`tooflow.runs.failures.failure_reason` gives a failed submission.
_SUBMIT_FAILED = "submit failed: "


def _clear_recovered_submission(session: Session, event_pk: int, now: dt.datetime) -> None:
    """A notice that failed only because a queue refused is done once every request went.

    While any request of the event is still ``unsent`` (or ``expired``) the
    notice stays ``failed``; once all were accepted its status reads ``done``
    again, and its error says the failure was resolved (kept as history, like
    the event's ``last_error``), so ``tooflow health`` stops asking for action.
    """
    waiting = session.exec(select(QueueRequestRow.id).where(
        QueueRequestRow.event_pk == event_pk,
        QueueRequestRow.status.in_((UNSENT, EXPIRED)))).first()
    if waiting is not None:
        return
    failed = session.exec(select(Notice).where(
        Notice.event_pk == event_pk, Notice.status == NoticeStatus.failed.value)).all()
    for notice in failed:
        if (notice.error or "").startswith(_SUBMIT_FAILED):
            notice.status = NoticeStatus.done.value
            notice.error = (f"resolved {now:%Y-%m-%d %H:%M} UTC, every request accepted "
                            f"later: {notice.error}")
            session.add(notice)


def _send_again(session: Session, plan: Plan, event: Event, tel: str,
                requests: list[QueueRequestRow], settings: Settings, facility_for,
                result: ResubmitResult, label: str) -> None:
    # a re-request (KEY:rN) is sent again under its own key
    attempts = {base_request_key(q.request_key): request_attempt(q.request_key)
                for q in requests}
    planned = session.exec(select(PlannedObservationRow).where(
        PlannedObservationRow.plan_id == plan.id, PlannedObservationRow.telescope == tel)).all()
    observations = [_planned(r, event.event_id, attempts[r.request_key]) for r in planned
                    if r.request_key in attempts]
    try:
        facility = facility_for(tel, settings)
    except Exception as exc:  # noqa: BLE001 - recorded per telescope
        error = redact(f"{type(exc).__name__}: {exc}")
    else:
        with facility:
            try:
                states = facility.submit(observations, event_id=event.event_id,
                                         program=plan.program, window=(plan.start, plan.end))
            except FacilityError as exc:
                error = redact(str(exc))
            else:
                for state in states:
                    _insert(session, event.id, plan.id, state)
                result.submitted[label] = len(states)
                result.events.append(event.id)
                if plan.status == "planned":
                    plan.status = "submitted"
                    session.add(plan)
                return
            finally:
                store_transactions(session, facility, event.id)
    result.errors[label] = error
    result.still_unsent[label] = _keep_unsent(session, event.id, plan.id, observations, error)


def submitted_programs(event_pk: int, *, engine: Engine) -> tuple[str, list[str]]:
    """The event's name and the programs with a submitted plan (what a monitor follows)."""
    with Session(engine) as session:
        event = session.get(Event, event_pk)
        programs = session.exec(select(Plan.program).where(
            Plan.event_pk == event_pk, Plan.status == "submitted").distinct()).all()
    return event.event_id, sorted(programs)
