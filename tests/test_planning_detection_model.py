"""The detection MIP on a real map (S190814bv, ZTF + DECam, 24 h): its warm start is a
feasible point the solver keeps, its bound bounds what the block model can detect, and a
model too large for the time limit is solved on a working set that keeps the incumbent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from astropy.time import Time
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.planning import plan_skymap
from tooflow.planning.detection import (
    TERM_TOLERANCE,
    assignment_value,
    incumbent,
    prune_detection,
    reachable_total,
    working_set,
)
from tooflow.planning.greedy import greedy_plan
from tooflow.planning.problem import model_feasible
from tooflow.planning.solver import solve

MAP = Path(__file__).parent / "data" / "skymaps" / "S190814bv_5_LALInference.v1.fits.gz"

#: Reads and plans a real map (the module's set-up took 18 s at load ~15, 5.6 s of CPU).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def problem():
    configure_iers(offline=True)
    moc = read_sky_map(str(MAP), moc=True)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    _, problem = plan_skymap(moc, ["ZTF", "DECam"], start, start + dt.timedelta(hours=24),
                             objective="detection", method="greedy", return_problem=True)
    return problem


@pytest.fixture(scope="module")
def start_point(problem):
    greedy, _ = prune_detection(problem, greedy_plan(problem))
    return incumbent(problem, greedy)


def test_incumbent_is_a_warm_start_the_solver_keeps(problem, start_point):
    assert start_point
    # every field of the incumbent is admitted by the block model's constraints
    assert model_feasible(problem, start_point) == start_point
    value = assignment_value(problem, start_point)
    sol = solve(problem, time_limit=10, hint=start_point)
    assert sol.status in ("OPTIMAL", "FEASIBLE")
    # the model leaves out terms worth at most TERM_TOLERANCE: its value of the
    # incumbent is at most that much below the incumbent's detection probability
    assert sol.objective >= value - TERM_TOLERANCE - 1e-9
    found = assignment_value(problem, sol.assignment)
    assert found >= value - TERM_TOLERANCE - 1e-9
    # the bound bounds every assignment's detection probability, and no more than
    # every region at its deepest reachable level
    assert sol.bound >= max(found, value) - 1e-9
    assert sol.bound <= reachable_total(problem) + 1e-9


def test_working_set_keeps_the_incumbent_and_its_size(problem, start_point):
    assert working_set(problem, start_point) is None  # a compact map: the whole model
    keep = working_set(problem, start_point, max_variables=0, size=1500)
    assert keep is not None and len(keep) == len(problem.parts)
    for part, mask in zip(problem.parts, keep, strict=True):
        mine = [i - part.offset for i, _ in start_point
                if part.offset <= i < part.offset + len(part)]
        assert mask[mine].all()
        assert not mask.all()
    n_vars = sum(int(part.visible[m].sum()) * len(part.filters)
                 for part, m in zip(problem.parts, keep, strict=True))
    inc_vars = sum(int(part.visible[i - part.offset].sum()) * len(part.filters)
                   for part in problem.parts for i in {i for i, _ in start_point}
                   if part.offset <= i < part.offset + len(part))
    widest = max(int(part.visible.sum(axis=1).max()) * len(part.filters)
                 for part in problem.parts)
    assert n_vars <= max(1500, inc_vars) + len(problem.parts) * widest
