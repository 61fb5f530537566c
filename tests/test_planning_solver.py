"""Small planning cases whose optimum is known by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import AltAz, SkyCoord
from astropy.time import Time

from tooflow.iers import configure_iers
from tooflow.planning import Strategy, plan_skymap

from .planning_helpers import disc_map, telescope

# the night of 2019-04-25/26 at Palomar (sun below -12 deg ~03:20-11:50 UTC)
START = dt.datetime(2019, 4, 26, 2, 0, tzinfo=dt.UTC)
END = dt.datetime(2019, 4, 26, 13, 0, tzinfo=dt.UTC)

A, B, C = (200.0, 30.0), (220.0, 45.0), (180.0, 50.0)


@pytest.fixture(scope="module", autouse=True)
def _offline():
    configure_iers(offline=True)


def test_overlapping_telescopes_union_not_double_counted():
    # T1 sees spots A (0.5) and B (0.3); T2 sees A and C (0.2); one field each.
    # Greedy per telescope takes A twice (0.5); the best union is T1:B + T2:A = 0.8.
    moc = disc_map([(*A, 0.5), (*B, 0.3), (*C, 0.2)])
    t1 = telescope("T1", [(1, *A), (2, *B)])
    t2 = telescope("T2", [(1, *A), (3, *C)])
    one = Strategy(filters=["r"], max_fields=1)
    plan = plan_skymap(moc, [t1, t2], START, END, {"T1": one, "T2": one}, time_limit=10)
    assert plan.objective == pytest.approx(0.8, abs=2e-3)
    fields = {(o.telescope, o.field_id) for o in plan.observations}
    assert fields == {("T1", 2), ("T2", 1)}
    assert plan.per_telescope["T1"] == pytest.approx(0.3, abs=2e-3)
    assert plan.per_telescope["T2"] == pytest.approx(0.5, abs=2e-3)
    assert plan.bound == pytest.approx(0.8, abs=5e-3)
    greedy = plan_skymap(moc, [t1, t2], START, END, {"T1": one, "T2": one}, method="greedy")
    assert greedy.objective == pytest.approx(0.5, abs=2e-3)


def test_same_field_by_two_telescopes_counts_once():
    moc = disc_map([(*A, 0.6), (*B, 0.4)])
    t1 = telescope("T1", [(1, *A)])
    t2 = telescope("T2", [(1, *A)])
    plan = plan_skymap(moc, [t1, t2], START, END, Strategy(filters=["r"]), time_limit=10)
    assert plan.objective == pytest.approx(0.6, abs=2e-3)
    # the second telescope would add nothing: its idle time is not spent on field A
    assert len({o.telescope for o in plan.observations}) == 1
    idle = ({"T1", "T2"} - {o.telescope for o in plan.observations}).pop()
    assert "threshold" in plan.idle[idle]
    assert sum(plan.per_telescope.values()) == pytest.approx(0.6, abs=2e-3)
    # a program that asks for it (min_marginal: 0) still gets both
    both = plan_skymap(moc, [t1, t2], START, END, Strategy(filters=["r"], min_marginal=0.0),
                       time_limit=10)
    assert {o.telescope for o in both.observations} == {"T1", "T2"}
    assert sum(both.per_telescope.values()) == pytest.approx(1.2, abs=4e-3)


def _set_time(ra: float, dec: float, tel) -> float:
    """Unix time when (ra, dec) sinks below airmass 2.5 during the night."""
    t = Time(START) + np.arange(0, 11 * 3600, 60) * u.s
    alt = SkyCoord(ra * u.deg, dec * u.deg).transform_to(
        AltAz(obstime=t, location=tel.location)).alt.deg
    up = alt >= np.degrees(np.arcsin(1 / 2.5))
    assert up[0] and not up[-1]
    return float(t[np.argmin(up)].unix)


@pytest.mark.parametrize("gap_minutes, expected", [(20, 1.0), (200, 0.4)])
def test_field_that_sets_during_the_night(gap_minutes, expected):
    setting = (115.0, 20.0)  # sets at 06:10 UTC, 2.8 h into the night
    moc = disc_map([(*setting, 0.6), (*A, 0.4)])
    tel = telescope("T", [(7, *setting), (8, *A)])
    set_at = _set_time(*setting, tel)
    night = Time(START).unix + 3600 * 1.2
    assert 0.5 * 3600 < set_at - night < 3 * 3600
    strat = Strategy(filters=["g", "r"], min_gap=gap_minutes * 60.0)
    plan = plan_skymap(moc, [tel], START, END, strat, time_limit=10)
    # the setting field counts only if both visits fit before it sets
    assert plan.objective == pytest.approx(expected, abs=3e-3)
    for o in plan.observations:
        if o.field_id == 7:
            assert o.start_time.timestamp() + o.exposure_time <= set_at + 60
    if expected < 1:
        assert all(o.field_id != 7 for o in plan.observations)


def test_two_visit_strategy_gap_and_order():
    spots = [(A[0] + 8 * i, A[1], 1 / 6) for i in range(6)]
    moc = disc_map(spots)
    tel = telescope("T", [(i, ra, dec) for i, (ra, dec, _) in enumerate(spots)], exposure=300)
    strat = Strategy(filters=["g", "r"], min_gap=1800.0)
    plan = plan_skymap(moc, [tel], START, END, strat, time_limit=10)
    assert plan.objective == pytest.approx(1.0, abs=3e-3)
    by_field: dict[int, list] = {}
    for o in plan.observations:
        by_field.setdefault(o.field_id, []).append(o)
    assert len(by_field) == 6
    for obs in by_field.values():
        obs.sort(key=lambda o: o.visit)
        assert [(o.visit, o.filter) for o in obs] == [(1, "g"), (2, "r")]
        assert (obs[1].start_time - obs[0].start_time).total_seconds() >= 1800.0
