"""Vetting a candidate: states, comments, who and when — appended, never overwritten.

States (docs/candidates.md, "Vetting")::

    new → interesting → follow-up requested → rejected (with a reason)
                                             → classified (class; redshift, reference)

Any state may move to any other except back to ``new`` (a rejected candidate
can be reopened as interesting; a classification can be revised); a comment
alone keeps the state. Every action is a ``candidate_vetting`` row; the
candidate row only caches the latest state, class, redshift and the mark for
the circular's table. A vetting action may request follow-up from a pointed
facility (:func:`request_followup`), through the same adapters and idempotent
request keys as planned observations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..db import get_engine
from ..guards.text import redact
from ..models import (
    Candidate,
    CandidateFollowup,
    CandidateVetting,
    Event,
    VettingState,
)
from ..models._types import utcnow
from ..observations import PlannedObservation
from ..records.transactions import store_transactions
from .config import CandidateConfig

__all__ = ["FollowupResult", "VettingError", "VettingResult", "find_candidate", "history",
           "request_followup", "vet"]

#: Follow-up requests are valid this long from the vetting action.
FOLLOWUP_WINDOW = dt.timedelta(hours=24)


class VettingError(ValueError):
    """A vetting action that cannot be taken (unknown candidate, missing reason, ...)."""


@dataclass(frozen=True)
class FollowupResult:
    """What a follow-up request became."""

    followup_id: int
    facility: str
    request_key: str
    status: str
    created: bool
    error: str | None = None


@dataclass(frozen=True)
class VettingResult:
    """The action recorded and the candidate's state after it."""

    vetting_id: int
    candidate_pk: int
    name: str
    state: str
    followups: list[FollowupResult] = field(default_factory=list)


def find_candidate(session: Session, name: str) -> Candidate:
    """The candidate called ``name`` (case-insensitive for ZTF-style names).

    Raises
    ------
    VettingError
        When no candidate has that name.
    """
    cand = session.exec(select(Candidate).where(Candidate.name == name)
                        .order_by(Candidate.id)).first()
    if cand is None:
        cand = session.exec(select(Candidate).where(Candidate.name.ilike(name))
                            .order_by(Candidate.id)).first()
    if cand is None:
        raise VettingError(f"no candidate named {name!r}")
    return cand


def vet(name: str, *, author: str, state: str | None = None, comment: str | None = None,
        reason: str | None = None, classification: str | None = None,
        redshift: float | None = None, reference: str | None = None,
        report: bool | None = None, event_id: str | None = None,
        followup: list[str] | None = None, engine: Engine | None = None,
        settings: Settings | None = None, facility_for: Callable | None = None,
        now: dt.datetime | None = None) -> VettingResult:
    """Record one vetting action on a candidate.

    Parameters
    ----------
    name : str
        The candidate (``ZTF18aaxjdyr``).
    author : str
        Who vets (a user name; required).
    state : str, optional
        A :class:`~tooflow.models.VettingState` value; None keeps the state
        (a comment).
    comment, reason, classification, redshift, reference
        ``rejected`` needs ``reason``; ``classified`` needs ``classification``.
    report : bool, optional
        Mark (True) or unmark (False) the candidate for the circular's table.
    event_id : str, optional
        The event it is vetted for.
    followup : list of str, optional
        Facilities to request follow-up from (``KPED``, ``GROWTH-India``, a
        configured spectrograph); implies state ``follow-up requested`` when no
        state is given.
    engine, settings, facility_for, now
        Database, configuration, the adapter factory (default
        :func:`tooflow.facilities.routing.facility_for`), the present.

    Returns
    -------
    VettingResult

    Raises
    ------
    VettingError
        Unknown candidate, event, state or follow-up facility; a missing
        reason or class; a move back to ``new``; an empty action.
    """
    engine = engine or get_engine()
    now = now or dt.datetime.now(dt.UTC)
    author = (author or "").strip()
    if not author:
        raise VettingError("who vets? (author is required)")
    followup = list(followup or [])
    if followup and state is None:
        state = VettingState.follow_up_requested.value
    if state is not None:
        try:
            state = VettingState(state).value
        except ValueError:
            raise VettingError(f"unknown state {state!r} (states: "
                               f"{', '.join(s.value for s in VettingState)})") from None
    if state == VettingState.new.value:
        raise VettingError("a candidate cannot go back to 'new'")
    if state == VettingState.rejected.value and not (reason or "").strip():
        raise VettingError("rejecting needs a reason")
    if state == VettingState.classified.value and not (classification or "").strip():
        raise VettingError("classifying needs a class (--class)")
    if redshift is not None and not 0.0 <= redshift < 20.0:
        raise VettingError(f"redshift {redshift} is not plausible")
    if state is None and not any([comment, report is not None, classification, reference]):
        raise VettingError("nothing to record: give a state, a comment or --report")
    config = CandidateConfig.from_settings(settings or load_settings()) if followup else None
    if config is not None:
        unknown = [f for f in followup if f not in config.followup]
        if unknown:
            raise VettingError(f"no follow-up facility {unknown} configured "
                               f"(candidates.followup: {', '.join(config.followup)})")
    with Session(engine, expire_on_commit=False) as session:
        cand = find_candidate(session, name)
        event_pk = None
        if event_id:
            event = session.exec(select(Event).where(Event.event_id == event_id)).first()
            if event is None:
                raise VettingError(f"no event {event_id!r}")
            event_pk = event.id
        row = CandidateVetting(candidate_pk=cand.id, event_pk=event_pk, state=state or cand.state,
                               reason=reason, classification=classification,
                               redshift=redshift, reference=reference, report=report,
                               comment=comment, author=author, created=now)
        session.add(row)
        if state is not None:
            cand.state = state
        if classification:
            cand.classification = classification
        if redshift is not None:
            cand.redshift = redshift
        if report is not None:
            cand.report = report
        cand.updated = utcnow()
        session.add(cand)
        session.commit()
        result = VettingResult(row.id, cand.id, cand.name, cand.state)
    for facility in followup:
        result.followups.append(request_followup(
            cand.id, facility, vetting_id=row.id, event_id=event_id, engine=engine,
            settings=settings, config=config, facility_for=facility_for, now=now))
    return result


def history(name: str, *, engine: Engine | None = None) -> list[CandidateVetting]:
    """Every vetting action on a candidate, oldest first."""
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        cand = find_candidate(session, name)
        return list(session.exec(select(CandidateVetting)
                                 .where(CandidateVetting.candidate_pk == cand.id)
                                 .order_by(CandidateVetting.id)).all())


def request_followup(candidate_pk: int, facility: str, *, vetting_id: int | None = None,
                     event_id: str | None = None, engine: Engine | None = None,
                     settings: Settings | None = None, config: CandidateConfig | None = None,
                     facility_for: Callable | None = None,
                     now: dt.datetime | None = None) -> FollowupResult:
    """Ask a pointed facility to observe a candidate; never the same request twice.

    The request is a :class:`~tooflow.observations.PlannedObservation` of the
    candidate's position (target = its name) sent through the facility's
    adapter (:func:`tooflow.facilities.routing.facility_for`: the simulator unless
    the ``facilities`` section names a real queue). Its request key
    (``[event:]facility:name:filter:1``) is unique: a request already accepted
    is not sent again; one that failed is sent again.

    Returns
    -------
    FollowupResult
        ``status`` is the queue's (``queued``...) or ``unsent`` with ``error``
        when the queue did not take it (kept, so a later call sends it).
    """
    engine = engine or get_engine()
    settings = settings or load_settings()
    config = config or CandidateConfig.from_settings(settings)
    now = now or dt.datetime.now(dt.UTC)
    spec = config.followup.get(facility)
    if spec is None:
        raise VettingError(f"no follow-up facility {facility!r} configured")
    if facility_for is None:
        from ..facilities.routing import facility_for
    kind = str(spec.get("kind", "photometry"))
    band = str(spec.get("filter", "spec" if kind == "spectroscopy" else "r"))
    with Session(engine, expire_on_commit=False) as session:
        cand = session.get(Candidate, candidate_pk)
        event_pk = None
        if event_id:
            event = session.exec(select(Event).where(Event.event_id == event_id)).first()
            event_pk = event.id if event else None
        obs = PlannedObservation(telescope=facility, ra=cand.ra, dec=cand.dec, filter=band,
                                 exposure_time=float(spec.get("exposure_time", 300.0)),
                                 start_time=now, target=cand.name, event_id=event_id)
        key = obs.request_key
        row = session.exec(select(CandidateFollowup).where(
            CandidateFollowup.facility == facility,
            CandidateFollowup.request_key == key)).first()
        created = row is None
        if row is not None and row.status not in ("unsent", "failed"):
            return FollowupResult(row.id, facility, key, row.status, False, row.error)
        if row is None:
            row = CandidateFollowup(candidate_pk=cand.id, event_pk=event_pk,
                                    vetting_id=vetting_id, facility=facility, kind=kind,
                                    request_key=key)
            session.add(row)
            session.commit()
        try:
            adapter = facility_for(facility, settings)
            with adapter:
                try:
                    (answer,) = adapter.submit([obs], event_id=event_id or cand.name,
                                               window=(now, now + FOLLOWUP_WINDOW))
                finally:
                    store_transactions(session, adapter, event_pk)
            row.status, row.queue_id, row.error = answer.status, answer.queue_id, None
        except Exception as exc:  # noqa: BLE001 - recorded on the row, sent again later
            row.status, row.error = "unsent", redact(f"{type(exc).__name__}: {exc}")[:2000]
        row.updated = utcnow()
        session.add(row)
        session.commit()
        return FollowupResult(row.id, facility, key, row.status, created, row.error)
