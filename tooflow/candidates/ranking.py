"""Rank an event's associated candidates, every factor of the score shown.

The score is a weighted sum of terms, each roughly a log-likelihood ratio
"counterpart versus background" (natural log), so a term of +1 makes a
candidate e ≈ 2.7 times likelier, −3 twenty times less likely:

=================  ===========================================================
factor             term
=================  ===========================================================
localization       ln(ρ / ρ₉₀): the sky map's probability density at the
                   position over the density at the edge of the credible
                   region (≥ 0 inside it), at most 5
distance           with a host galaxy: ln of the map's conditional distance
                   posterior at the galaxy's distance over its maximum along
                   that line of sight (ligo.skymap's ansatz), at least −5
host               nearest catalogued galaxy within ``host_radius_kpc``
                   projected: −offset / ``host_scale_kpc`` + ½ ln(L / median L)
light_curve        fastest fade in mag/day over filters (two detections in a
                   filter ≥ ``min_baseline_days`` apart, or a detection and a
                   deeper later limit): (rate − 0.3) / 0.1 between −3 and 2 —
                   kilonovae fade faster than 0.3 mag/day after a day (AT2017gfo:
                   0.5–1 mag/day), supernovae rise or fade by < 0.1 mag/day
colour             g − r of the same night, later than 0.7 d: (g−r − 0.1)/0.3
                   between −1 and 1 (kilonovae redden fast)
detections         −5 with a single detection, or none ≥ 15 min apart
                   (an asteroid, an artefact or a flare; ZTF's GW searches
                   require two detections ≥ 15 min apart), 0 otherwise
real_bogus         ln(score / 0.5) of the deep real–bogus score (``drb``, else
                   ``rb``), between −4.6 and 0.7
star               −3 on a PS1 point source (``sgscore1`` ≥ 0.76 within
                   1.5 arcsec)
solar_system       −5 within 10 arcsec of a known solar-system object
=================  ===========================================================

The weights and the listing threshold live in configuration
(``candidates.ranking``, docs/configuration.md); :func:`rank_candidates` is a
plain function of plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tooflow.candidates.association import Association, CandidateInfo, EventLocalization
from tooflow.candidates.weights import RankingWeights

__all__ = ["Factor", "HostGalaxy", "Ranked", "rank_candidates", "explain",
           "light_curve_rates", "host_match", "band_of"]

_KPC_PER_MPC_RAD = 1000.0


@dataclass
class Factor:
    """One factor of a score: its measured value, term, weight and the reason in words."""

    name: str
    term: float
    weight: float
    why: str
    value: Any = None

    @property
    def contribution(self) -> float:
        """``weight × term``."""
        return self.weight * self.term

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "value": self.value, "term": round(self.term, 4),
                "weight": self.weight, "contribution": round(self.contribution, 4),
                "why": self.why}


@dataclass(frozen=True)
class HostGalaxy:
    """The catalogued galaxy a candidate was matched to, as numbers.

    Stored with the candidate's factors (``host``), so readers such as the
    circular's table take the name, distance and separation from here, never
    from a factor's words.
    """

    name: str
    distance_mpc: float
    offset_kpc: float
    offset_arcsec: float

    @classmethod
    def from_match(cls, match: dict[str, Any]) -> HostGalaxy:
        """From :func:`host_match`'s dictionary."""
        return cls(name=match["name"], distance_mpc=float(match["distmpc"]),
                   offset_kpc=float(match["offset_kpc"]),
                   offset_arcsec=float(match["offset_arcsec"]))

    @classmethod
    def from_dict(cls, data: Any) -> HostGalaxy | None:
        """Read back what :meth:`as_dict` stored; None for anything else."""
        if not isinstance(data, dict) or not data.get("name"):
            return None
        try:
            return cls(name=str(data["name"]), distance_mpc=float(data["distance_mpc"]),
                       offset_kpc=float(data["offset_kpc"]),
                       offset_arcsec=float(data["offset_arcsec"]))
        except (KeyError, TypeError, ValueError):
            return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (distance to 0.1 Mpc, offsets to 0.01 kpc and 0.01 arcsec)."""
        return {"name": self.name, "distance_mpc": round(self.distance_mpc, 1),
                "offset_kpc": round(self.offset_kpc, 2),
                "offset_arcsec": round(self.offset_arcsec, 2)}


@dataclass
class Ranked:
    """A ranked candidate; ``host`` is the galaxy the host factor matched, if any."""

    association: Association
    score: float
    factors: list[Factor] = field(default_factory=list)
    rank: int = 0
    listed: bool = True
    host: HostGalaxy | None = None

    @property
    def candidate(self) -> CandidateInfo:
        """The candidate."""
        return self.association.candidate

    def as_dict(self) -> dict[str, Any]:
        """The numbers stored with the candidate–event link (score, rank, factors)."""
        return {"score": round(self.score, 4), "rank": self.rank, "listed": self.listed,
                "association": self.association.as_dict(),
                "host": self.host.as_dict() if self.host else None,
                "factors": [f.as_dict() for f in self.factors]}


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def band_of(filter_name: str) -> str:
    """The band of a filter name: ``ztfg``, ``sdssg``, ``ps1::g``, ``g`` → ``g``.

    >>> band_of("ztfr"), band_of("ps1::i"), band_of("J")
    ('r', 'i', 'J')
    """
    name = str(filter_name)
    for prefix in ("ps1::", "ztf", "sdss", "decam", "ps1", "2mass"):
        if name.lower().startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def light_curve_rates(cand: CandidateInfo, min_baseline_days: float = 0.2
                      ) -> dict[str, float]:
    """Fade rate (mag/day, positive = fading) per filter.

    From the first and the last detection in the filter when they are at least
    ``min_baseline_days`` apart; a later upper limit deeper than the last
    detection bounds the fade from below and is used when it says more.
    """
    rates: dict[str, float] = {}
    for filt in sorted({band_of(p.filter) for p in cand.photometry}):
        pts = sorted((p for p in cand.photometry if band_of(p.filter) == filt),
                     key=lambda p: p.jd)
        dets = [p for p in pts if p.mag is not None]
        if not dets:
            continue
        best = None
        if len(dets) >= 2 and dets[-1].jd - dets[0].jd >= min_baseline_days:
            best = (dets[-1].mag - dets[0].mag) / (dets[-1].jd - dets[0].jd)
        last = dets[-1]
        for p in pts:
            if (p.mag is None and p.jd - last.jd >= min_baseline_days
                    and p.limiting_mag is not None and p.limiting_mag > last.mag):
                bound = (p.limiting_mag - last.mag) / (p.jd - last.jd)
                best = bound if best is None else max(best, bound)
        if best is not None:
            rates[filt] = float(best)
    return rates


def _colour(cand: CandidateInfo, t0_jd: float) -> tuple[float, float] | None:
    """(g − r, days after t0) of the latest night with both, later than 0.7 d."""
    g = [p for p in cand.detections if band_of(p.filter) == "g"]
    r = [p for p in cand.detections if band_of(p.filter) == "r"]
    best = None
    for pg in g:
        for pr in r:
            if abs(pg.jd - pr.jd) < 0.2 and min(pg.jd, pr.jd) - t0_jd > 0.7:
                if best is None or pg.jd > best[1] + t0_jd:
                    best = (pg.mag - pr.mag, pg.jd - t0_jd)
    return best


def host_match(cand: CandidateInfo, galaxies, radius_kpc: float = 50.0
               ) -> dict[str, Any] | None:
    """The catalogued galaxy nearest in projected distance, within ``radius_kpc``.

    ``galaxies``: a table with ``name, ra, dec, distmpc, lum``
    (:func:`tooflow.planning.galaxies.normalize_galaxy_table`). Returns
    ``name, distmpc, offset_kpc, offset_arcsec, lum`` or None.
    """
    if galaxies is None or len(galaxies) == 0:
        return None
    ra, dec = math.radians(cand.ra), math.radians(cand.dec)
    gra = np.radians(np.asarray(galaxies["ra"], float))
    gdec = np.radians(np.asarray(galaxies["dec"], float))
    cos_sep = (np.sin(dec) * np.sin(gdec) + np.cos(dec) * np.cos(gdec) * np.cos(gra - ra))
    sep = np.arccos(np.clip(cos_sep, -1, 1))
    kpc = sep * np.asarray(galaxies["distmpc"], float) * _KPC_PER_MPC_RAD
    i = int(np.argmin(kpc))
    if not kpc[i] <= radius_kpc:
        return None
    return {"name": str(galaxies["name"][i]), "distmpc": float(galaxies["distmpc"][i]),
            "offset_kpc": float(kpc[i]), "offset_arcsec": float(np.degrees(sep[i]) * 3600),
            "lum": float(galaxies["lum"][i])}


def _score_one(a: Association, event: EventLocalization, w: RankingWeights,
               galaxies, median_lum: float | None) -> tuple[list[Factor], HostGalaxy | None]:
    cand = a.candidate
    s = cand.scores
    out: list[Factor] = []

    # 2D localization
    edge = event.density_threshold(0.9)
    ratio = a.probdensity / edge if edge > 0 else math.inf
    term = _clip(math.log(ratio), -5.0, 5.0) if ratio > 0 else -5.0
    out.append(Factor("localization", term, w.localization,
                      f"{a.probdensity:.3g} sr⁻¹, {ratio:.2g}× the density at the 90% "
                      f"contour (credible level {a.searched_prob:.1%})",
                      round(a.searched_prob, 5)))

    # host galaxy, and the 3D distance at the host's distance
    host = host_match(cand, galaxies, w.host_radius_kpc)
    if host is None:
        why = ("no galaxy catalogue configured" if galaxies is None
               else f"no catalogued galaxy within {w.host_radius_kpc:g} kpc")
        out.append(Factor("host", 0.0, w.host, why))
        out.append(Factor("distance", 0.0, w.distance, "no host galaxy distance to test"))
    else:
        lum_term = (0.5 * math.log(host["lum"] / median_lum)
                    if median_lum and host["lum"] > 0 else 0.0)
        term = -host["offset_kpc"] / w.host_scale_kpc + _clip(lum_term, -1.5, 1.0)
        lum_text = f", L/median {host['lum'] / median_lum:.2g}" if median_lum else ""
        out.append(Factor("host", term, w.host,
                          f"{host['name']} at {host['distmpc']:.0f} Mpc, offset "
                          f"{host['offset_kpc']:.1f} kpc ({host['offset_arcsec']:.1f}″)"
                          + lum_text, host["name"]))
        if math.isfinite(a.distmu) and a.distsigma > 0:
            from ligo.skymap.distance import conditional_pdf

            d = host["distmpc"]
            grid = np.linspace(max(a.distmu - 5 * a.distsigma, 1e-3),
                               a.distmu + 8 * a.distsigma, 400)
            pdf = conditional_pdf(grid, a.distmu, a.distsigma, a.distnorm)
            p = float(conditional_pdf(d, a.distmu, a.distsigma, a.distnorm))
            peak = float(np.max(pdf))
            term = _clip(math.log(p / peak), -5.0, 0.0) if p > 0 and peak > 0 else -5.0
            out.append(Factor("distance", term, w.distance,
                              f"host at {d:.0f} Mpc; distance posterior there "
                              f"{p / peak:.2g}× its peak", round(d, 1)))
        else:
            out.append(Factor("distance", 0.0, w.distance, "the map has no distance layers"))

    # light curve
    rates = light_curve_rates(cand, w.min_baseline_days)
    if rates:
        filt, rate = max(rates.items(), key=lambda kv: kv[1])
        term = _clip((rate - 0.3) / 0.1, -3.0, 2.0)
        shown = ", ".join(f"{f} {r:+.2f}" for f, r in sorted(rates.items()))
        out.append(Factor("light_curve", term, w.light_curve,
                          f"fade rate mag/day: {shown} (kilonovae: > 0.3 after a day)",
                          {f: round(r, 3) for f, r in rates.items()}))
    else:
        out.append(Factor("light_curve", 0.0, w.light_curve,
                          f"no rate yet (needs two epochs ≥ {w.min_baseline_days:g} d apart "
                          "in a filter)"))
    colour = _colour(cand, event.t0_jd)
    if colour is not None:
        gr, t = colour
        out.append(Factor("colour", _clip((gr - 0.1) / 0.3, -1.0, 1.0), w.colour,
                          f"g − r = {gr:+.2f} at {t:.1f} d", round(gr, 3)))
    else:
        out.append(Factor("colour", 0.0, w.colour, "no same-night g and r after 0.7 d"))

    # repeated detection
    dets = cand.detections
    sep = (dets[-1].jd - dets[0].jd) * 1440.0 if len(dets) >= 2 else 0.0
    if sep >= w.min_separation_minutes:
        out.append(Factor("detections", 0.0, w.detections,
                          f"{len(dets)} detections over {sep / 60:.1f} h", len(dets)))
    else:
        out.append(Factor("detections", -5.0, w.detections,
                          f"{len(dets)} detection(s), none {w.min_separation_minutes:g} min "
                          "apart (asteroid or bogus?)", len(dets)))

    # the alert's own scores
    rb = s.get("drb") if _num(s.get("drb")) else s.get("rb")
    if _num(rb):
        label = "drb" if _num(s.get("drb")) else "rb"
        out.append(Factor("real_bogus", _clip(math.log(max(float(rb), 0.01) / 0.5), -4.6, 0.7),
                          w.real_bogus, f"{label} = {float(rb):.2f}", round(float(rb), 3)))
    else:
        out.append(Factor("real_bogus", 0.0, w.real_bogus, "no real–bogus score"))
    sg, dps = s.get("sgscore1"), s.get("distpsnr1")
    if _num(sg) and _num(dps) and 0 <= float(dps) <= 1.5 and float(sg) >= 0.76:
        out.append(Factor("star", -3.0, w.star,
                          f"on a PS1 point source (sgscore1 {float(sg):.2f} at "
                          f"{float(dps):.1f}″)", round(float(sg), 3)))
    else:
        why = ("no PS1 source within 1.5″" if not (_num(dps) and 0 <= float(dps) <= 1.5)
               else f"PS1 source at {float(dps):.1f}″ is extended (sgscore1 {float(sg):.2f})")
        out.append(Factor("star", 0.0, w.star, why))
    ss = s.get("ssdistnr")
    if _num(ss) and 0 <= float(ss) <= 10:
        name = s.get("ssnamenr") or "?"
        out.append(Factor("solar_system", -5.0, w.solar_system,
                          f"known solar-system object {name} at {float(ss):.1f}″",
                          round(float(ss), 2)))
    else:
        out.append(Factor("solar_system", 0.0, w.solar_system,
                          "no known solar-system object within 10″"))
    return out, (HostGalaxy.from_match(host) if host is not None else None)


def _num(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x) and x != -999


def rank_candidates(associations: list[Association], event: EventLocalization, *,
                    galaxies=None, weights: RankingWeights | None = None) -> list[Ranked]:
    """Score and order the associated candidates of one event.

    Parameters
    ----------
    associations : list of Association
        From :func:`~tooflow.candidates.association.associate`; the ones not
        associated are left out.
    event : EventLocalization
    galaxies : astropy.table.Table, optional
        Host catalogue (``name, ra, dec, distmpc, lum``); None: no host factor.
    weights : RankingWeights, optional

    Returns
    -------
    list of Ranked
        Highest score first, ``rank`` from 1; ``listed`` False below the
        threshold (still returned, so "why not listed" can be shown).
    """
    w = weights or RankingWeights()
    median_lum = None
    if galaxies is not None and len(galaxies):
        lum = np.asarray(galaxies["lum"], float)
        lum = lum[np.isfinite(lum) & (lum > 0)]
        median_lum = float(np.median(lum)) if len(lum) else None
    out = []
    for a in associations:
        if not a.associated:
            continue
        factors, host = _score_one(a, event, w, galaxies, median_lum)
        score = float(sum(f.contribution for f in factors))
        out.append(Ranked(association=a, score=score, factors=factors,
                          listed=score >= w.threshold, host=host))
    out.sort(key=lambda r: (-r.score, r.candidate.name))
    for i, r in enumerate(out, 1):
        r.rank = i
    return out


def explain(ranked: Ranked) -> str:
    """"Why ranked here": one line per factor, largest effect first.

    Examples
    --------
    >>> from tooflow.candidates.association import Association, CandidateInfo
    >>> a = Association(CandidateInfo("ZTF25aaaaaaa", 10.0, 20.0), True, "inside", 0.5, 1.0)
    >>> r = Ranked(a, 1.5, [Factor("real_bogus", 0.5, 1.0, "drb = 0.82"),
    ...                     Factor("localization", 1.0, 1.0, "dense")], rank=1)
    >>> print(explain(r))
    #1 ZTF25aaaaaaa  score +1.50
      localization  +1.00  dense
      real_bogus    +0.50  drb = 0.82
    """
    lines = [f"#{ranked.rank} {ranked.candidate.name}  score {ranked.score:+.2f}"
             + ("" if ranked.listed else "  (below the listing threshold)")]
    for f in sorted(ranked.factors, key=lambda f: -abs(f.contribution)):
        lines.append(f"  {f.name:<13} {f.contribution:+.2f}  {f.why}")
    return "\n".join(lines)
