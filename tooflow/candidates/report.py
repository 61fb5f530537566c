"""The candidates an event's circular reports: those marked for reporting in vetting."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from ..models import Candidate, CandidateEvent, CandidateVetting

__all__ = ["circular_candidates"]

_MPC = re.compile(r"\bat (\d+(?:\.\d+)?) Mpc\b")


def circular_candidates(session: Session, event_pk: int) -> list | None:
    """:class:`tooflow.circulars.Candidate` rows for the event's circular, best score first.

    Only candidates associated with the event and marked for reporting
    (``tooflow vet NAME --report``) and not rejected. None when none is marked:
    the circular then says nothing about a candidate search (whether "no
    candidate passed" is true is the astronomer's call, not the database's).
    """
    from ..circulars import Candidate as CircularCandidate

    rows = session.exec(
        select(CandidateEvent, Candidate)
        .join(Candidate, Candidate.id == CandidateEvent.candidate_pk)
        .where(CandidateEvent.event_pk == event_pk, Candidate.report == True,  # noqa: E712
               Candidate.state != "rejected")).all()
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (-(r[0].score if r[0].score is not None else -1e9),
                                       r[1].name))
    out = []
    for link, cand in rows:
        host, distance = _host(link.factors or {})
        out.append(CircularCandidate(
            name=cand.name, ra=cand.ra, dec=cand.dec, discovery_time=cand.first_detected,
            magnitude=cand.first_mag, filter=_band(cand.first_filter), host=host,
            host_distance_mpc=distance, notes=_notes(session, cand)))
    return out


def _band(name: str | None) -> str | None:
    """``ztfr`` → ``r`` (circulars name the band, not the instrument)."""
    if name is None:
        return None
    return name.removeprefix("ztf").removeprefix("sdss").split("::")[-1]


def _host(factors: dict) -> tuple[str | None, float | None]:
    for f in factors.get("factors", []):
        if isinstance(f, dict) and f.get("name") == "host" and f.get("value"):
            match = _MPC.search(str(f.get("why", "")))
            return str(f["value"]), float(match[1]) if match else None
    return None, None


def _notes(session: Session, cand: Candidate) -> str | None:
    if cand.classification:
        text = f"classified {cand.classification}"
        if cand.redshift is not None:
            text += f" at z = {cand.redshift:g}"
        ref = session.exec(select(CandidateVetting.reference).where(
            CandidateVetting.candidate_pk == cand.id,
            CandidateVetting.reference.is_not(None)).order_by(CandidateVetting.id.desc())).first()
        return f"{text} ({ref})" if ref else text
    comment = session.exec(select(CandidateVetting.comment).where(
        CandidateVetting.candidate_pk == cand.id, CandidateVetting.comment.is_not(None))
        .order_by(CandidateVetting.id.desc())).first()
    return comment
