"""The baselines a plan is never worse than, and the rule that keeps them.

:func:`keep_greedy_baseline`: the greedy baseline's plan replaces the solver's when
its objective is higher (status ``…+GREEDY``). Under the detection objective,
:func:`keep_coverage_baseline` also scores the greedy coverage baseline
(:func:`coverage_baseline`) by detection and keeps it when it detects more.
"""

from __future__ import annotations

from .assembly import plan_from_exposures
from .greedy import greedy_plan
from .problem import Problem
from .result import Plan, objective_words
from .sequence import Exposure
from .value import prune_low_value

__all__ = ["coverage_baseline", "keep_coverage_baseline", "keep_greedy_baseline"]


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
