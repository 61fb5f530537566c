"""Associate and rank an event's candidates, record the numbers, tell the astronomer once.

The science is in :mod:`tooflow.candidates.association` (inside the credible
region, new since the event) and :mod:`tooflow.candidates.ranking` (the score
and its factors); this module reads the rows those plain functions need,
calls them, and stores what they return on ``candidate_event`` — one row per
(candidate, event), updated when the event's map or the candidate's light
curve changes. A candidate whose score reaches ``candidates.notify_threshold``
notifies the on-duty astronomer once (``notified_at``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..models import Candidate, CandidateEvent, CandidatePhotometry, Event, Localization
from ..models._types import utcnow
from .config import CandidateConfig

__all__ = ["EventScoring", "active_events", "candidate_infos", "events_for_candidates",
           "notify_candidates", "score_event_candidates"]

#: Candidates first detected this long after an event are still considered for it.
ACTIVE_DAYS = 14.0


@dataclass
class EventScoring:
    """What one event's association and ranking found."""

    event_pk: int
    event_id: str
    considered: int = 0
    associated: int = 0
    listed: int = 0
    top: list[tuple[str, float]] = field(default_factory=list)
    skipped: str | None = None


def active_events(session: Session, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """Events with a localization, not retracted, whose time falls in ``[since, until]``.

    Candidates detected at ``t`` are looked for among events of
    ``[t - ACTIVE_DAYS, t]``: the flow passes the span of its batch.
    """
    with_map = select(Localization.event_pk).where(Localization.skymap_sha256.is_not(None))
    return list(session.exec(select(Event).where(
        Event.time >= since, Event.time <= until, Event.retracted == False,  # noqa: E712
        Event.id.in_(with_map)).order_by(Event.time)).all())


def events_for_candidates(session: Session, candidate_ids: list[int]) -> list[int]:
    """Pks of the active events (:func:`active_events`) the candidates' detections may follow."""
    cands = session.exec(select(Candidate).where(Candidate.id.in_(candidate_ids))).all()
    times = [t for c in cands for t in (c.first_detected, c.last_detected) if t]
    if not times:
        return []
    since = min(times) - dt.timedelta(days=ACTIVE_DAYS)
    return [e.id for e in active_events(session, since, max(times))]


def candidate_infos(session: Session, candidates: list[Candidate]) -> list[Any]:
    """:class:`~tooflow.candidates.association.CandidateInfo` of candidate rows."""
    from .association import CandidateInfo, Photometry

    if not candidates:
        return []
    by_pk: dict[int, list[Photometry]] = {c.id: [] for c in candidates}
    for p in session.exec(select(CandidatePhotometry).where(
            CandidatePhotometry.candidate_pk.in_(list(by_pk)))).all():
        by_pk[p.candidate_pk].append(Photometry(jd=p.jd, filter=p.filter, mag=p.mag,
                                                magerr=p.magerr, limiting_mag=p.limiting_mag))
    return [CandidateInfo(name=c.name, ra=c.ra, dec=c.dec, photometry=by_pk[c.id],
                          jdstarthist=(c.scores or {}).get("jdstarthist"),
                          scores=dict(c.scores or {})) for c in candidates]


def _galaxies(settings: Settings):
    """The configured local galaxy catalogue (``galaxies.catalog``), or None."""
    from ..planning.galaxies import read_galaxy_catalog

    path = settings.galaxies.for_telescope(None).get("catalog")
    return read_galaxy_catalog(path) if path else None


def score_event_candidates(event_pk: int, *, engine: Engine, settings: Settings,
                           candidate_ids: list[int] | None = None,
                           flow_run_id: str | None = None) -> EventScoring:
    """Associate and rank candidates for one event; store the score and factors.

    Parameters
    ----------
    event_pk : int
        The event.
    engine, settings
        Database and configuration (``candidates.ranking`` weights,
        ``galaxies.catalog`` for the host factor).
    candidate_ids : list of int, optional
        The candidates to (re)consider (a batch); default: every candidate
        detected between the event and :data:`ACTIVE_DAYS` after it.
    flow_run_id : str, optional
        Recorded on the rows.

    Returns
    -------
    EventScoring
        ``skipped`` says why nothing was done (no sky map, no candidate).
    """
    from ..records.event import load_event_moc
    from .association import EventLocalization, associate
    from .ranking import rank_candidates
    from .weights import RankingWeights

    with Session(engine, expire_on_commit=False) as session:
        event = session.get(Event, event_pk)
        result = EventScoring(event_pk, event.event_id)
        moc, _loc = load_event_moc(session, event_pk, settings)
        if moc is None:
            result.skipped = "the event has no sky map"
            return result
        query = select(Candidate)
        if candidate_ids is not None:
            query = query.where(Candidate.id.in_(candidate_ids))
        else:
            query = query.where(Candidate.last_detected >= event.time,
                                Candidate.last_detected
                                <= event.time + dt.timedelta(days=ACTIVE_DAYS))
        cands = list(session.exec(query.order_by(Candidate.id)).all())
        if not cands:
            result.skipped = "no candidate to consider"
            return result
        infos = candidate_infos(session, cands)
        where = EventLocalization.from_moc(moc, event.time, event.event_id)
        conf = settings.candidates.association
        associations = associate(infos, where, level=conf.level if conf else 0.9,
                                 margin_days=conf.margin_days if conf else 0.0)
        section = getattr(settings.candidates, "ranking", None)
        if hasattr(section, "model_dump"):
            section = section.model_dump(exclude_unset=True)
        ranked = rank_candidates(associations, where, galaxies=_galaxies(settings),
                                 weights=RankingWeights.from_config(section))
        by_name = {c.name: c for c in cands}
        links = {link.candidate_pk: link for link in session.exec(
            select(CandidateEvent).where(CandidateEvent.event_pk == event_pk,
                                         CandidateEvent.candidate_pk.in_(
                                             [c.id for c in cands]))).all()}
        now = utcnow()
        ranked_names = set()
        for r in ranked:
            cand = by_name[r.candidate.name]
            ranked_names.add(cand.name)
            link = links.get(cand.id) or CandidateEvent(candidate_pk=cand.id, event_pk=event_pk)
            link.score, link.factors = float(r.score), r.as_dict()
            link.flow_run_id, link.ranked_at = flow_run_id, now
            session.add(link)
        for a in associations:  # linked before, no longer associated (a newer map)
            cand = by_name[a.candidate.name]
            if cand.name not in ranked_names and cand.id in links:
                link = links[cand.id]
                link.score = None
                link.factors = {"listed": False, "association": a.as_dict(), "factors": []}
                link.flow_run_id, link.ranked_at = flow_run_id, now
                session.add(link)
        session.commit()
        result.considered = len(cands)
        result.associated = sum(1 for a in associations if a.associated)
        result.listed = sum(1 for r in ranked if r.listed)
        result.top = [(r.candidate.name, round(float(r.score), 3)) for r in ranked[:10]]
        return result


def notify_candidates(event_pk: int, *, engine: Engine, settings: Settings,
                      config: CandidateConfig | None = None, flow_run_url: str | None = None,
                      now: dt.datetime | None = None, environ=None) -> list[str]:
    """Tell the on-duty astronomer about candidates at or above the threshold, once each.

    A (candidate, event) is claimed by setting ``notified_at`` where it is still
    empty, so two flow runs never both send it. Rejected candidates are not sent.

    Returns
    -------
    list of str
        Names of the candidates notified now.
    """
    config = config or CandidateConfig.from_settings(settings)
    if config.notify_threshold is None:
        return []
    now = now or dt.datetime.now(dt.UTC)
    sent: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(CandidateEvent, Candidate)
            .join(Candidate, Candidate.id == CandidateEvent.candidate_pk)
            .where(CandidateEvent.event_pk == event_pk,
                   CandidateEvent.notified_at.is_(None),
                   CandidateEvent.score >= config.notify_threshold,
                   Candidate.state != "rejected")
            .order_by(CandidateEvent.score.desc())).all()
        for link, cand in rows:
            claimed = session.execute(
                update(CandidateEvent).where(CandidateEvent.id == link.id,
                                             CandidateEvent.notified_at.is_(None))
                .values(notified_at=now)).rowcount
            session.commit()
            if claimed != 1:
                continue
            first = (f", first detected {cand.first_detected:%Y-%m-%d %H:%M} UTC at "
                     f"{cand.first_mag:.2f} {cand.first_filter}"
                     if cand.first_detected and cand.first_mag is not None else "")
            detail = (f"Candidate {cand.name} ({cand.facility}) scores {link.score:.2f} "
                      f"(threshold {config.notify_threshold:g}): RA {cand.ra:.5f}, "
                      f"Dec {cand.dec:+.5f}{first}. tooflow candidate {cand.name}")
            _notify(session, event_pk, detail, settings=settings, flow_run_url=flow_run_url,
                    now=now, environ=environ)
            sent.append(cand.name)
    return sent


def _notify(session: Session, event_pk: int, detail: str, *, settings: Settings,
            flow_run_url: str | None, now: dt.datetime, environ) -> None:
    """Send ``candidate_found`` to whoever is on duty and store the deliveries.

    Not through :func:`tooflow.stages.notify.notify_event`, whose "nothing
    changed about the event" rule would hold back a second candidate; here
    ``notified_at`` is what makes it once. A mock event reaches no phone.
    """
    from dataclasses import replace

    from ..models import NotificationRecord
    from ..notify import EventSummary, notify
    from ..records.event import event_fields, latest_localization

    event = session.get(Event, event_pk)
    roster = list(settings.roster)
    if event.is_mock:
        roster = [replace(person, channels=replace(person.channels, phone=None))
                  for person in roster]
    summary = EventSummary.from_fields(event_fields(event, latest_localization(session, event_pk)),
                                       urgent=False, flow_run_url=flow_run_url, detail=detail)
    deliveries = notify(summary, "candidate_found", roster,
                        settings.notifications,
                        now=now, environ=environ)
    session.add_all([NotificationRecord(event_pk=event_pk, fingerprint=summary.fingerprint(),
                                        summary=summary.to_dict(), **d.record_fields())
                     for d in deliveries])
    session.commit()

