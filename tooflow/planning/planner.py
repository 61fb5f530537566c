"""The planner: a network of telescopes on a sky map, :func:`plan_skymap` → :class:`Plan`.

A library (no database, no Prefect); the stage that plans an event for a program
and stores the result is :mod:`tooflow.stages.plan`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from tooflow.observations import PlannedObservation

from ..telescopes import Telescope, load_telescope
from . import coverage as cv
from .greedy import greedy_plan
from .observability import LOOKAHEAD_DAYS, explain_idle
from .problem import Problem, Target, build_problem, model_feasible
from .repair import insert_detection, insert_fields, swap_fields
from .sequence import Exposure, completed_candidates, sequence_plan
from .solver import fill_idle, solve
from .strategy import Strategy, default_strategy
from .value import prune_low_value

__all__ = ["Plan", "coverage_baseline", "describe_solver", "keep_coverage_baseline",
           "keep_greedy_baseline", "objective_words", "plan_skymap", "plan_from_exposures",
           "resolve_strategies", "solve_problem"]

#: The relative gap at which the solver stops (see :func:`~.solver.solve`).
SOLVER_TOLERANCE = 0.005


#: What each objective's number is, in words: the sentences about the solver, its
#: bound, the gap and a fallback speak of the plan's own objective.
OBJECTIVE_WORDS = {"coverage": "probability covered",
                   "detection": "probability of detection under the model"}


def objective_words(name: str | None) -> str:
    """What a plan's objective measures, in words.

    ``probability covered`` for ``coverage`` (also a stored plan without an
    objective name, and galaxy-weighted plans), ``probability of detection under
    the model`` for ``detection``.
    """
    return OBJECTIVE_WORDS["detection" if name == "detection" else "coverage"]


def describe_solver(status: str | None, gap: float | None,
                    threshold_gap: float | None = None, objective: str | None = None) -> str:
    """What the solver's status and the gap mean, in words.

    ``gap`` is ``(bound - objective) / bound`` for the plan returned: how much
    more (relatively) the best plan of the solver's block model could reach at
    most of the plan's ``objective`` (``coverage``, the default, or
    ``detection``: :func:`objective_words`). ``threshold_gap`` is the part of it
    the per-telescope thresholds gave up (the block model has no thresholds),
    when known.
    """
    status = status or "?"
    g = 0.0 if gap is None or not np.isfinite(gap) else gap
    th = 0.0 if threshold_gap is None or not np.isfinite(threshold_gap) else threshold_gap
    what = objective_words(objective)
    best = f"the best possible plan has at most {100 * g:.2f} % more {what}"
    if status == "GREEDY":
        return "greedy baseline (no bound)"
    if status.endswith("+INCUMBENT"):
        return (f"solver time limit reached; the fast incumbent had more {what} and is "
                f"kept: {best}")
    if status == "FIRST-BLOCK":
        return "greedy first block, queued before the optimal plan (no bound)"
    if status == "SINGLE-POINTING":
        return "single pointing: the localization fits in one field (no optimiser, no bound)"
    if status.endswith("+GREEDY"):
        return f"greedy baseline kept (it had more {what} than the solver's best); {best}"
    if status == "EMPTY":
        return "nothing to solve"
    if status == "OPTIMAL" and g <= SOLVER_TOLERANCE + 1e-9:
        return f"optimal: {best} (solver tolerance {100 * SOLVER_TOLERANCE:g} %)"
    if status == "OPTIMAL" and threshold_gap is not None and g - th <= SOLVER_TOLERANCE + 1e-9:
        return (f"optimal to the solver tolerance ({100 * SOLVER_TOLERANCE:g} %) but for "
                f"{100 * th:.2f} % the per-telescope thresholds gave up (fields adding less "
                f"than their threshold are not observed; the bound has no threshold): {best}")
    if status == "OPTIMAL":
        return (f"solver optimal for its block model (to {100 * SOLVER_TOLERANCE:g} %); "
                f"timing the exposures"
                + (f" and the per-telescope thresholds ({100 * th:.2f} %)" if th > 0 else
                   " and dropping fields that add too little")
                + f" leave this plan's {what} at most {100 * g:.2f} % below the best possible")
    if status == "FEASIBLE":
        return f"solver time limit reached: {best}"
    if status == "WORKING-SET":
        return (f"solver optimal on a working set of the fields (the whole model is too "
                f"large for its time limit): {best}")
    return f"solver status {status}; {best}"


@dataclass
class Plan:
    """An observation plan for a network of telescopes.

    Attributes
    ----------
    observations : list of PlannedObservation
        Timed exposures, sorted by telescope then start time.
    objective : float
        Sky probability covered by the union of all completed fields of all
        telescopes (each point of the sky counted once; a field counts when all
        the visits its strategy asks for are planned).
    bound : float
        Solver's upper bound on the objective: no plan of its block model (visits
        in time blocks, no per-telescope threshold) covers more. The plan itself is
        timed in continuous time, so it may exceed it (then ``bound = objective``).
    gap : float
        ``(bound - objective) / bound`` of this plan (the one returned).
    gap_thresholds : float or None
        The part of ``gap`` given up by the per-telescope thresholds (coverage
        objective; None otherwise).
    solve_time : float
        Seconds spent in the solver.
    wall_time : float
        Seconds for the whole planning call (map rasterisation, visibility, solve).
    status : str
        Solver status (``OPTIMAL``, ``FEASIBLE`` at the time limit, ``GREEDY``...).
    per_telescope : dict of str to float
        Union probability covered by each telescope's completed fields alone.
    start, end : datetime.datetime
        Planning window (UTC).
    idle : dict of str to str
        Per telescope without exposures, why (no night, not observable, no
        field grid and no targets, nothing worth its threshold).
    next_observable : dict of str to datetime or None
        Per telescope idle for reasons of sky and time: when the localization
        next becomes observable from its site (None: not within the look-ahead).
    """

    observations: list[PlannedObservation]
    objective: float
    bound: float
    gap: float
    solve_time: float
    status: str
    per_telescope: dict[str, float]
    start: dt.datetime
    end: dt.datetime
    wall_time: float = 0.0
    telescopes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    idle: dict[str, str] = field(default_factory=dict)
    next_observable: dict[str, dt.datetime | None] = field(default_factory=dict)
    lookahead_days: float = LOOKAHEAD_DAYS
    objective_name: str = "coverage"
    covered: float | None = None
    detected: float | None = None
    counterpart: str | None = None
    per_telescope_added: dict[str, float] = field(default_factory=dict)
    #: the part of ``gap`` the per-telescope thresholds gave up (None: not known)
    gap_thresholds: float | None = None

    @property
    def exposure_times(self) -> dict[str, list[float]]:
        """Per telescope, the exposure times (s) of its planned exposures, sorted."""
        out: dict[str, set] = {}
        for o in self.observations:
            out.setdefault(o.telescope, set()).add(float(o.exposure_time))
        return {k: sorted(v) for k, v in out.items()}

    def headline(self) -> str:
        """Both numbers: probability covered and probability of detection under the model."""
        cov = self.covered if self.covered is not None else self.objective
        line = f"covered {100 * cov:.2f} %"
        if self.detected is not None:
            line += f", detection {100 * self.detected:.2f} % ({self.counterpart})"
        return line + f" [objective: {self.objective_name}]"

    @property
    def observable(self) -> bool:
        """False when nothing at all can be observed in the window."""
        return bool(self.observations)

    def idle_lines(self) -> list[str]:
        """One line per telescope without exposures: why, and when it next could observe."""
        return [f"{name}: {line}" for name, line in idle_lines(
            self.idle, self.next_observable, self.lookahead_days)]

    def solver_sentence(self) -> str:
        """What the status and the gap mean, in words of the plan's objective."""
        return describe_solver(self.status, self.gap, self.gap_thresholds, self.objective_name)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (times as ISO strings)."""
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["next_observable"] = {k: v.isoformat() if v else None
                                for k, v in self.next_observable.items()}
        d["observations"] = [
            {**asdict(o), "start_time": o.start_time.isoformat(), "request_key": o.request_key}
            for o in self.observations
        ]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """Planned observations as CSV (one row per exposure)."""
        buf = io.StringIO()
        cols = ["telescope", "field_id", "target", "ra", "dec", "filter", "exposure_time",
                "start_time", "probability", "visit"]
        w = csv.writer(buf)
        w.writerow(cols)
        for o in self.observations:
            w.writerow([getattr(o, c).isoformat() if c == "start_time" else getattr(o, c)
                        for c in cols])
        return buf.getvalue()

    def to_markdown(self, limit: int = 200) -> str:
        """Markdown table of the planned observations (e.g. for a Prefect artifact)."""
        lines = [
            f"**{self.objective_name.capitalize()}** {100 * self.objective:.2f} % "
            f"(bound {100 * self.bound:.2f} %, "
            f"gap {100 * self.gap:.2f} %: "
            f"{self.solver_sentence()})", "",
            f"Probability {self.headline()}", ""]
        if self.observations:
            lines += ["Exposure times: " + "; ".join(
                f"{name} {', '.join(f'{t:g}' for t in times)} s"
                for name, times in self.exposure_times.items()), ""]
        if not self.observable:
            lines += ["**Not observable in the window.**", ""]
        lines += [f"* {line}" for line in self.idle_lines()]
        lines += ["",
            "| telescope | field / target | RA | Dec | filter | exp (s) | start (UTC) "
            "| probability | visit |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for o in self.observations[:limit]:
            where = o.field_id if o.field_id is not None else o.target
            lines.append(f"| {o.telescope} | {where} | {o.ra:.4f} | {o.dec:.4f} | {o.filter} "
                         f"| {o.exposure_time:g} | {o.start_time:%Y-%m-%d %H:%M:%S} "
                         f"| {o.probability:.4f} | {o.visit} |")
        if len(self.observations) > limit:
            lines.append(f"| ... {len(self.observations) - limit} more | | | | | | | | |")
        return "\n".join(lines)

    def summary(self) -> str:
        """Human-readable summary: probability per telescope and total, bound, gap."""
        lines = [f"Plan {self.start:%Y-%m-%d %H:%M} - {self.end:%Y-%m-%d %H:%M} UTC "
                 f"({len(self.observations)} exposures)"]
        times = self.exposure_times
        lines.append(f"  {self.objective_name} per telescope: alone / added to the network")
        for name in self.telescopes:
            n = sum(1 for o in self.observations if o.telescope == name)
            texp = ", ".join(f"{t:g}" for t in times.get(name, []))
            lines.append(f"  {name:<14} {100 * self.per_telescope.get(name, 0.0):6.2f} %"
                         f" / {100 * self.per_telescope_added.get(name, 0.0):6.2f} %"
                         f"  ({n} exposures" + (f", {texp} s)" if texp else ")"))
        lines.append(f"  {'network':<14} {100 * self.objective:6.2f} %  (union, counted once)")
        lines.append(f"  probability {self.headline()}")
        if not self.observable:
            lines.append("  not observable in the window")
        lines += [f"  {line}" for line in self.idle_lines()]
        lines.append(f"  bound {100 * self.bound:.2f} %, gap {100 * self.gap:.2f} %: "
                     f"{self.solver_sentence()}")
        lines.append(f"  status {self.status}, solve {self.solve_time:.2f} s, "
                     f"total {self.wall_time:.2f} s")
        return "\n".join(lines)


def idle_lines(idle: dict[str, str], next_time: dict,
               days: float = LOOKAHEAD_DAYS) -> list[tuple[str, str]]:
    """``(telescope, sentence)`` for each idle telescope: why, and when it next could observe.

    ``next_time`` values are datetimes, ISO strings or None (not within the look-ahead).
    """
    out = []
    for name, why in idle.items():
        line = why
        if name in next_time:
            t = next_time[name]
            if t is None:
                if "never rises" not in why:
                    line += f"; not observable from its site within {days:g} days"
            else:
                if isinstance(t, str):
                    t = dt.datetime.fromisoformat(t)
                line += f"; next observable from {t:%Y-%m-%d %H:%M} UTC"
        out.append((name, line))
    return out


def resolve_strategies(
    telescopes: list[Telescope], strategy: Strategy | dict | None
) -> dict[str, Strategy]:
    """One :class:`Strategy` per telescope from a shared one, a mapping or defaults."""
    out = {}
    for tel in telescopes:
        if isinstance(strategy, Strategy):
            s = strategy
        elif isinstance(strategy, dict) and tel.name in strategy:
            s = strategy[tel.name]
            if isinstance(s, dict):
                s = Strategy(**s)
        else:
            s = default_strategy(tel)
        for f in s.filters:
            s.exposure(tel, f)  # raises a clear error for an unknown filter
        out[tel.name] = s
    return out


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def plan_from_exposures(
    problem: Problem, exposures: list[Exposure], *, bound: float, solve_time: float,
    status: str, wall_time: float = 0.0, notes: list[str] | None = None,
) -> Plan:
    """Turn timed exposures into a :class:`Plan`, computing coverage from them."""
    done = completed_candidates(problem, exposures)
    exposures = [e for e in exposures if e.candidate in done]
    covered = problem.union_probability(done)
    det = getattr(problem, "detection", None)
    detected = None
    levels: dict[int, int] = {}
    pixels = None
    if det is not None:
        from .detection import detection_probability, exposure_levels
        from .value import candidate_pixels

        pixels = candidate_pixels(problem)
        levels = exposure_levels(problem, exposures)
        detected = detection_probability(problem, levels, pixels)
    by_detection = problem.objective == "detection" and det is not None

    def score(cands) -> float:
        if by_detection:
            return detection_probability(problem, {i: levels[i] for i in cands if i in levels},
                                         pixels)
        return problem.union_probability(cands)

    objective = detected if by_detection else covered
    per_tel, added = {}, {}
    obs = []
    for part in problem.parts:
        mine = [i for i in done if part.offset <= i < part.offset + len(part)]
        per_tel[part.telescope.name] = score(mine)
        others = [i for i in done if not part.offset <= i < part.offset + len(part)]
        added[part.telescope.name] = objective - score(others) if mine else 0.0
    part_of = {}
    for part in problem.parts:
        for k in range(len(part)):
            part_of[part.offset + k] = (part, k)
    for e in sorted(exposures, key=lambda e: (part_of[e.candidate][0].telescope.name, e.start)):
        part, k = part_of[e.candidate]
        fid = int(part.field_ids[k])
        obs.append(PlannedObservation(
            telescope=part.telescope.name,
            ra=float(part.ra[k]), dec=float(part.dec[k]),
            filter=part.filters[e.visit], exposure_time=float(e.duration),
            start_time=dt.datetime.fromtimestamp(e.start, dt.UTC),
            probability=float(part.prob[k]), visit=e.visit + 1,
            field_id=fid if fid >= 0 else None,
            target=part.names[k] if part.names else None,
        ))
    bound = max(bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    return Plan(observations=obs, objective=objective, bound=bound, gap=gap,
                solve_time=solve_time, status=status, per_telescope=per_tel,
                start=problem.start, end=problem.end, wall_time=wall_time,
                telescopes=[p.telescope.name for p in problem.parts],
                notes=list(problem.notes) + list(notes or []),
                objective_name=problem.objective if by_detection else "coverage",
                covered=covered, detected=detected,
                counterpart=det.model.description if det is not None else None,
                per_telescope_added=added)


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
    say = _stepper(progress, t0)
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


def _repair_and_prune(problem: Problem, exposures: list[Exposure], prune, *, repair: bool,
                      wanted=frozenset(), why: dict | None = None
                      ) -> tuple[list[Exposure], dict[str, int], float | None]:
    """The timed plan with timing's drops put back and the thresholds applied.

    With ``repair`` (coverage objective): fields left out by timing go back into
    idle telescope time (:func:`~.repair.insert_fields`, continuous time), the
    optimiser's fields timing dropped (``wanted``) take the place of planned fields
    that add less (:func:`~.repair.swap_fields`), the fields below their threshold
    are removed, and the time that frees is filled again the same way (kept only
    when the plan covers more). Without it, under the detection objective, the
    ``wanted`` rows go back into idle time when they add their threshold
    (:func:`~.repair.insert_detection`; ``why`` receives each one's outcome).
    Returns the
    exposures, the number of fields removed by the thresholds per telescope, and
    the coverage before the thresholds (None without ``repair``).
    """
    if not repair:
        if wanted and problem.objective == "detection":
            # the optimiser's rows timing dropped, put back into idle time when they
            # still add their threshold of detection probability (repair.insert_detection)
            exposures, outcome = insert_detection(problem, exposures, wanted)
            if why is not None:
                why.update(outcome)
        exposures, pruned = prune(problem, exposures)
        return exposures, pruned, None
    exposures, _ = insert_fields(problem, exposures)
    exposures, _ = swap_fields(problem, exposures, wanted)
    before = problem.union_probability(completed_candidates(problem, exposures))
    exposures, pruned = prune(problem, exposures)
    more, added = insert_fields(problem, exposures)
    if added:
        more, pruned_more = prune(problem, more)
        if (problem.union_probability(completed_candidates(problem, more))
                > problem.union_probability(completed_candidates(problem, exposures)) + 1e-12):
            exposures = more
            for name, n in pruned_more.items():
                pruned[name] = pruned.get(name, 0) + n
    return exposures, pruned, before


def coverage_baseline(problem: Problem, baseline: list[Exposure] | None = None
                      ) -> tuple[list[Exposure], dict[str, int]]:
    """The greedy coverage baseline: the greedy exposures with the coverage thresholds.

    What the greedy baseline keeps under the coverage objective
    (:func:`~.value.prune_low_value`), whatever the problem's objective; the
    detection path scores it under its own objective so that a detection plan is
    never worse than it (``baseline``: :func:`~.greedy.greedy_plan` already run).
    """
    return prune_low_value(problem, greedy_plan(problem) if baseline is None else baseline)


def keep_coverage_baseline(problem: Problem, plan: Plan, pruned: dict[str, int],
                           baseline: list[Exposure] | None = None
                           ) -> tuple[Plan, dict[str, int]]:
    """The detection plan, or the coverage baseline's exposures if they detect more.

    The greedy exposures pruned under the detection objective are compared already;
    pruned by the coverage thresholds (:func:`coverage_baseline`) they may keep
    fields that detect more together than each adds alone (issue 15), so they are
    scored under the detection objective too and kept, with a note, if they detect
    more. Cheap: no further solve. Returns the plan and its fields pruned per telescope.
    """
    exposures, cov_pruned = coverage_baseline(problem, baseline)
    cov = plan_from_exposures(problem, exposures, bound=plan.bound, solve_time=plan.solve_time,
                              status=f"{plan.status.split('+')[0]}+GREEDY")
    if not cov.objective > plan.objective + 1e-12:
        return plan, pruned
    cov.notes.extend(f"{name}: {n} fields dropped: each added less than its (coverage) "
                     "threshold" for name, n in cov_pruned.items())
    cov.notes.append(f"kept the coverage baseline's exposures: they detect more than the "
                     f"detection plan ({cov.objective:.4f} vs {plan.objective:.4f} of the "
                     "counterpart population)")
    return cov, cov_pruned


def keep_greedy_baseline(plan: Plan, greedy: Plan, *, bound: float, status: str,
                         solve_time: float) -> Plan:
    """The solved plan, or the greedy baseline's plan if its objective is higher.

    Never worse than the baseline: the greedy plan is kept with the solver's bound,
    its own gap, the status ``<status>+GREEDY`` and a note in words of the plan's
    objective (:func:`objective_words`). ``greedy`` is changed in place when kept.
    """
    if not greedy.objective > plan.objective:
        return plan
    greedy.bound = max(bound, greedy.objective)
    greedy.gap = ((greedy.bound - greedy.objective) / greedy.bound
                  if greedy.bound > 0 else 0.0)
    greedy.solve_time = solve_time
    greedy.status = f"{status}+GREEDY"
    greedy.notes.append(f"the greedy plan had more {objective_words(greedy.objective_name)} "
                        "than the solver's incumbent; kept it")
    return greedy


def _not_back(why: dict[int, str], mine, final) -> str:
    """Why the optimiser's rows timing dropped were not put back (detection objective)."""
    left = [why[i] for i in mine if i in why and i not in final]
    if not left:
        return ""
    words = {"no room": "found no idle time where observable",
             "below threshold": "added less than the threshold where they fit",
             "field planned": "had their field planned at another exposure time",
             "put back": "were put back but pruned later"}
    parts = [f"{left.count(w)} {words[w]}" for w in words if left.count(w)]
    return "; not put back: " + ", ".join(parts)


def gap_sentence(plan: Plan) -> str:
    """What the gap of a solved coverage plan is made of, in one sentence."""
    th = plan.gap_thresholds or 0.0
    return (f"gap {100 * plan.gap:.2f} % to the block model's bound (the best plan of the "
            f"block model, with no per-telescope threshold): "
            f"{100 * (plan.gap - th):.2f} % solver stop and exact timing, "
            f"{100 * th:.2f} % given up by the per-telescope thresholds")


def _stepper(progress, t0: float | None = None):
    """A ``say(line)`` that prefixes the elapsed time, or does nothing without ``progress``."""
    t0 = time.perf_counter() if t0 is None else t0

    def say(line: str) -> None:
        if progress is not None:
            progress(f"[{time.perf_counter() - t0:5.1f} s] {line}")
    return say


def solve_problem(problem: Problem, *, time_limit: float = 20.0, solver: str = "SCIP",
                  method: str = "optimal", lookahead_days: float = LOOKAHEAD_DAYS,
                  progress=None) -> Plan:
    """Optimise (or run the greedy baseline on) a built problem; returns the Plan.

    The optimiser's block assignment is completed with idle-time fields
    (:func:`~.solver.fill_idle`), timed (:func:`~.sequence.sequence_plan`) and
    scored on the sky; if the greedy baseline covers more, its plan is returned
    (with the solver's bound), so a plan is never worse than the baseline. Fields
    that add less than their telescope's threshold are dropped from both
    (:func:`~.value.prune_low_value`); telescopes left without exposures say why
    (:func:`~.observability.explain_idle`).
    """
    say = _stepper(progress)
    say(f"{problem.n_candidates} candidates: "
        + ", ".join(f"{p.telescope.name} {len(p)}" for p in problem.parts)
        + "; greedy baseline")
    by_detection = problem.objective == "detection" and problem.detection is not None
    if by_detection:
        from .detection import fill_idle_detection, prune_detection

        prune, fill = prune_detection, fill_idle_detection
    else:
        prune, fill = prune_low_value, fill_idle
    baseline = greedy_plan(problem)
    greedy, greedy_pruned = prune(problem, baseline)
    notes: list[str] = []
    pruned = greedy_pruned
    if method == "greedy":
        plan = plan_from_exposures(problem, greedy, bound=float("nan"), solve_time=0.0,
                                   status="GREEDY")
        plan.bound, plan.gap = float("nan"), float("nan")
    elif method == "optimal":
        # a feasible point of the block model (a warm start the solver can use)
        hint = model_feasible(problem, {(e.candidate, e.visit): e.block for e in greedy})
        if by_detection:
            from .detection import incumbent

            # a fast incumbent under the objective itself
            say("detection incumbent (greedy, or best detection per second, filled)")
            hint = incumbent(problem, greedy)
        keep = None
        if by_detection:
            from .detection import reachable_total, working_set

            keep = working_set(problem, hint)
        if keep is None:
            say(f"solving ({solver}, time limit {time_limit:g} s)")
            sol = solve(problem, time_limit=time_limit, solver=solver, hint=hint)
        else:
            # too large a model for the time limit: the solver improves the incumbent
            # on a working set of rows; the bound is the whole model's reachable total
            n_rows = sum(len(p) for p in problem.parts)
            n_kept = sum(int(m.sum()) for m in keep)
            say(f"solving ({solver}, time limit {time_limit:g} s) on {n_kept} of {n_rows} rows")
            bound = reachable_total(problem)
            saved = [part.visible.copy() for part in problem.parts]
            try:
                for part, m in zip(problem.parts, keep, strict=True):
                    part.visible[~m] = False
                sol = solve(problem, time_limit=time_limit, solver=solver, hint=hint)
            finally:
                for part, vis in zip(problem.parts, saved, strict=True):
                    part.visible[:] = vis
            sol.bound, sol.bound_is_total = max(bound, sol.objective), True
            if sol.status == "OPTIMAL":
                sol.status = "WORKING-SET"  # optimal for the working set only
            notes.append(f"the solver worked on {n_kept} of {n_rows} field rows (the "
                         "incumbent's, then the best by detection per second): the model of "
                         "all of them is too large for its time limit")
        say(f"solver {sol.status} in {sol.solve_time:.1f} s; timing the exposures")
        protected = {i for i, _ in sol.assignment}
        exposures, dropped = sequence_plan(problem, fill(problem, sol.assignment),
                                           protected)
        why: dict[int, str] = {}
        exposures, pruned, before_thresholds = _repair_and_prune(
            problem, exposures, prune, repair=not by_detection, wanted=dropped & protected,
            why=why)
        for name, n in pruned.items():
            notes.append(f"{name}: {n} fields dropped: each added less than its threshold")
        final = completed_candidates(problem, exposures)
        for part in problem.parts:
            mine = [i for i in dropped if part.offset <= i < part.offset + len(part)]
            if mine:
                back = sum(1 for i in mine if i in final)
                fill_ins = sum(1 for i in mine if i not in protected)
                notes.append(f"{part.telescope.name}: {len(mine)} fields dropped when timing "
                             "exposures (block overflow"
                             + (f"; {fill_ins} of them idle-time fill-ins" if fill_ins else "")
                             + ")"
                             + (f", {back} of them put back into idle time" if back else "")
                             + _not_back(why, mine, final))
        notes.append(f"model: {sol.n_variables} variables, {sol.n_constraints} constraints, "
                     f"{len(problem.regions.weight)} sky regions")
        if sol.bound_is_total and sol.status != "OPTIMAL":
            notes.append("bound: no solver bound of the whole model within its time limit; it is "
                         + ("every sky region at the deepest level a usable field covering "
                            "it reaches (no plan of the block model detects more)"
                            if by_detection else "all the candidate fields together"))
        plan = plan_from_exposures(problem, exposures, bound=sol.bound,
                                   solve_time=sol.solve_time, status=sol.status, notes=notes)
        if before_thresholds is not None and plan.bound > 0:
            plan.gap_thresholds = min(plan.gap, max(
                0.0, (before_thresholds - plan.objective) / plan.bound))
            plan.notes.append(gap_sentence(plan))
        greedy_plan_ = plan_from_exposures(problem, greedy, bound=0.0, solve_time=0.0,
                                           status="GREEDY")
        kept = keep_greedy_baseline(plan, greedy_plan_, bound=sol.bound, status=sol.status,
                                    solve_time=sol.solve_time)
        if kept is not plan:
            plan, pruned = kept, greedy_pruned
        if by_detection and sol.status != "OPTIMAL":
            # the solver stopped early: its incumbent may be worse than the hint it was
            # given (a hint it could not use), so the hint is timed and scored too
            inc, _ = sequence_plan(problem, hint, set(i for i, _ in hint))
            inc, inc_pruned = prune(problem, inc)
            inc_plan = plan_from_exposures(problem, inc, bound=sol.bound,
                                           solve_time=sol.solve_time,
                                           status=f"{sol.status}+INCUMBENT", notes=notes)
            if inc_plan.objective > plan.objective:
                inc_plan.notes.append("the detection incumbent detected more than the "
                                      "solver's time-limited plan; kept it")
                plan, pruned = inc_plan, inc_pruned
        if by_detection:
            plan, pruned = keep_coverage_baseline(problem, plan, pruned, baseline)
    else:
        raise ValueError(f"unknown planning method {method!r}")
    busy = {o.telescope for o in plan.observations}
    if len(busy) < len(problem.parts):
        say("why the idle telescopes got nothing, and when they next could observe")
    plan.idle, plan.next_observable = explain_idle(problem, busy, pruned, lookahead_days)
    plan.lookahead_days = lookahead_days
    return plan
