"""A detection plan is never worse, by its own objective, than the greedy coverage
baseline's exposures (issue 15): on a real map with the solver given almost no time.
A plan the greedy baseline replaced says so in words of its own objective."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from astropy.time import Time
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.models import Plan as PlanRow
from tooflow.planning import plan_skymap
from tooflow.planning.assembly import plan_from_exposures
from tooflow.planning.fallback import (
    coverage_baseline,
    keep_coverage_baseline,
    keep_greedy_baseline,
)
from tooflow.planning.result import objective_words
from tooflow.tasks.plan import plan_markdown
from tooflow.views.summary import plan_lines

# MDC BAYESTAR map with distance layers (source: tests/data/coincidence/README.md)
MAP = Path(__file__).parent / "data" / "coincidence" / "MS190227n_bayestar.fits.gz"
NOTE = "kept the coverage baseline's exposures: they detect more than the detection plan"


def _plan(objective: str):
    configure_iers(offline=True)
    moc = read_sky_map(str(MAP), moc=True)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    # a time limit so tiny the solver returns little of its own
    return plan_skymap(moc, ["ZTF"], start, start + dt.timedelta(hours=24), time_limit=0.01,
                       objective=objective, return_problem=True)


@pytest.fixture(scope="module")
def planned():
    return _plan("detection")


@pytest.fixture(scope="module")
def covered():
    return _plan("coverage")


def _baseline_detected(problem) -> float:
    exposures, _ = coverage_baseline(problem)
    assert exposures, "the greedy coverage baseline observes nothing: no comparison"
    plan = plan_from_exposures(problem, exposures, bound=0.0, solve_time=0.0, status="GREEDY")
    assert plan.objective_name == "detection"
    return plan.objective


def test_detection_plan_detects_at_least_the_coverage_baseline(planned):
    plan, problem = planned
    assert plan.objective_name == "detection"
    baseline = _baseline_detected(problem)
    assert baseline > 0.0
    assert plan.objective >= baseline - 1e-12
    assert plan.detected == pytest.approx(plan.objective)


def test_coverage_baseline_kept_when_it_detects_more(planned):
    plan, problem = planned
    # the real plan detects more: it is returned as it is
    same, _ = keep_coverage_baseline(problem, plan, {})
    assert same is plan
    # a plan that detects nothing (what a solver with no incumbent leaves): the
    # coverage baseline's exposures are kept instead, with the note
    empty = plan_from_exposures(problem, [], bound=plan.bound, solve_time=0.01,
                                status="NOT_SOLVED")
    assert empty.objective == 0.0
    kept, _ = keep_coverage_baseline(problem, empty, {})
    assert kept.objective == pytest.approx(_baseline_detected(problem))
    assert kept.observations and {o.telescope for o in kept.observations} == {"ZTF"}
    assert kept.status == "NOT_SOLVED+GREEDY"
    assert any(n.startswith(NOTE) for n in kept.notes)
    assert not any(n.startswith(NOTE) for n in plan.notes)


def _stored(plan) -> PlanRow:
    """The plan as :func:`tooflow.stages.plan.store_plan` stores it (not in a database)."""
    return PlanRow(id=1, event_pk=1, notice_id=1, program="P", start=plan.start, end=plan.end,
                   telescopes=list(plan.telescopes), objective=plan.objective,
                   objective_name=plan.objective_name, covered=plan.covered,
                   detected=plan.detected, counterpart=plan.counterpart,
                   upper_bound=plan.bound, gap=plan.gap, gap_thresholds=plan.gap_thresholds,
                   solve_time=plan.solve_time, solver_status=plan.status,
                   per_telescope=dict(plan.per_telescope),
                   per_telescope_added=dict(plan.per_telescope_added), idle={})


@pytest.mark.parametrize(("fixture", "objective", "words"), [
    ("covered", "coverage", "probability covered"),
    ("planned", "detection", "probability of detection under the model"),
])
def test_greedy_fallback_speaks_of_the_plans_objective(request, fixture, objective, words):
    plan, problem = request.getfixturevalue(fixture)
    assert problem.objective == objective and objective_words(objective) == words
    # what solve_problem does when the greedy baseline beats the solver's plan (here
    # one the solver left empty): the baseline is kept, status FEASIBLE+GREEDY
    empty = plan_from_exposures(problem, [], bound=plan.bound, solve_time=0.01,
                                status="FEASIBLE")
    exposures, _ = coverage_baseline(problem)
    greedy = plan_from_exposures(problem, exposures, bound=0.0, solve_time=0.0,
                                 status="GREEDY")
    kept = keep_greedy_baseline(empty, greedy, bound=plan.bound, status="FEASIBLE",
                                solve_time=0.01)
    assert kept is greedy and kept.status == "FEASIBLE+GREEDY"
    assert kept.objective_name == objective and kept.objective > 0.0
    assert f"the greedy plan had more {words} than the solver's incumbent; kept it" in kept.notes
    sentence = (f"greedy baseline kept (it had more {words} than the solver's best); the "
                f"best possible plan has at most {100 * kept.gap:.2f} % more {words}")
    assert kept.solver_sentence() == sentence
    # `tooflow plan` (the summary), the plan's markdown, `tooflow show` and the artifact
    assert f"gap {100 * kept.gap:.2f} %: {sentence}" in kept.summary()
    assert f"gap {100 * kept.gap:.2f} %: {sentence})" in kept.to_markdown()
    row = _stored(kept)
    head, solver = plan_lines(row, "P")[:2]
    what = "of the probability" if objective == "coverage" else words
    assert f"{100 * kept.objective:.1f} % {what} [ZTF " in head
    assert solver == f"  solver: {sentence}"
    artifact = plan_markdown(row, [], "MS190227n")
    assert f"{words} **{100 * kept.objective:.1f} %**" in artifact
    assert f"{sentence}; FEASIBLE+GREEDY, solved in" in artifact
    for text in (kept.summary(), kept.to_markdown(), artifact, *plan_lines(row, "P")):
        assert "covered more" not in text and "covers at most" not in text
