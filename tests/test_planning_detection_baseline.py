"""A detection plan is never worse, by its own objective, than the greedy coverage
baseline's exposures (issue 15): on a real map with the solver given almost no time."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from astropy.time import Time
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.planning import plan_skymap
from tooflow.planning.planner import (
    coverage_baseline,
    keep_coverage_baseline,
    plan_from_exposures,
)

# MDC BAYESTAR map with distance layers (source: tests/data/coincidence/README.md)
MAP = Path(__file__).parent / "data" / "coincidence" / "MS190227n_bayestar.fits.gz"
NOTE = "kept the coverage baseline's exposures: they detect more than the detection plan"


@pytest.fixture(scope="module")
def planned():
    configure_iers(offline=True)
    moc = read_sky_map(str(MAP), moc=True)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    # a time limit so tiny the solver returns little of its own
    return plan_skymap(moc, ["ZTF"], start, start + dt.timedelta(hours=24), time_limit=0.01,
                       objective="detection", return_problem=True)


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
