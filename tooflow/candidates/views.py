"""Everything about candidates as plain data: one candidate's page, an event's ranked list.

These are what ``tooflow candidate NAME`` / ``tooflow candidates EVENT_ID`` print
and what the web pages render: functions of the database only, returning
dataclasses, with plain-text renderings beside them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..db import get_engine
from ..models import (
    Candidate,
    CandidateAlert,
    CandidateCutout,
    CandidateEvent,
    CandidateFollowup,
    CandidatePhotometry,
    CandidateVetting,
    Event,
)
from .vetting import find_candidate

__all__ = ["CandidateView", "RankedCandidate", "count_ranked", "event_candidates",
           "load_candidate_view", "ranked_candidate", "ranked_links", "render_candidate_text",
           "render_ranked_markdown", "render_ranked_text"]


@dataclass
class CandidateView:
    """One candidate with its photometry, cutouts, vetting, follow-up and events."""

    candidate: Candidate
    photometry: list[CandidatePhotometry]
    cutouts: dict[str, CandidateCutout]
    vetting: list[CandidateVetting]
    followups: list[CandidateFollowup]
    events: list[tuple[str, CandidateEvent]]
    alerts: list[CandidateAlert] = field(default_factory=list)

    @property
    def detections(self) -> list[CandidatePhotometry]:
        """Detections, oldest first."""
        return [p for p in self.photometry if not p.is_upper_limit]

    @property
    def upper_limits(self) -> list[CandidatePhotometry]:
        """Non-detections (limiting magnitudes), oldest first."""
        return [p for p in self.photometry if p.is_upper_limit]


@dataclass(frozen=True)
class RankedCandidate:
    """A candidate as ranked for an event: score, rank and the factors behind it."""

    rank: int
    name: str
    facility: str
    ra: float
    dec: float
    score: float | None
    factors: dict[str, Any]
    state: str
    first_detected: dt.datetime | None
    first_mag: float | None
    first_filter: str | None
    last_mag: float | None
    last_filter: str | None
    classification: str | None
    redshift: float | None
    report: bool
    notified: bool
    listed: bool


def load_candidate_view(name: str, *, engine: Engine | None = None) -> CandidateView:
    """Everything stored about the candidate called ``name``.

    Raises
    ------
    tooflow.candidates.vetting.VettingError
        When no candidate has that name.
    """
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        cand = find_candidate(session, name)
        phot = session.exec(select(CandidatePhotometry)
                            .where(CandidatePhotometry.candidate_pk == cand.id)
                            .order_by(CandidatePhotometry.jd)).all()
        latest = cand.latest_alert_id
        cutouts = {}
        if latest is not None:
            cutouts = {c.kind: c for c in session.exec(
                select(CandidateCutout).where(CandidateCutout.alert_id == latest)).all()}
        vetting = session.exec(select(CandidateVetting)
                               .where(CandidateVetting.candidate_pk == cand.id)
                               .order_by(CandidateVetting.id)).all()
        followups = session.exec(select(CandidateFollowup)
                                 .where(CandidateFollowup.candidate_pk == cand.id)
                                 .order_by(CandidateFollowup.id)).all()
        events = session.exec(select(Event.event_id, CandidateEvent)
                              .join(CandidateEvent, CandidateEvent.event_pk == Event.id)
                              .where(CandidateEvent.candidate_pk == cand.id)
                              .order_by(CandidateEvent.ranked_at)).all()
        alerts = session.exec(select(CandidateAlert)
                              .where(CandidateAlert.candidate_pk == cand.id)
                              .order_by(CandidateAlert.id)).all()
        return CandidateView(cand, list(phot), cutouts, list(vetting), list(followups),
                             [(e, ce) for e, ce in events], list(alerts))


def _ranked_where(event_pk: int, include_all: bool) -> list:
    where = [CandidateEvent.event_pk == event_pk]
    if not include_all:
        listed = CandidateEvent.factors["listed"].as_boolean()
        where += [Candidate.state != "rejected", or_(listed.is_(None), listed)]
    return where


def count_ranked(session: Session, event_pk: int, *, include_all: bool = False) -> int:
    """How many candidates :func:`ranked_links` would return without a limit."""
    return session.exec(select(func.count(CandidateEvent.id))
                        .join(Candidate, Candidate.id == CandidateEvent.candidate_pk)
                        .where(*_ranked_where(event_pk, include_all))).one()


def ranked_links(session: Session, event_pk: int, *, include_all: bool = False,
                 offset: int = 0, limit: int | None = None
                 ) -> list[tuple[CandidateEvent, Candidate]]:
    """An event's (link, candidate) rows by stored score, best first, then name; in SQL.

    The scores are the ones the ranking stored on ``candidate_event``; nothing
    is ranked again. The narrow (id, score, name) rows are sorted and cut to
    ``offset``/``limit`` first, then only those rows' full rows (their
    factors) are read, so the first five of 10,000 cost what five cost.

    Parameters
    ----------
    session : Session
    event_pk : int
    include_all : bool
        Also those below the listing threshold (``factors.listed`` false) and
        those rejected in vetting.
    offset, limit : int
        The slice of the ranked list (``limit`` None: to its end).
    """
    query = (select(CandidateEvent.id)
             .join(Candidate, Candidate.id == CandidateEvent.candidate_pk)
             .where(*_ranked_where(event_pk, include_all))
             .order_by(CandidateEvent.score.desc().nulls_last(), Candidate.name)
             .offset(offset))
    if limit is not None:
        query = query.limit(limit)
    ids = session.exec(query).all()
    order = {i: n for n, i in enumerate(ids)}
    rows = []
    for start in range(0, len(ids), 500):  # bound the IN list
        rows += session.exec(select(CandidateEvent, Candidate)
                             .join(Candidate, Candidate.id == CandidateEvent.candidate_pk)
                             .where(CandidateEvent.id.in_(ids[start:start + 500]))).all()
    return sorted(((link, cand) for link, cand in rows), key=lambda r: order[r[0].id])


def event_candidates(event_id: str, *, include_all: bool = False, limit: int | None = None,
                     engine: Engine | None = None) -> list[RankedCandidate]:
    """The ranked candidates of an event, best first (by the stored scores).

    Parameters
    ----------
    event_id : str
        ``S230518h``, ``MS181101ab``...
    include_all : bool
        Also those below the listing threshold and those rejected in vetting
        (by default only listed candidates not rejected).
    limit : int, optional
        Only the best ``limit`` (read as such in SQL; :func:`count_ranked`
        says how many there are).

    Raises
    ------
    LookupError
        When there is no such event.
    """
    engine = engine or get_engine()
    with Session(engine) as session:
        event = session.exec(select(Event).where(Event.event_id == event_id)).first()
        if event is None:
            raise LookupError(f"no event {event_id!r}; `tooflow events` lists them")
        rows = ranked_links(session, event.id, include_all=include_all, limit=limit)
        return [ranked_candidate(link, cand, rank)
                for rank, (link, cand) in enumerate(rows, 1)]


def ranked_candidate(link: CandidateEvent, cand: Candidate, rank: int) -> RankedCandidate:
    """One row of :func:`ranked_links` as a :class:`RankedCandidate`."""
    return RankedCandidate(
        rank=rank, name=cand.name, facility=cand.facility, ra=cand.ra, dec=cand.dec,
        score=link.score, factors=dict(link.factors or {}), state=cand.state,
        first_detected=cand.first_detected, first_mag=cand.first_mag,
        first_filter=cand.first_filter, last_mag=cand.last_mag,
        last_filter=cand.last_filter, classification=cand.classification,
        redshift=cand.redshift, report=cand.report,
        notified=link.notified_at is not None,
        listed=bool((link.factors or {}).get("listed", True)))


def _utc(t: dt.datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _mag(m: float | None, f: str | None) -> str:
    return f"{m:.2f} {f}" if m is not None else "-"


def render_ranked_text(event_id: str, ranked: list[RankedCandidate]) -> str:
    """The ranked table with each candidate's factors, as plain text."""
    if not ranked:
        return f"{event_id}: no candidates ranked (yet)\n"
    lines = [f"{event_id}: {len(ranked)} candidate(s), best first", "",
             f"{'#':>3} {'name':<14} {'score':>6} {'RA':>10} {'Dec':>10} "
             f"{'first detected (UTC)':<20} {'first mag':<11} {'state':<20}"]
    for r in ranked:
        score = f"{r.score:6.2f}" if r.score is not None else "     -"
        mark = " [report]" if r.report else ""
        lines.append(f"{r.rank:>3} {r.name:<14} {score} {r.ra:10.5f} {r.dec:+10.5f} "
                     f"{_utc(r.first_detected):<20} {_mag(r.first_mag, r.first_filter):<11} "
                     f"{r.state:<20}{mark}")
        for factor in r.factors.get("factors", []):
            if isinstance(factor, dict):
                lines.append(f"      {factor.get('name', '?'):<14} "
                             f"{float(factor.get('contribution', factor.get('term', 0))):+6.2f}"
                             f"  {factor.get('why', '')}")
    return "\n".join(lines) + "\n"


def render_candidate_text(view: CandidateView) -> str:
    """One candidate's history and light curve, as plain text."""
    c = view.candidate
    lines = [f"{c.name} ({c.facility})  RA {c.ra:.6f}  Dec {c.dec:+.6f}  state: {c.state}"]
    if c.classification:
        z = f", z = {c.redshift:g}" if c.redshift is not None else ""
        lines.append(f"classified: {c.classification}{z}")
    lines.append(f"first detected {_utc(c.first_detected)} at {_mag(c.first_mag, c.first_filter)}"
                 f"; last {_utc(c.last_detected)} at {_mag(c.last_mag, c.last_filter)}; "
                 f"{c.n_detections} detection(s), {len(view.upper_limits)} upper limit(s)")
    scores = {k: v for k, v in (c.scores or {}).items()
              if k in ("rb", "drb", "sgscore1", "distpsnr1", "ssdistnr", "ndethist")}
    if scores:
        lines.append("scores: " + ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in scores.items() if v is not None))
    if view.events:
        lines += ["", "events:"]
        lines += [f"  {event_id}: score {link.score:.2f}" if link.score is not None
                  else f"  {event_id}" for event_id, link in view.events]
    lines += ["", "light curve (UTC, filter, mag ± err | > limit, facility; a negative "
                  "difference is the source fainter than in the template):"]
    for p in view.photometry:
        value = (f"{p.mag:6.2f} ± {p.magerr:.2f}" if not p.is_upper_limit and p.magerr is not None
                 else f"{p.mag:6.2f}" if not p.is_upper_limit
                 else f"> {p.limiting_mag:.2f}" if p.limiting_mag is not None else "?")
        negative = "  negative difference" if p.isdiffpos is False else ""
        lines.append(f"  {_utc(p.time)}  {p.filter:<8} {value:<16} {p.facility}"
                     f"{'/' + p.instrument if p.instrument and p.instrument != p.facility else ''}"
                     f"{negative}")
    lines += ["", "vetting:"]
    if not view.vetting:
        lines.append("  (none)")
    for v in view.vetting:
        extra = "; ".join(x for x in (
            f"reason: {v.reason}" if v.reason else "",
            f"class: {v.classification}" if v.classification else "",
            f"z = {v.redshift:g}" if v.redshift is not None else "",
            f"ref: {v.reference}" if v.reference else "",
            ("marked for the circular" if v.report else "unmarked for the circular")
            if v.report is not None else "",
            v.comment or "") if x)
        lines.append(f"  {_utc(v.created)}  {v.author:<12} {v.state:<20} {extra}")
    if view.followups:
        lines += ["", "follow-up requests:"]
        lines += [f"  {f.facility:<13} {f.kind:<12} {f.status:<10} {f.request_key}"
                  f"{'  (' + f.error + ')' if f.error else ''}" for f in view.followups]
    return "\n".join(lines) + "\n"


def render_ranked_markdown(event_id: str, ranked: list[RankedCandidate], *,
                           thumbnails: dict[str, str | None] | None = None,
                           top: int = 20) -> str:
    """The event's top candidates as a markdown table (the flow's artifact).

    ``thumbnails`` maps names to ``data:`` URIs of their difference cutouts.
    """
    thumbnails = thumbnails or {}
    if not ranked:
        return f"### {event_id}: no candidates\n\nNo candidate associated with the event yet.\n"
    lines = [f"### {event_id}: top candidates ({min(top, len(ranked))} of {len(ranked)})", "",
             "| # | name | difference | score | RA | Dec | first detected (UTC) | mag | state |"
             " top factors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in ranked[:top]:
        uri = thumbnails.get(r.name)
        thumb = f"![{r.name} difference]({uri})" if uri else "–"
        factors = sorted((f for f in r.factors.get("factors", []) if isinstance(f, dict)),
                         key=lambda f: -abs(float(f.get("contribution", 0.0))))[:3]
        why = "; ".join(f"{f.get('name')} {float(f.get('contribution', 0.0)):+.1f}"
                        for f in factors)
        score = f"{r.score:.2f}" if r.score is not None else "–"
        lines.append(f"| {r.rank} | {r.name} | {thumb} | {score} | {r.ra:.5f} | {r.dec:+.5f} | "
                     f"{_utc(r.first_detected)} | {_mag(r.first_mag, r.first_filter)} | "
                     f"{r.state}{' (report)' if r.report else ''} | {why} |")
    return "\n".join(lines) + "\n"
