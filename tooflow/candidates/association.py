"""Which candidates belong to an event: inside its credible region, new since its time.

A candidate is *associated* with an event when

1. its position is inside the event's credible region (90 % by default: the
   sky map's own contour, the smallest region holding that probability, the
   ``searched_prob`` of ligo.skymap's ``crossmatch``), and
2. it was first detected after the event time: no detection earlier than
   ``t0 − margin`` anywhere in its history (the alert's ``jdstarthist``, its
   previous detections), so variable stars and older supernovae are left out.

Everything here is plain data in, plain data out: the candidate flow converts
its rows to :class:`CandidateInfo` and stores the :class:`Association` numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Photometry", "CandidateInfo", "EventLocalization", "Association", "associate",
           "candidate_from_alert", "candidate_from_parsed", "jd_of"]


def jd_of(t: dt.datetime) -> float:
    """Julian date (UTC) of an aware (or naive UTC) datetime."""
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return 2440587.5 + t.timestamp() / 86400.0


@dataclass(frozen=True)
class Photometry:
    """One measurement: a detection (``mag`` set) or an upper limit (``mag`` None)."""

    jd: float
    filter: str
    mag: float | None
    magerr: float | None = None
    limiting_mag: float | None = None

    @property
    def detected(self) -> bool:
        """True for a detection, False for an upper limit."""
        return self.mag is not None


@dataclass
class CandidateInfo:
    """What association and ranking need to know about a candidate.

    Attributes
    ----------
    name : str
        The facility's object name (ZTF: ``objectId``).
    ra, dec : float
        Position, degrees.
    photometry : list of Photometry
        Detections and upper limits (any order). Anything with ``jd``,
        ``filter``, ``mag`` (None for an upper limit) and ``limiting_mag`` will
        do, e.g. the candidate parser's ``PhotometryPoint``.
    jdstarthist : float, optional
        Earliest detection the facility knows of, which may predate the
        photometry it sent (ZTF's ``jdstarthist``).
    scores : dict
        The latest alert's scores: ``rb``, ``drb``, ``sgscore1``, ``distpsnr1``
        (arcsec), ``ssdistnr`` (arcsec), ``ssmagnr``, ``ssnamenr``; ZTF's −999
        means "none within 30 arcsec".
    """

    name: str
    ra: float
    dec: float
    photometry: list[Photometry] = field(default_factory=list)
    jdstarthist: float | None = None
    scores: dict[str, Any] = field(default_factory=dict)

    @property
    def detections(self) -> list[Photometry]:
        """Detections, in time order."""
        return sorted((p for p in self.photometry if p.mag is not None), key=lambda p: p.jd)

    @property
    def first_detected_jd(self) -> float | None:
        """Earliest detection known (history included), JD."""
        jds = [p.jd for p in self.photometry if p.mag is not None]
        if self.jdstarthist is not None and math.isfinite(self.jdstarthist):
            jds.append(float(self.jdstarthist))
        return min(jds) if jds else None


def candidate_from_alert(record: dict[str, Any]) -> CandidateInfo:
    """A :class:`CandidateInfo` from a ZTF alert record (as fastavro reads a packet).

    The candidate flow builds the same from its stored rows; this is for tools
    and drills that hold the packets.
    """
    c = record["candidate"]
    fmap = {1: "g", 2: "r", 3: "i"}
    phot = [Photometry(jd=float(c["jd"]), filter=fmap.get(int(c["fid"]), str(c["fid"])),
                       mag=float(c["magpsf"]), magerr=c.get("sigmapsf"),
                       limiting_mag=c.get("diffmaglim"))]
    for p in record.get("prv_candidates") or []:
        det = p.get("magpsf") is not None and p.get("candid") is not None
        phot.append(Photometry(jd=float(p["jd"]), filter=fmap.get(int(p["fid"]), str(p["fid"])),
                               mag=float(p["magpsf"]) if det else None,
                               magerr=p.get("sigmapsf") if det else None,
                               limiting_mag=p.get("diffmaglim")))
    keys = ("rb", "drb", "sgscore1", "distpsnr1", "ssdistnr", "ssmagnr", "ssnamenr",
            "ndethist")
    return CandidateInfo(name=str(record["objectId"]), ra=float(c["ra"]), dec=float(c["dec"]),
                         photometry=phot, jdstarthist=c.get("jdstarthist"),
                         scores={k: c.get(k) for k in keys})


def candidate_from_parsed(alert: Any) -> CandidateInfo:
    """A :class:`CandidateInfo` from a parsed alert (``tooflow.candidates.ztf.ZtfAlert``:
    ``object_id``, ``ra``, ``dec``, ``photometry``, ``scores``)."""
    scores = dict(alert.scores)
    return CandidateInfo(name=str(alert.object_id), ra=float(alert.ra), dec=float(alert.dec),
                         photometry=list(alert.photometry),
                         jdstarthist=scores.get("jdstarthist"), scores=scores)


@dataclass
class EventLocalization:
    """An event's sky map and time, ready for many position look-ups.

    Build with :meth:`from_moc`. Look-ups go through ligo.skymap's
    ``crossmatch`` (credible level ``searched_prob`` and density at each
    position), and the per-pixel distance ansatz for 3D questions.
    """

    moc: Any
    t0_jd: float
    event_id: str = ""
    has_distance: bool = False
    density_at_level: dict[float, float] = field(default_factory=dict)

    @classmethod
    def from_moc(cls, moc, t0: dt.datetime | float, event_id: str = "") -> EventLocalization:
        """From a multi-order map (``UNIQ``, ``PROBDENSITY``[, ``DIST*``]) and the event time."""
        t0_jd = t0 if isinstance(t0, float) else jd_of(t0)
        has = all(c in moc.colnames for c in ("DISTMU", "DISTSIGMA", "DISTNORM"))
        return cls(moc=moc, t0_jd=float(t0_jd), event_id=event_id, has_distance=has)

    def density_threshold(self, level: float) -> float:
        """Probability density (sr⁻¹) at the edge of the ``level`` credible region."""
        if level not in self.density_at_level:
            from ligo.skymap.moc import uniq2pixarea

            dens = np.asarray(self.moc["PROBDENSITY"], float)
            prob = dens * uniq2pixarea(np.asarray(self.moc["UNIQ"]))
            order = np.argsort(-dens, kind="stable")
            cum = np.cumsum(prob[order])
            k = min(int(np.searchsorted(cum, level * cum[-1])), len(order) - 1)
            self.density_at_level[level] = float(dens[order[k]])
        return self.density_at_level[level]

    def lookup(self, ra, dec) -> dict[str, np.ndarray]:
        """Per position: ``searched_prob`` (credible level), ``probdensity`` (sr⁻¹), the
        map ``row``, and the distance ansatz ``distmu``, ``distsigma``, ``distnorm``
        (NaN without distance layers)."""
        from astropy import units as u
        from astropy.coordinates import SkyCoord
        from ligo.skymap.postprocess.crossmatch import crossmatch

        from tooflow.skymap.summary import moc_rows

        ra = np.atleast_1d(np.asarray(ra, float))
        dec = np.atleast_1d(np.asarray(dec, float))
        if len(ra) == 0:
            empty = np.zeros(0)
            return {"searched_prob": empty, "probdensity": empty, "row": empty.astype(int),
                    "distmu": empty, "distsigma": empty, "distnorm": empty}
        cols = ["UNIQ", "PROBDENSITY"]
        result = crossmatch(self.moc[cols].copy(), SkyCoord(ra * u.deg, dec * u.deg))
        rows = moc_rows(self.moc, ra, dec)
        out = {"searched_prob": np.atleast_1d(result.searched_prob),
               "probdensity": np.atleast_1d(result.probdensity), "row": rows}
        for c in ("DISTMU", "DISTSIGMA", "DISTNORM"):
            if self.has_distance:
                out[c.lower()] = np.where(rows >= 0, np.asarray(self.moc[c], float)[rows],
                                          np.nan)
            else:
                out[c.lower()] = np.full(len(ra), np.nan)
        return out


@dataclass
class Association:
    """One candidate against one event: associated or not, and why."""

    candidate: CandidateInfo
    associated: bool
    reason: str
    searched_prob: float
    probdensity: float
    distmu: float = math.nan
    distsigma: float = math.nan
    distnorm: float = math.nan
    days_after_event: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The numbers to store with the candidate–event link."""
        return {"associated": self.associated, "reason": self.reason,
                "credible_level": round(float(self.searched_prob), 5),
                "probdensity_sr": float(self.probdensity),
                "first_detected_days_after_event": self.days_after_event}


def associate(candidates: list[CandidateInfo], event: EventLocalization, *,
              level: float = 0.9, margin_days: float = 0.0) -> list[Association]:
    """Decide which candidates are associated with an event.

    Parameters
    ----------
    candidates : list of CandidateInfo
    event : EventLocalization
    level : float
        Credible level of the region (0–1): 0.9 keeps the smallest region that
        holds 90 % of the probability.
    margin_days : float
        A detection earlier than ``t0 − margin_days`` disqualifies (0: any
        detection before the event does).

    Returns
    -------
    list of Association
        One per candidate, in input order, with the reason in words.

    Raises
    ------
    ValueError
        For a level outside (0, 1] or a negative margin.
    """
    if not 0 < level <= 1:
        raise ValueError(f"credible level must be in (0, 1], got {level}")
    if margin_days < 0:
        raise ValueError(f"margin_days must be ≥ 0, got {margin_days}")
    look = event.lookup([c.ra for c in candidates], [c.dec for c in candidates])
    out = []
    for i, cand in enumerate(candidates):
        cl = float(look["searched_prob"][i])
        first = cand.first_detected_jd
        after = None if first is None else first - event.t0_jd
        if cl > level:
            ok, why = False, (f"outside the {level:.0%} credible region "
                              f"(credible level {cl:.1%})")
        elif first is None:
            ok, why = False, "no detection"
        elif after < -margin_days:
            ok, why = False, (f"detected {-after:.2f} d before the event "
                              f"(first detection JD {first:.4f})")
        else:
            ok, why = True, (f"inside the {level:.0%} region (credible level {cl:.1%}), "
                             f"first detected {after:.2f} d after the event")
        out.append(Association(
            candidate=cand, associated=ok, reason=why, searched_prob=cl,
            probdensity=float(look["probdensity"][i]), distmu=float(look["distmu"][i]),
            distsigma=float(look["distsigma"][i]), distnorm=float(look["distnorm"][i]),
            days_after_event=None if after is None else round(after, 5)))
    return out
