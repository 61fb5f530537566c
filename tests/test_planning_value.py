"""No exposure below its telescope's threshold: the MS181101ab case of the report.

MS181101ab (the LVK mock's BAYESTAR map) planned for the GW kilonova telescopes
on the night of 2019-04-01, when it is up at Palomar and CTIO: DECam was given a
field adding 0.0 % and GROWTH-India hours of 600 s exposures adding nothing.
Every field must now add at least its telescope's threshold to the union of all
the others (computed here from scratch), fill-in included.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tooflow.iers import configure_iers
from tooflow.parsers import parse_notice
from tooflow.planning import Strategy, load_telescope, plan_skymap
from tooflow.planning import coverage as cv
from tooflow.skymap import read_skymap_bytes

from .conftest import DATA

pytestmark = pytest.mark.slow  # each test plans a real map (MS181101ab) with OR-Tools

NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
NAMES = ["ZTF", "Gattini", "DECam", "GROWTH-India"]


@pytest.fixture(scope="module")
def moc():
    configure_iers(offline=True)
    parsed = parse_notice((DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes())
    return read_skymap_bytes(parsed.localization.skymap_bytes)


def _added(moc, plan):
    grid = cv.probability_grid(moc)
    fields = sorted({(o.telescope, o.ra, o.dec) for o in plan.observations})
    pixels = [set(cv.footprint_pixels(load_telescope(n).footprint, [ra], [dec],
                                      grid.order)[1].tolist()) for n, ra, dec in fields]
    out = []
    for k, (name, _, _) in enumerate(fields):
        others = set().union(*(p for j, p in enumerate(pixels) if j != k))
        out.append((name, float(grid.prob[list(pixels[k] - others)].sum())))
    return out


def test_no_field_below_its_threshold(moc):
    strategy = {"ZTF": Strategy(filters=["g", "r"]), "DECam": Strategy(filters=["i", "z"])}
    plan = plan_skymap(moc, NAMES, NIGHT, NIGHT + dt.timedelta(hours=10), strategy,
                       time_limit=10)
    assert plan.objective > 0.3
    added = _added(moc, plan)
    assert added
    for name, value in added:
        assert value >= load_telescope(name).min_marginal, (name, value)
    for name in NAMES:
        if name not in {o.telescope for o in plan.observations}:
            assert "threshold" in plan.idle[name] or "observable" in plan.idle[name]


def test_threshold_is_configurable_per_program(moc):
    """A program that wants every field however little it adds gets the old behaviour."""
    free = {n: Strategy(filters=["r"] if n != "Gattini" else ["J"], min_marginal=0.0)
            for n in ("ZTF", "Gattini")}
    strict = {n: Strategy(filters=s.filters, min_marginal=0.05) for n, s in free.items()}
    end = NIGHT + dt.timedelta(hours=10)
    loose = plan_skymap(moc, ["ZTF", "Gattini"], NIGHT, end, free, time_limit=10)
    tight = plan_skymap(moc, ["ZTF", "Gattini"], NIGHT, end, strict, time_limit=10)
    assert len(tight.observations) < len(loose.observations)
    assert all(value >= 0.05 for _, value in _added(moc, tight))


def test_bound_never_exceeds_what_the_candidates_cover(moc):
    """At a time limit before SCIP's root LP, its bound was 1e20 ("bound 1e22 %")."""
    strategy = {"ZTF": Strategy(filters=["g", "r"]), "DECam": Strategy(filters=["i", "z"])}
    plan = plan_skymap(moc, NAMES, NIGHT, NIGHT + dt.timedelta(hours=48), strategy,
                       time_limit=1)
    assert plan.objective <= plan.bound <= 1.0 + 1e-9
    assert 0.0 <= plan.gap <= 1.0
