"""The candidates an event's circular reports: those marked for reporting in vetting."""

from __future__ import annotations

from sqlmodel import Session, select

from ..models import Candidate, CandidateEvent, CandidateVetting

__all__ = ["circular_candidates"]

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
        host, distance, offset = _host(link.factors or {})
        out.append(CircularCandidate(
            name=cand.name, ra=cand.ra, dec=cand.dec, discovery_time=cand.first_detected,
            magnitude=cand.first_mag, filter=_band(cand.first_filter), host=host,
            host_distance_mpc=distance, host_offset_arcsec=offset,
            notes=_notes(session, cand)))
    return out


def _band(name: str | None) -> str | None:
    """``ztfr`` → ``r`` (circulars name the band, not the instrument)."""
    if name is None:
        return None
    return name.removeprefix("ztf").removeprefix("sdss").split("::")[-1]


def _host(factors: dict) -> tuple[str | None, float | None, float | None]:
    """(name, distance in Mpc, separation in arcsec) of the matched host galaxy.

    Read from the structured ``host`` the ranking stores
    (:class:`tooflow.candidates.ranking.HostGalaxy`). A link ranked before
    that was stored has only the factors' values: the host factor's value is
    the galaxy's name and the distance factor's the host's distance (absent
    when the map had no distance layers); the separation then stays unknown
    until the event's candidates are ranked again.
    """
    from .ranking import HostGalaxy

    if "host" in factors:
        host = HostGalaxy.from_dict(factors["host"])
        return (host.name, host.distance_mpc, host.offset_arcsec) if host else (None, None, None)
    values = {f.get("name"): f.get("value") for f in factors.get("factors", [])
              if isinstance(f, dict)}
    name, distance = values.get("host"), values.get("distance")
    if not name:
        return None, None, None
    return (str(name), float(distance) if isinstance(distance, (int, float)) else None, None)


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
