"""First light fast: what to queue at once, before the optimal plan is ready.

Two fast plans, each built without the optimiser:

* a **single pointing** (:func:`fits_one_field`, :func:`single_pointing_plan`):
  a localization whose 90 % region fits inside each telescope's field (a Swift
  XRT/UVOT position, an IceCube track for ZTF) needs no tiling and no solver:
  each telescope points at the source, its visits timed by the greedy
  scheduler. This plan is final.
* the **first block** of a sky map (:func:`first_block_plan`): the greedy
  baseline (:mod:`.greedy`, each telescope takes its most probable visible field
  next) over the first ``minutes`` of the window only, so that visibility is
  computed for a few samples rather than for the whole window. Its exposures
  are queued at once; the optimal plan of the whole window, solved next,
  replaces what has not started (the requests it also wants keep their keys and
  are not sent again). Visits whose field is not complete inside the first
  block are kept: the optimal plan decides whether the field's later visits
  follow.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np

from tooflow.observations import PlannedObservation

from ..telescopes import Telescope, load_telescope
from . import coverage as cv
from .assembly import plan_from_exposures
from .greedy import greedy_plan
from .problem import Problem, Target, build_problem
from .result import Plan
from .sequence import Exposure
from .strategy import Strategy, resolve_strategies

__all__ = ["FIRST_BLOCK", "SINGLE_POINTING", "fits_one_field", "first_block_plan",
           "radius_90", "single_pointing_plan"]

#: ``Plan.status`` of a first-block plan (queued at once, replaced by the optimal plan;
#: :func:`tooflow.stages.submit.submit_plan` cancels nothing for it).
FIRST_BLOCK = "FIRST-BLOCK"
#: ``Plan.status`` of a single-pointing plan (final: no optimiser).
SINGLE_POINTING = "SINGLE-POINTING"


def radius_90(area_90: float | None, error_radius: float | None) -> float | None:
    """Radius (deg) of a circle of the 90 % credible area, else the stated error radius."""
    if area_90 is not None and math.isfinite(area_90) and area_90 > 0:
        return math.sqrt(area_90 / math.pi)
    if error_radius is not None and math.isfinite(error_radius) and error_radius >= 0:
        return float(error_radius)
    return None


def fits_one_field(radius: float | None, telescope: Telescope | str) -> bool:
    """Whether a circle of ``radius`` degrees fits inside one field of the telescope.

    The field's inscribed radius is its own radius for a circular field, else
    half the side of the square of the same area (ZTF: 3.4°, DECam: 0.9°,
    KPED: 0.04°).
    """
    if radius is None:
        return False
    tel = load_telescope(telescope) if isinstance(telescope, str) else telescope
    fp = tel.footprint
    inscribed = fp.radius if fp.radius is not None else 0.5 * math.sqrt(fp.area)
    return radius <= inscribed


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _observations(problem: Problem, exposures: list[Exposure]) -> list[PlannedObservation]:
    """Timed exposures as planned observations (every exposure, complete field or not)."""
    part_of = {}
    for part in problem.parts:
        for k in range(len(part)):
            part_of[part.offset + k] = (part, k)
    out = []
    for e in sorted(exposures, key=lambda e: (part_of[e.candidate][0].telescope.name, e.start)):
        part, k = part_of[e.candidate]
        fid = int(part.field_ids[k])
        out.append(PlannedObservation(
            telescope=part.telescope.name, ra=float(part.ra[k]), dec=float(part.dec[k]),
            filter=part.filters[e.visit], exposure_time=float(e.duration),
            start_time=dt.datetime.fromtimestamp(e.start, dt.UTC),
            probability=float(part.prob[k]), visit=e.visit + 1,
            field_id=fid if fid >= 0 else None,
            target=part.names[k] if part.names else None))
    return out


def first_block_plan(moc, telescopes: list[Telescope | str], start: dt.datetime,
                     strategies: dict[str, Strategy] | None = None, *,
                     minutes: float = 30.0, targets: dict[str, list[Target]] | None = None,
                     order: int = 9, window_end: dt.datetime | None = None) -> Plan:
    """The greedy baseline's exposures in the first ``minutes`` of the window.

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order sky map.
    telescopes : list of Telescope or str
    start : datetime.datetime
        Start of the window (UTC).
    strategies : dict, optional
        Strategy per telescope name (default: each telescope's own).
    minutes : float
        Length of the first block (min).
    targets : dict, optional
        Pointed targets per telescope (galaxies, a source position).
    order : int
        HEALPix order of the working grid.
    window_end : datetime.datetime, optional
        End of the whole plan window: the first block never runs past it.

    Returns
    -------
    Plan
        Status :data:`FIRST_BLOCK`; ``objective`` is the probability covered by
        the fields it starts (counted once); no bound (``nan``). A telescope
        without a night (or a visible field) in the first block gets nothing and
        waits for the optimal plan.
    """
    from tooflow.iers import ensure_iers

    ensure_iers()
    t0 = time.perf_counter()
    tels = [load_telescope(t) if isinstance(t, str) else t for t in telescopes]
    start = _utc(start)
    end = start + dt.timedelta(minutes=minutes)
    if window_end is not None:
        end = min(end, _utc(window_end))
    strategies = resolve_strategies(tels, strategies or None)
    grid = cv.probability_grid(moc, order=order)
    problem = build_problem(grid, tels, strategies, start, end, targets=targets)
    exposures = [e for e in greedy_plan(problem) if _worth(problem, e)]
    observations = _observations(problem, exposures)
    started = sorted({e.candidate for e in exposures})
    objective = problem.union_probability(started) if started else 0.0
    per_tel = {}
    for part in problem.parts:
        mine = [i for i in started if part.offset <= i < part.offset + len(part)]
        per_tel[part.telescope.name] = problem.union_probability(mine) if mine else 0.0
    idle = {p.telescope.name: (f"nothing observable in the first {minutes:g} min; "
                               "the optimal plan follows")
            for p in problem.parts if per_tel[p.telescope.name] == 0.0}
    return Plan(observations=observations, objective=objective, bound=float("nan"),
                gap=float("nan"), solve_time=0.0, status=FIRST_BLOCK,
                per_telescope=per_tel, start=start, end=end,
                wall_time=time.perf_counter() - t0, telescopes=[t.name for t in tels],
                notes=[f"first block: greedy over {minutes:g} min, queued before the "
                       "optimal plan"] + list(problem.notes), idle=idle)


def _worth(problem: Problem, e: Exposure) -> bool:
    """A field worth starting on its own: probability (or weight) at its telescope's threshold."""
    for part in problem.parts:
        if part.offset <= e.candidate < part.offset + len(part):
            k = e.candidate - part.offset
            return part.value(k) >= part.threshold if part.pointed else \
                part.prob[k] >= part.threshold
    return False


def single_pointing_plan(moc, telescopes: list[Telescope | str], start: dt.datetime,
                         end: dt.datetime, ra: float, dec: float, name: str,
                         strategies: dict[str, Strategy] | None = None, *,
                         order: int = 9, lookahead_days: float | None = None) -> Plan:
    """Every telescope points at the source; visits timed by the greedy scheduler.

    No field grid, no optimiser: the problem has one candidate per telescope
    (the source, put on a detector by the footprint's aim point).

    Parameters
    ----------
    moc : astropy.table.Table
        The localization's multi-order map (its probability is what each
        pointing covers).
    telescopes : list of Telescope or str
    start, end : datetime.datetime
        Plan window (UTC).
    ra, dec : float
        Source position (deg).
    name : str
        Target name (the event id).
    strategies : dict, optional
        Strategy per telescope name (visits, filters, exposure times).
    order : int
        HEALPix order of the working grid.
    lookahead_days : float, optional
        For a telescope that cannot observe in the window: how far ahead to
        look for when the source next becomes observable (default the
        planner's).

    Returns
    -------
    Plan
        Status :data:`SINGLE_POINTING`; idle telescopes say why and when next
        observable.
    """
    from tooflow.iers import ensure_iers

    from .observability import LOOKAHEAD_DAYS, explain_idle

    ensure_iers()
    t0 = time.perf_counter()
    tels = [load_telescope(t) if isinstance(t, str) else t for t in telescopes]
    start, end = _utc(start), _utc(end)
    strategies = resolve_strategies(tels, strategies or None)
    grid = cv.probability_grid(moc, order=order)
    targets = {t.name: [Target(name=name, ra=float(ra), dec=float(dec))] for t in tels}
    problem = build_problem(grid, tels, strategies, start, end, targets=targets)
    plan = plan_from_exposures(problem, greedy_plan(problem), bound=float("nan"),
                               solve_time=0.0, status=SINGLE_POINTING)
    plan.bound = plan.gap = float("nan")
    days = LOOKAHEAD_DAYS if lookahead_days is None else lookahead_days
    busy = {o.telescope for o in plan.observations}
    if len(busy) < len(problem.parts):
        plan.idle, plan.next_observable = explain_idle(problem, busy, {}, days)
    plan.lookahead_days = days
    plan.notes.append("single pointing: the localization fits inside one field of every "
                      "telescope; no tiling, no optimiser")
    plan.wall_time = time.perf_counter() - t0
    if not np.isfinite(plan.objective):
        raise RuntimeError("planning produced a non-finite objective")
    return plan
