"""Galaxy-targeted planning and single pointings for well-localized events.

For nearby, well-localized events and small-field instruments (KPED,
GROWTH-India), galaxies are ranked by their 3D localization probability
(ligo.skymap's distance ansatz at the galaxy's position and distance) times a
luminosity proxy (K band, else B band, else stellar mass), then scheduled as
pointed targets. The plan's objective is then the *galaxy-weighted* probability:
the sum of the normalised scores of the galaxies inside the planned footprints.

Catalogues come from a local file (tests, offline) or a TAP service
(:func:`query_galaxies_tap`, production).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..skymap.summary import moc_rows
from ..telescopes import Telescope, load_telescope
from . import coverage as cv
from .pipeline import solve_problem
from .problem import Target, build_problem
from .result import Plan
from .strategy import Strategy, resolve_strategies

__all__ = [
    "read_galaxy_catalog",
    "normalize_galaxy_table",
    "score_galaxies",
    "rank_galaxies",
    "query_galaxies_tap",
    "plan_galaxies",
    "targets_for_skymap",
    "source_target",
]


def read_galaxy_catalog(path: str | Path) -> Table:
    """Read a galaxy catalogue (CSV) into columns ``name, ra, dec, distmpc, lum``.

    Understands gwemopt's GLADE extracts (``ra, dec, distmpc, magk, magb``), CLU
    (``ra, dec, distmpc, mstar``) and GLADE+ (``RA, DEC, d_L, K, B``). ``lum`` is a
    relative luminosity/mass proxy: 10^(-0.4 M_K) (else M_B), else the stellar mass.
    """
    return normalize_galaxy_table(Table.read(str(path), format="ascii.csv"), str(path))


def normalize_galaxy_table(t: Table, what: str = "catalogue") -> Table:
    """Columns ``name, ra, dec, distmpc, lum`` from a catalogue table (see
    :func:`read_galaxy_catalog`)."""
    cols = {c.lower(): c for c in t.colnames}

    def col(*names):
        for n in names:
            if n.lower() in cols:
                return np.asarray(t[cols[n.lower()]].filled(np.nan)
                                  if hasattr(t[cols[n.lower()]], "filled")
                                  else t[cols[n.lower()]], dtype=float)
        return None

    ra, dec = col("ra"), col("dec")
    dist = col("distmpc", "d_l")
    if ra is None or dec is None or dist is None:
        raise ValueError(f"{what}: a galaxy catalogue needs ra, dec and distmpc (or d_L)")
    with np.errstate(invalid="ignore", divide="ignore"):
        dmod = 5 * np.log10(np.maximum(dist, 1e-3) * 1e6 / 10.0)
        lum = np.full(len(t), np.nan)
        for band in (col("magk", "K"), col("magb", "B")):
            if band is not None:
                lum = np.where(np.isfinite(lum), lum, 10 ** (-0.4 * (band - dmod)))
        mstar = col("mstar", "M*")
        if mstar is not None:
            lum = np.where(np.isfinite(lum), lum, mstar)
    lum = np.where(np.isfinite(lum) & (lum > 0), lum, np.nanmedian(lum[lum > 0])
                   if np.any(lum > 0) else 1.0)
    names = [_galaxy_name(t, cols, i, ra[i], dec[i]) for i in range(len(t))]
    good = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(dist) & (dist > 0)
    out = Table({"name": names, "ra": ra, "dec": dec, "distmpc": dist, "lum": lum})
    return out[good]


def _clean(value) -> str:
    text = str(value).strip()
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return "" if text in {"", "---", "<NA>", "--", "nan", "null", "None"} else text


def _galaxy_name(t: Table, cols: dict, i: int, ra: float, dec: float) -> str:
    for c in ("name", "hyperleda", "hyperleda name", "gwgc", "gwgc name", "2mass",
              "2mass name", "pgc", "pgc no", "glade no"):
        if c in cols:
            text = _clean(t[cols[c]][i])
            if text:
                return text
    return f"J{ra:09.5f}{dec:+09.5f}"


def score_galaxies(moc, galaxies: Table) -> np.ndarray:
    """Score = 3D localization density at the galaxy × luminosity proxy, normalised.

    The 3D density is ligo.skymap's distance ansatz at the galaxy's pixel,
    ``PROBDENSITY × conditional_pdf(r; DISTMU, DISTSIGMA, DISTNORM) / r²`` (per
    Mpc³); for maps without distance layers, the 2D density (per sr).
    """
    from ligo.skymap.distance import conditional_pdf

    if len(galaxies) == 0:
        return np.zeros(0)
    rows = moc_rows(moc, galaxies["ra"], galaxies["dec"])
    ok = rows >= 0
    dens = np.zeros(len(galaxies))
    dens[ok] = np.asarray(moc["PROBDENSITY"], float)[rows[ok]]
    if "DISTMU" in moc.colnames:
        r = np.asarray(galaxies["distmpc"], float)
        mu, sigma, norm = (np.asarray(moc[c], float)[rows[ok]]
                           for c in ("DISTMU", "DISTSIGMA", "DISTNORM"))
        with np.errstate(invalid="ignore", divide="ignore"):
            dens[ok] *= conditional_pdf(r[ok], mu, sigma, norm) / r[ok] ** 2
    score = np.where(np.isfinite(dens), dens, 0.0) * np.asarray(galaxies["lum"], float)
    total = score.sum()
    return score / total if total > 0 else score


def rank_galaxies(moc, galaxies: Table, top: int = 200) -> tuple[list[Target], Table]:
    """The ``top`` galaxies by score, as pointed targets; also the scored table."""
    scored = galaxies.copy()
    scored["score"] = score_galaxies(moc, galaxies)
    scored.sort("score", reverse=True)
    best = scored[: top][scored["score"][:top] > 0]
    targets = [Target(name=str(r["name"]), ra=float(r["ra"]), dec=float(r["dec"]),
                      weight=float(r["score"])) for r in best]
    return targets, scored


def query_galaxies_tap(
    url: str, ra: float, dec: float, radius: float, max_distance: float | None = None,
    table: str = "glade.glade_plus", columns: dict | None = None, limit: int = 20000,
    timeout: float = 30.0, deadline: float = 120.0,
) -> Table:
    """Galaxies in a cone from a TAP service (production path; needs the network).

    Parameters
    ----------
    url : str
        TAP service URL (configured per deployment).
    ra, dec, radius : float
        Cone (deg), e.g. around the 90 % credible region.
    max_distance : float, optional
        Upper luminosity distance (Mpc).
    table : str
        Catalogue table in the service.
    columns : dict, optional
        Map of our names (``ra, dec, distmpc, magk, magb, name``) to the service's
        columns; default GLADE+ names.
    timeout, deadline : float
        Seconds for the service to run the query; total seconds for the whole
        exchange (:class:`tooflow.guards.deadline.DeadlineExceeded` past it).
    """
    import pyvo

    from ..guards.deadline import call_with_deadline

    c = {"name": "GLADE_no", "ra": "RA", "dec": "DEC", "distmpc": "d_L", "magk": "K",
         "magb": "B"}
    c.update(columns or {})
    select = ", ".join(f"{v} AS {k}" for k, v in c.items())
    where = (f"1 = CONTAINS(POINT('ICRS', {c['ra']}, {c['dec']}), "
             f"CIRCLE('ICRS', {float(ra)}, {float(dec)}, {float(radius)}))")
    if max_distance is not None:
        where += f" AND {c['distmpc']} < {float(max_distance)}"
    adql = f"SELECT TOP {int(limit)} {select} FROM {table} WHERE {where}"
    service = pyvo.dal.TAPService(url, session=None)
    result = call_with_deadline(lambda: service.run_sync(adql, timeout=timeout).to_table(),
                                deadline, f"TAP galaxy query to {url}")
    return normalize_galaxy_table(result, f"TAP {url} {table}")


def plan_galaxies(
    moc,
    galaxies: Table,
    telescopes: list[Telescope | str],
    start: dt.datetime,
    end: dt.datetime,
    strategy: Strategy | dict | None = None,
    *,
    top: int = 200,
    time_limit: float = 20.0,
) -> Plan:
    """Plan pointed observations of the best galaxies with small-field telescopes.

    The objective and per-telescope numbers of the returned :class:`Plan` are
    galaxy-weighted probabilities: the summed normalised scores of the galaxies
    inside the planned footprints (each galaxy counted once).
    """
    from tooflow.iers import ensure_iers

    ensure_iers()
    t0 = time.perf_counter()
    tels = [load_telescope(t) if isinstance(t, str) else t for t in telescopes]
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    end = end if end.tzinfo else end.replace(tzinfo=dt.UTC)
    scores = score_galaxies(moc, galaxies)
    order = np.argsort(scores)[::-1][:top]
    order = order[scores[order] > 0]
    targets = [Target(name=str(galaxies["name"][i]), ra=float(galaxies["ra"][i]),
                      dec=float(galaxies["dec"][i]), weight=float(scores[i])) for i in order]
    gra, gdec = np.asarray(galaxies["ra"], float), np.asarray(galaxies["dec"], float)

    def members(footprint, ra, dec):
        return cv.points_in_fields(footprint, ra, dec, gra, gdec)

    strategies = resolve_strategies(tels, strategy)
    for s in strategies.values():
        s.min_probability = 0.0
    grid = cv.ProbabilityGrid(order=-1, prob=scores)
    problem = build_problem(grid, tels, strategies, start, end,
                            targets={t.name: targets for t in tels}, members=members)
    plan = solve_problem(problem, time_limit=time_limit)
    plan.wall_time = time.perf_counter() - t0
    plan.notes.append(f"galaxy-weighted probability over {len(galaxies)} galaxies; "
                      f"top {len(targets)} targeted")
    return plan


def targets_for_skymap(moc, *, settings=None, telescope: str | None = None,
                       catalog: str | Path | None = None, top: int = 100) -> list[Target]:
    """Galaxy targets for a map, from the configured catalogue.

    The catalogue is, in order: ``catalog``; ``galaxies.catalog`` (a CSV path) in the
    settings file; ``galaxies.tap_url`` (+ ``table``, ``columns``, ``max_distance``)
    queried around the 90 % credible region with :func:`query_galaxies_tap`.
    Without any, there are no targets (an empty list).
    """
    conf = settings.galaxies.for_telescope(telescope) if settings is not None else {}
    path = catalog or conf.get("catalog")
    if path:
        galaxies = read_galaxy_catalog(path)
    elif conf.get("tap_url"):
        ra, dec, radius = _credible_cone(moc, 0.9)
        galaxies = query_galaxies_tap(conf["tap_url"], ra, dec, radius,
                                      max_distance=conf.get("max_distance"),
                                      table=conf.get("table", "glade.glade_plus"),
                                      columns=conf.get("columns"))
    else:
        return []
    targets, _ = rank_galaxies(moc, galaxies, top=int(conf.get("top", top)))
    return targets


def _credible_cone(moc, level: float) -> tuple[float, float, float]:
    """A cone (ra, dec, radius in deg) around the ``level`` credible region."""
    import healpy as hp

    grid = cv.probability_grid(moc, order=7)
    order = np.argsort(grid.prob)[::-1]
    n = int(np.searchsorted(np.cumsum(grid.prob[order]), level * grid.prob.sum())) + 1
    vec = np.column_stack(hp.pix2vec(128, order[:n], nest=True))
    c = vec.mean(axis=0)
    c /= np.linalg.norm(c)
    radius = float(np.degrees(np.arccos(np.clip(vec @ c, -1, 1))).max()) + 1.0
    ra, dec = hp.vec2ang(c, lonlat=True)
    return float(ra[0]), float(dec[0]), min(radius, 180.0)


def source_target(ra: float, dec: float, name: str = "source") -> list[Target]:
    """Targets for a well-localized event: one pointing on the source position.

    Use with ``plan_skymap(moc, [tel], ..., targets={tel.name: source_target(...)})``
    when the error radius is much smaller than the field (Swift, Einstein Probe).
    The planner aims so that the source falls on a detector: for ZTF, whose camera
    centre is in the chip-gap cross, at the centre of the nearest CCD quadrant
    (:meth:`Footprint.pointing_for`).
    """
    return [Target(name=name, ra=float(ra), dec=float(dec), weight=1.0)]
