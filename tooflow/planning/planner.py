"""The planner: a network of telescopes on a sky map, :func:`plan_skymap` → a Plan.

A library (no database, no Prefect); the stage that plans an event for a program
and stores the result is :mod:`tooflow.stages.plan`. The map becomes a
:class:`~.problem.Problem` here; :func:`~.pipeline.solve_problem` solves, times,
repairs and scores it; the result is a :class:`~.result.Plan`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import numpy as np

from ..telescopes import Telescope, load_telescope
from . import coverage as cv
from .observability import LOOKAHEAD_DAYS
from .pipeline import solve_problem, stepper
from .problem import Target, build_problem
from .strategy import Strategy, resolve_strategies

__all__ = ["plan_skymap"]


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def plan_skymap(
    moc,
    telescopes: list[Telescope | str],
    start: dt.datetime,
    end: dt.datetime,
    strategy: Strategy | dict | None = None,
    *,
    time_limit: float = 20.0,
    order: int = 9,
    targets: dict[str, list[Target]] | None = None,
    solver: str = "SCIP",
    method: str = "optimal",
    return_problem: bool = False,
    lookahead_days: float = LOOKAHEAD_DAYS,
    progress=None,
    objective: str = "coverage",
    counterpart=None,
    event_time: dt.datetime | None = None,
):
    """Plan observations of a sky map for a network of telescopes.

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order sky map (UNIQ, PROBDENSITY [sr⁻¹], ...), as from
        ``ligo.skymap.io.read_sky_map(path, moc=True)`` or a stored event's map.
    telescopes : list of Telescope or str
        Telescopes (or names, loaded with :func:`load_telescope`).
    start, end : datetime.datetime
        Planning window, UTC.
    strategy : Strategy or dict, optional
        One strategy for all telescopes, or a mapping name → Strategy (or dict of
        Strategy fields); telescopes without an entry use their defaults
        (ZTF: g then r ≥ 30 min apart; others one visit).
    time_limit : float
        Solver time limit (s).
    order : int
        HEALPix order of the working grid (9: 0.013 deg² pixels).
    targets : dict, optional
        Pointed targets per telescope name (galaxy/pointed mode).
    solver : str
        OR-Tools MIP backend (``SCIP``, ``SAT``, ``HIGHS``, ``CBC``).
    method : str
        ``optimal`` (MIP, default) or ``greedy`` (the baseline).
    return_problem : bool
        Also return the internal :class:`Problem` (for checks and pictures).
    lookahead_days : float
        For telescopes that cannot observe in the window: how far ahead to look
        for when the localization next becomes observable.
    progress : callable, optional
        Called with a short line at each step (``tooflow plan`` prints them).
    objective : str
        ``coverage`` (sky probability in observed footprints) or ``detection``
        (probability of detecting the counterpart model, exposure times chosen
        by the planner; needs a map with distance layers, else coverage with a
        note). docs/planning.md, "Detection objective".
    counterpart : LightCurveModel, str or dict, optional
        Counterpart model (default: AT2017gfo-like kilonova, spread 1 mag); with
        a 3D map the plan also reports the probability of detection under it.
    event_time : datetime, optional
        Merger time (default: the map's ``gps_time``, else ``start``).

    Returns
    -------
    Plan, or (Plan, Problem) when ``return_problem``.
    """
    from tooflow.iers import ensure_iers

    ensure_iers()
    t0 = time.perf_counter()
    tels = [load_telescope(t) if isinstance(t, str) else t for t in telescopes]
    if not tels:
        raise ValueError("no telescopes to plan for")
    start, end = _utc(start), _utc(end)
    say = stepper(progress, t0)
    strategies = resolve_strategies(tels, strategy)
    say(f"rasterising the sky map (HEALPix order {order})")
    grid = cv.probability_grid(moc, order=order)
    if objective not in ("coverage", "detection"):
        raise ValueError(f"unknown objective {objective!r} (coverage or detection)")
    from . import detection as dm

    t_event = dm.event_time_of(moc, start) if event_time is None else _utc(event_time).timestamp()
    inputs = dm.prepare_detection(moc, counterpart, t_event)
    fallback = None
    if objective == "detection" and inputs is None:
        fallback = ("objective detection needs a sky map with distance layers "
                    "(DISTMU/DISTSIGMA/DISTNORM); planned for coverage")
        objective = "coverage"
    options = None
    if objective == "detection":
        options = {t.name: dm.exposure_options(t, strategies[t.name]) for t in tels
                   if not (targets and t.name in targets)}
        strategies = {name: (replace(st, secondary_grid=True) if st.secondary_grid is None
                             else st) for name, st in strategies.items()}
    say("nights, candidate fields and their visibility for "
        + ", ".join(t.name for t in tels))
    problem = build_problem(grid, tels, strategies, start, end, targets=targets,
                            exposure_options=options)
    problem.objective = objective
    if fallback:
        problem.notes.append(fallback)
    if inputs is not None:
        say("depths of every field and block; counterpart over the distance posterior"
            if objective == "detection" else "counterpart model over the distance posterior")
        dm.attach_detection(problem, inputs, for_objective=objective == "detection")
        problem.notes.extend(problem.detection.notes)
    plan = solve_problem(problem, time_limit=time_limit, solver=solver, method=method,
                         lookahead_days=lookahead_days, progress=progress)
    plan.wall_time = time.perf_counter() - t0
    if not np.isfinite(plan.objective):
        raise RuntimeError("planning produced a non-finite objective")
    return (plan, problem) if return_problem else plan
