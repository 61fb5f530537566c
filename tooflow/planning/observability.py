"""Why a telescope got nothing, and when the source next becomes observable.

A plan with no exposure is a result: "not observable in the window". For every
telescope left without exposures :func:`explain_idle` says why (no night, the
localization below its limits, no field grid and no targets, nothing worth its
threshold) and, when it is a matter of sky and time, when the localization next
becomes observable from that site (or that it does not within the look-ahead).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..telescopes import Telescope
from .problem import Problem, TelescopeProblem
from .visibility import field_visibility, night_mask

__all__ = ["explain_idle", "never_rises", "next_observable", "sky_points"]

#: Default look-ahead (days) for "when does it next become observable".
LOOKAHEAD_DAYS = 14.0


def sky_points(problem: Problem, level: float = 0.9, order: int = 6,
               limit: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the most probable HEALPix pixels (order ≤ ``order``) of the map.

    The pixels hold the ``level`` credible region (at most ``limit`` of them).
    Empty when the problem's atoms are not sky pixels (galaxies).
    """
    import healpy as hp

    grid = problem.grid
    if grid.order < 0:
        return np.zeros(0), np.zeros(0)
    o = min(grid.order, order)
    coarse = grid.prob.reshape(-1, 4 ** (grid.order - o)).sum(axis=1)
    idx = np.argsort(coarse)[::-1]
    n = int(np.searchsorted(np.cumsum(coarse[idx]), level * coarse.sum())) + 1
    sel = idx[:min(n, limit)]
    ra, dec = hp.pix2ang(1 << o, sel, nest=True, lonlat=True)
    return np.asarray(ra, float), np.asarray(dec, float)


def next_observable(tel: Telescope, ra, dec, start: dt.datetime,
                    days: float = LOOKAHEAD_DAYS, step: float = 900.0,
                    refine: float = 300.0) -> dt.datetime | None:
    """First time from ``start`` at which any of the positions is observable.

    Observable means night at the site (Sun below the telescope's limit) and the
    position within its airmass, hour-angle and Moon limits. The search samples
    every ``step`` seconds for ``days`` days, cheapest test first (altitude and
    hour angle, then the Sun only when something is up, then the Moon), and
    refines the first hit to ``refine`` seconds.

    Returns
    -------
    datetime.datetime or None
        UTC time (to ``refine``), or None when not within ``days``.
    """
    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    if ra.size == 0:
        return None
    t0 = start.timestamp()
    times = np.arange(t0, t0 + days * 86400.0 + step, step)
    times = times[field_visibility(tel, ra, dec, times, moon=False).any(axis=0)]
    if times.size:
        times = times[night_mask(tel, times)]
    hit = None
    for chunk in np.array_split(times, max(1, int(np.ceil(times.size / 48)))):
        if chunk.size == 0:
            continue
        seen = field_visibility(tel, ra, dec, chunk).any(axis=0)
        if seen.any():
            hit = float(chunk[np.argmax(seen)])
            break
    if hit is None:
        return None
    fine = np.arange(max(hit - step + refine, t0), hit, refine)
    if fine.size:
        ok = night_mask(tel, fine) & field_visibility(tel, ra, dec, fine).any(axis=0)
        if ok.any():
            hit = float(fine[np.argmax(ok)])
    return dt.datetime.fromtimestamp(hit, dt.UTC)


def _limits(tel: Telescope) -> str:
    parts = [f"airmass ≤ {tel.airmass_limit:g}", f"Sun below {tel.sun_altitude:g}°"]
    if tel.hour_angle_limits:
        parts.append(f"hour angle {tel.hour_angle_limits[0]:+g}…{tel.hour_angle_limits[1]:+g} h")
    if tel.moon_distance > 0:
        parts.append(f"Moon ≥ {tel.moon_distance:g}°")
    return ", ".join(parts)


def _reason(part: TelescopeProblem, pruned: int) -> tuple[str, bool]:
    """Why ``part`` has no exposure, and whether it is a matter of sky and time."""
    tel = part.telescope
    if not tel.has_grid and not part.pointed:
        return ("no field grid and no targets: a pointed instrument needs `mode: pointed` "
                "(a source position) or `mode: galaxies` with a galaxy catalogue", False)
    if len(part.blocks) == 0:
        return f"no night time at its site in the window (Sun below {tel.sun_altitude:g}°)", True
    if len(part) == 0:
        what = "no target" if part.pointed else "no field of its grid on the localization"
        return f"{what} observable in the window ({_limits(tel)})", True
    if part.strategy.max_fields == 0:
        return "the program allows it no field (max_fields: 0)", False
    pct = f"{100 * part.threshold:.2g} %"
    if part.texp is not None:  # the detection objective: depth and time count
        if pruned:
            return (f"its {pruned} field(s) would each add less than its threshold of {pct} "
                    "to the probability of detecting the counterpart model", False)
        return (f"nothing it can observe, deep enough at that time, adds its threshold of "
                f"{pct} to the probability of detecting the counterpart model", False)
    if pruned:
        return (f"its {pruned} field(s) would each add less than its threshold of {pct} "
                "to what the plan already covers", False)
    return (f"nothing it can observe adds its threshold of {pct} to what the other "
            "telescopes cover", False)


def explain_idle(problem: Problem, busy: set[str], pruned: dict[str, int],
                 days: float = LOOKAHEAD_DAYS
                 ) -> tuple[dict[str, str], dict[str, dt.datetime | None]]:
    """Reasons for the telescopes without exposures, and when they next could observe.

    Parameters
    ----------
    problem : Problem
    busy : set of str
        Telescopes that got exposures.
    pruned : dict of str to int
        Fields removed per telescope for adding less than its threshold.
    days : float
        Look-ahead for the next observable time.

    Returns
    -------
    reasons : dict of str to str
        Per idle telescope, why it got nothing.
    next_time : dict of str to datetime or None
        Per telescope idle for reasons of sky and time: when the localization
        next becomes observable from its site (None: not within ``days``).
    """
    reasons: dict[str, str] = {}
    next_time: dict[str, dt.datetime | None] = {}
    points = None
    for part in problem.parts:
        name = part.telescope.name
        if name in busy:
            continue
        reasons[name], timing = _reason(part, pruned.get(name, 0))
        if not timing:
            continue
        if part.pointed and part.points is not None:
            ra, dec = part.points
        else:
            points = points or sky_points(problem)
            ra, dec = points
        next_time[name] = next_observable(part.telescope, ra, dec, problem.start, days)
        if next_time[name] is None and never_rises(part.telescope, dec):
            reasons[name] = (f"the localization never rises to airmass ≤ "
                             f"{part.telescope.airmass_limit:g} at its latitude "
                             f"({part.telescope.latitude:+.1f}°)")
    return reasons, next_time


def never_rises(tel: Telescope, dec) -> bool:
    """True when no declination in ``dec`` ever reaches the telescope's airmass limit."""
    dec = np.atleast_1d(np.asarray(dec, float))
    if dec.size == 0:
        return False
    highest = 90.0 - np.abs(tel.latitude - dec)
    return bool((highest < np.degrees(np.arcsin(1.0 / tel.airmass_limit))).all())
