"""The fill-in order (planning.value.best_first): best first, re-valued lazily, on a real map.

MS190227n (MDC BAYESTAR, tests/data/coincidence/README.md), ZTF's candidates over
the event's first 24 h, with the sky of Gattini's candidates already covered (what
the fill-in of one telescope sees when another has planned there): taking every
row ``best_first`` yields gives, at each step, a row worth the most of all those
left re-valued from scratch, and the rows end at the stop rule (the threshold;
with ``positive``, also the first row adding nothing).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from astropy.time import Time
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.planning import plan_skymap
from tooflow.planning.value import best_first, candidate_pixels, uncovered_gain

MAP = Path(__file__).parent / "data" / "coincidence" / "MS190227n_bayestar.fits.gz"


@pytest.fixture(scope="module")
def problem():
    configure_iers(offline=True)
    moc = read_sky_map(str(MAP), moc=True)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    _, problem = plan_skymap(moc, ["ZTF", "Gattini"], start, start + dt.timedelta(hours=24),
                             method="greedy", return_problem=True)
    return problem


def _take_all(problem, threshold: float, positive: bool = False):
    """Take every row yielded; the gains taken, and those of the rows left."""
    ztf, gattini = problem.parts
    pixels, prob = candidate_pixels(problem), problem.grid.prob
    covered = np.zeros(len(prob), bool)
    for i in range(gattini.offset, gattini.offset + len(gattini)):
        covered[pixels[i]] = True

    def gain(k: int) -> float:
        return uncovered_gain(ztf, k, pixels, prob, covered)

    left, gains = set(range(len(ztf))), []
    for k in best_first(sorted(left), gain, threshold, positive=positive):
        best = max(gain(j) for j in left)  # every row left, re-valued now
        assert gain(k) >= best - 1e-15, (k, gain(k), best)
        gains.append(gain(k))
        left.discard(k)
        covered[pixels[ztf.offset + k]] = True
    return gains, [gain(j) for j in left]


def test_best_first_to_the_threshold(problem):
    threshold = problem.parts[0].threshold
    assert threshold > 0
    gains, rest = _take_all(problem, threshold)
    assert gains and min(gains) >= threshold
    assert gains == sorted(gains, reverse=True)  # a gain only falls as rows are taken
    assert rest and max(rest) < threshold  # ended where the best left adds too little


def test_threshold_zero_with_and_without_positive(problem):
    gains, rest = _take_all(problem, 0.0, positive=True)
    assert min(gains) > 0.0
    assert rest and max(rest) == 0.0  # the rows adding nothing are left
    everything, none_left = _take_all(problem, 0.0)
    assert len(everything) == len(problem.parts[0]) and not none_left
    assert everything[:len(gains)] == pytest.approx(gains, abs=1e-15)
