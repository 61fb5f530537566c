"""Galaxy-targeted planning and single pointings on well-localized sources."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.time import Time
from ligo.skymap.distance import conditional_pdf
from ligo.skymap.io import read_sky_map
from ligo.skymap.moc import rasterize

from tooflow.iers import configure_iers
from tooflow.planning import load_telescope, plan_skymap
from tooflow.planning.galaxies import (
    plan_galaxies,
    rank_galaxies,
    read_galaxy_catalog,
    score_galaxies,
    source_target,
    targets_for_skymap,
)
from tooflow.skymap import circle_to_moc

DATA = Path(__file__).parent / "data"
MAP = DATA / "planning" / "bayestar.fits.gz"  # G330561 = S190425z BAYESTAR
CATALOG = DATA / "planning" / "GLADE.csv"


@pytest.fixture(scope="module")
def moc():
    configure_iers(offline=True)
    return read_sky_map(str(MAP), moc=True)


def test_catalog_columns_and_names():
    g = read_galaxy_catalog(CATALOG)
    assert len(g) == 100 and set(g.colnames) == {"name", "ra", "dec", "distmpc", "lum"}
    assert g["name"][0] == "NGC4736" and np.all(g["lum"] > 0)
    assert not any(str(n).startswith("b'") for n in g["name"])


def test_scores_are_3d_density_times_luminosity(moc):
    g = read_galaxy_catalog(CATALOG)
    s = score_galaxies(moc, g)
    assert s.sum() == pytest.approx(1.0) and np.all(s >= 0)
    # independent: rasterise, look up each galaxy's pixel, distance posterior there
    import healpy as hp

    flat = rasterize(moc, order=8)
    ipix = hp.ang2pix(256, g["ra"], g["dec"], lonlat=True, nest=True)
    r = np.asarray(g["distmpc"])
    pdf = conditional_pdf(r, flat["DISTMU"][ipix], flat["DISTSIGMA"][ipix],
                          flat["DISTNORM"][ipix]) / r**2
    ref = np.asarray(flat["PROBDENSITY"][ipix]) * pdf * np.asarray(g["lum"])
    ref /= ref.sum()
    assert s == pytest.approx(ref, rel=1e-6, abs=1e-12)
    targets, scored = rank_galaxies(moc, g, top=5)
    from tooflow.config import Settings

    settings = Settings.model_validate({"galaxies": {"catalog": str(CATALOG), "top": 5}})
    assert targets_for_skymap(moc, settings=settings, telescope="KPED") == targets
    assert targets_for_skymap(moc, settings=Settings()) == []
    assert [t.name for t in targets] == list(scored["name"][:5])
    assert targets[0].weight == pytest.approx(s.max())


def test_plan_galaxies_objective_is_galaxy_weighted_coverage(moc):
    g = read_galaxy_catalog(CATALOG)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    plan = plan_galaxies(moc, g, ["KPED", "GROWTH-India"], start,
                         start + dt.timedelta(hours=24), top=30, time_limit=5)
    assert plan.observations and plan.objective > 0
    scores = score_galaxies(moc, g)
    names = set(g["name"])
    covered = np.zeros(len(g), bool)
    for o in plan.observations:
        assert o.target in names and o.field_id is None
        side = load_telescope(o.telescope).footprint.polygons[0][:, 0].max() * 2
        dra = ((np.asarray(g["ra"]) - o.ra + 180) % 360 - 180) * np.cos(np.radians(o.dec))
        covered |= (np.abs(dra) <= side / 2) & (np.abs(np.asarray(g["dec"]) - o.dec) <= side / 2)
    assert plan.objective == pytest.approx(scores[covered].sum(), rel=1e-3)
    assert plan.objective <= plan.bound + 1e-12


def test_single_pointing_on_einstein_probe_source():
    configure_iers(offline=True)
    alert = json.loads((DATA / "gcn" / "json" / "einstein_probe" / "alert_247.json").read_text())
    ra, dec, err = alert["ra"], alert["dec"], alert["ra_dec_error"]
    moc = circle_to_moc(ra, dec, err, kind="90%")
    ztf = load_telescope("ZTF")
    start = dt.datetime.fromisoformat(alert["trigger_time"].replace("Z", "+00:00"))
    targets = {"ZTF": source_target(ra, dec, "EP" + alert["id"][0])}
    plan = plan_skymap(moc, [ztf], start, start + dt.timedelta(hours=24), targets=targets,
                       time_limit=5)
    assert {o.target for o in plan.observations} == {"EP01709259773"}
    assert {o.filter for o in plan.observations} == {"g", "r"}
    # the source lands on a CCD quadrant, not in the chip gap at the camera centre
    assert plan.objective > 0.85
    o = plan.observations[0]
    assert 0.3 < np.hypot((o.ra - ra) * np.cos(np.radians(dec)), o.dec - dec) < 2.0
