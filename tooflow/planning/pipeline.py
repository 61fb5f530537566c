"""A built :class:`~.problem.Problem` → a :class:`~.result.Plan`: :func:`solve_problem`.

The greedy baseline; the solver (on a working set when the detection model is too
large); idle-time fill-in, timing, repair and the per-telescope thresholds
(:func:`~.repair.repair_and_prune`); the plan scored from its exposures, kept only
if no baseline or incumbent does better (:mod:`.fallback`); why idle telescopes got
nothing.
"""

from __future__ import annotations

import time

from .assembly import plan_from_exposures
from .fallback import keep_coverage_baseline, keep_greedy_baseline
from .greedy import greedy_plan
from .observability import LOOKAHEAD_DAYS, explain_idle
from .problem import Problem, model_feasible
from .repair import repair_and_prune
from .result import Plan
from .sequence import completed_candidates, sequence_plan
from .solver import fill_idle, solve
from .value import prune_low_value

__all__ = ["gap_sentence", "solve_problem", "stepper"]


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


def stepper(progress, t0: float | None = None):
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
    scored under the problem's objective; if the greedy baseline scores more, its
    plan is returned (with the solver's bound,
    :func:`~.fallback.keep_greedy_baseline`), so a plan is never worse than the
    baseline. Fields
    that add less than their telescope's threshold are dropped from both
    (:func:`~.value.prune_low_value`); telescopes left without exposures say why
    (:func:`~.observability.explain_idle`).
    """
    say = stepper(progress)
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
        exposures, pruned, before_thresholds = repair_and_prune(
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
