"""The gap a plan reports is the gap of the plan it returns (issue 15).

Timing the optimiser's block assignment used to drop fields (a block overflowing
once the exposures are sequenced), and the per-telescope thresholds remove more
after timing, so plans reported gaps of 1–1.8 % against a solver stopping at
0.5 %. Now the fields timing left out go back into idle telescope time (continuous
time, :mod:`tooflow.planning.repair`), the gap is recomputed from the returned
exposures, and the part of it the thresholds gave up is reported separately
(the bound is the block model's, which has no threshold).

Real maps: the cWB burst G1028259 (47 deg²) and the LALInference map of S190425z
(7500 deg², where timing dropped five fields: 1.78 % reported before), four
telescopes, 24 h from the event time. The plan's
coverage is recomputed from scratch from its observations
(:func:`tooflow.records.coverage.achieved_coverage`, the monitor's code).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from astropy.time import Time
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.planning import coverage as cv
from tooflow.planning import load_telescope, plan_skymap
from tooflow.planning.greedy import greedy_plan
from tooflow.planning.problem import build_problem
from tooflow.planning.repair import insert_fields
from tooflow.planning.result import SOLVER_TOLERANCE
from tooflow.planning.sequence import completed_candidates, transition_time
from tooflow.planning.strategy import default_strategy, resolve_strategies
from tooflow.records.coverage import achieved_coverage

DATA = Path(__file__).parent / "data"
MAPS = {"G1028259": DATA / "skymaps" / "rrt_small_area.fits",
        "S190425z": DATA / "skymaps" / "S190425z_2_LALInference.fits.gz"}
NAMES = ["ZTF", "DECam", "Gattini", "GROWTH-India"]

pytestmark = pytest.mark.slow  # each plan of a real map takes 10–60 s


def _window(moc):
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    return start, start + dt.timedelta(hours=24)


@pytest.fixture(scope="module", params=sorted(MAPS))
def moc(request):
    configure_iers(offline=True)
    return read_sky_map(str(MAPS[request.param]), moc=True)


def _no_thresholds():
    return {n: replace(default_strategy(load_telescope(n)), min_marginal=0.0) for n in NAMES}


def _check_reported_gap(moc, plan):
    cov, _ = achieved_coverage(moc, [(o.telescope, o.ra, o.dec) for o in plan.observations])
    assert cov["total"] == pytest.approx(plan.objective, abs=1e-6)
    assert plan.bound >= plan.objective
    assert plan.gap == pytest.approx((plan.bound - cov["total"]) / plan.bound, abs=1e-6)


def test_without_thresholds_the_plan_is_within_the_solver_stop(moc):
    """No threshold: the returned plan's gap is at most the solver's 0.5 %."""
    start, end = _window(moc)
    plan = plan_skymap(moc, NAMES, start, end, _no_thresholds(), time_limit=120)
    assert plan.status == "OPTIMAL", plan.summary()  # 120 s: far more than these need
    _check_reported_gap(moc, plan)
    assert plan.gap <= SOLVER_TOLERANCE + 1e-9, plan.summary()
    assert plan.gap_thresholds == pytest.approx(0.0, abs=1e-9)


def test_with_thresholds_the_gap_says_what_they_gave_up(moc):
    """Default thresholds: the gap is still the returned plan's; beyond the solver's
    stop it is what the thresholds gave up, and the summary says so."""
    start, end = _window(moc)
    plan = plan_skymap(moc, NAMES, start, end, time_limit=120)
    assert plan.status == "OPTIMAL", plan.summary()
    _check_reported_gap(moc, plan)
    assert plan.gap_thresholds is not None and 0 <= plan.gap_thresholds <= plan.gap
    assert plan.gap - plan.gap_thresholds <= SOLVER_TOLERANCE + 1e-9, plan.summary()
    text = plan.summary()
    assert f"gap {100 * plan.gap:.2f} %" in text
    if plan.gap > SOLVER_TOLERANCE:
        assert "per-telescope thresholds gave up" in text
    assert any(n.startswith(f"gap {100 * plan.gap:.2f} % to the block model's bound")
               for n in plan.notes)


def test_insert_fields_puts_a_removed_field_back_in_continuous_time(moc):
    """Remove the field that adds most from a timed plan: the repair fills its time
    again (with it or a field adding more), every exposure inside its visibility
    window, the telescope's overheads and the visits' minimum gap kept."""
    start, end = _window(moc)
    tels = [load_telescope(n) for n in ("ZTF", "DECam")]
    grid = cv.probability_grid(moc, order=9)
    problem = build_problem(grid, tels, resolve_strategies(tels, None), start, end)
    timed = greedy_plan(problem)
    done = completed_candidates(problem, timed)
    assert len(done) > 3
    union = problem.union_probability(done)
    # the field that adds most: with it gone, its time is free for it or a better one
    best = max(done, key=lambda i: union - problem.union_probability(done - {i}))
    without = [e for e in timed if e.candidate != best]
    assert problem.union_probability(done - {best}) < union
    repaired, added = insert_fields(problem, without)
    assert sum(added.values()) >= 1
    assert problem.union_probability(completed_candidates(problem, repaired)) >= union - 1e-12
    for part in problem.parts:
        mine = sorted((e for e in repaired
                       if part.offset <= e.candidate < part.offset + len(part)),
                      key=lambda e: e.start)
        for a, b in zip(mine, mine[1:], strict=False):
            need = transition_time(part, a.candidate - part.offset, b.candidate - part.offset,
                                   part.filters[a.visit], part.filters[b.visit])
            assert b.start >= a.start + a.duration + need - 1e-6, (a, b)
        for e in set(mine) - set(without):  # the inserted ones (greedy times its own)
            k = e.candidate - part.offset
            assert part.win_start[k, e.block] - 1e-6 <= e.start
            assert e.start + e.duration <= part.win_end[k, e.block] + 1e-6
        # later visits at least the strategy's gap after the earlier ones
        by_field: dict[int, dict[int, float]] = {}
        for e in mine:
            by_field.setdefault(e.candidate, {})[e.visit] = e.start
        for visits in by_field.values():
            for v in range(1, len(visits)):
                assert visits[v] >= visits[v - 1] + part.strategy.min_gap - 1e-6
