"""Nothing to observe is a result: real notices planned when nothing is up.

Each kind of event (a GW map, a GRB circle, a well-localized single pointing,
galaxy targets) is planned with a fixed window in which no telescope can observe
it. The plan is empty, the picture is drawn, and every telescope says why and
when the localization next becomes observable (checked with a full astropy
AltAz transform), or that it never does within the look-ahead.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from ligo.skymap.io import read_sky_map

from tooflow.iers import configure_iers
from tooflow.planning import load_telescope, plan_skymap
from tooflow.planning.galaxies import plan_galaxies, read_galaxy_catalog, source_target
from tooflow.planning.observability import next_observable, sky_points
from tooflow.planning.plot import plot_plan
from tooflow.planning.visibility import altaz_astropy
from tooflow.skymap import circle_to_moc, read_skymap_bytes

from .conftest import DATA

SWIFT = DATA / "gcn" / "json" / "gwcelery" / "kafka_alert_swift.json"
EP = DATA / "gcn" / "json" / "einstein_probe" / "alert_247.json"
S190425Z = DATA / "planning" / "bayestar.fits.gz"
GLADE = DATA / "planning" / "GLADE.csv"


@pytest.fixture(scope="module", autouse=True)
def _iers():
    configure_iers(offline=True)


def _check_empty(plan, telescopes):
    assert plan.observations == [] and not plan.observable
    assert plan.objective == 0.0
    assert set(plan.idle) == set(telescopes)
    text = plan.summary()
    assert "not observable in the window" in text
    for name in telescopes:
        assert f"{name}: " in text


def _visible_at(tel, ra, dec, t: dt.datetime) -> bool:
    alt, sun = altaz_astropy(tel, ra, dec, np.full(len(ra), t.timestamp()))
    limit = np.degrees(np.arcsin(1.0 / tel.airmass_limit))
    return bool(((alt >= limit) & (sun <= tel.sun_altitude)).any())


@pytest.mark.slow  # plans a real map
def test_gw_map_in_daytime_says_when_it_rises(tmp_path):
    """MS181101ab (BAYESTAR map of the LVK mock) in Palomar's afternoon."""
    from tooflow.parsers import parse_notice

    parsed = parse_notice((DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes())
    moc = read_skymap_bytes(parsed.localization.skymap_bytes)
    ztf = load_telescope("ZTF")
    start = dt.datetime(2019, 4, 1, 18, 0, tzinfo=dt.UTC)  # 11:00 PDT
    plan, problem = plan_skymap(moc, [ztf], start, start + dt.timedelta(hours=3),
                                time_limit=5, return_problem=True)
    _check_empty(plan, ["ZTF"])
    assert plan.idle["ZTF"].startswith("no night time")
    t = plan.next_observable["ZTF"]
    assert plan.end < t < plan.end + dt.timedelta(hours=18)
    ra, dec = sky_points(problem)
    assert _visible_at(ztf, ra, dec, t + dt.timedelta(minutes=1))
    assert not _visible_at(ztf, ra, dec, t - dt.timedelta(minutes=15))
    assert "next observable from" in plan.summary()
    assert plot_plan(plan, moc, tmp_path / "gw.png").stat().st_size > 10_000


def test_grb_circle_that_never_rises(tmp_path):
    """The Swift BAT-GUANO circle at Dec −40°: never at airmass ≤ 2.5 from 32–33° N."""
    alert = json.loads(SWIFT.read_text())
    moc = circle_to_moc(alert["ra"], alert["dec"], alert["ra_uncertainty"][0], kind="90%")
    start = dt.datetime(2026, 12, 5, 17, 50, tzinfo=dt.UTC)  # the hour of the report
    tels = ["ZTF", "GROWTH-India", "KPED"]
    targets = {"GROWTH-India": source_target(alert["ra"], alert["dec"], "GRB"),
               "KPED": source_target(alert["ra"], alert["dec"], "GRB")}
    plan = plan_skymap(moc, tels, start, start + dt.timedelta(hours=24), targets=targets,
                       time_limit=5, lookahead_days=3)
    _check_empty(plan, tels)
    for name in tels:
        assert plan.next_observable[name] is None
        assert plan.idle[name].startswith("the localization never rises to airmass ≤ 2.5 "
                                          "at its latitude (+3")
    assert "within 3 days" not in plan.summary()  # never is more than 3 days
    # the picture of a 0.03° circle (smaller than one pixel of the plot's grid)
    assert plot_plan(plan, moc, tmp_path / "grb.png").stat().st_size > 10_000


@pytest.mark.slow  # searches 60 days of Sun positions for the morning it rises (~2 s of CPU)
def test_single_pointing_near_the_sun(tmp_path):
    """Einstein Probe EP240409 (RA 184.7°) in October, 12° from the Sun."""
    alert = json.loads(EP.read_text())
    ra, dec = alert["ra"], alert["dec"]
    moc = circle_to_moc(ra, dec, alert["ra_dec_error"], kind="90%")
    start = dt.datetime(2026, 10, 10, 0, 0, tzinfo=dt.UTC)
    targets = {"KPED": source_target(ra, dec, "EP")}
    plan = plan_skymap(moc, ["KPED"], start, start + dt.timedelta(hours=24), targets=targets,
                       time_limit=5, lookahead_days=5)
    _check_empty(plan, ["KPED"])
    assert plan.idle["KPED"].startswith("no target observable in the window")
    assert plan.next_observable["KPED"] is None
    assert "not observable from its site within 5 days" in plan.summary()
    assert "never rises" not in plan.idle["KPED"]  # it is the Sun, not the latitude
    # later in the season it is observable again: the search finds the morning it rises
    kped = load_telescope("KPED")
    later = next_observable(kped, [ra], [dec], start, days=60)
    assert later is not None and later > start + dt.timedelta(days=5)
    assert _visible_at(kped, np.array([ra]), np.array([dec]), later + dt.timedelta(minutes=1))
    assert plot_plan(plan, moc, tmp_path / "ep.png").stat().st_size > 10_000


@pytest.mark.slow  # plans a real map with the GLADE galaxies in it
def test_galaxy_targets_at_dawn_and_dusk(tmp_path):
    """S190425z (BAYESTAR) with GLADE galaxies, when it is day at Kitt Peak and Hanle."""
    moc = read_sky_map(str(S190425Z), moc=True)
    galaxies = read_galaxy_catalog(GLADE)
    start = dt.datetime(2019, 4, 25, 12, 40, tzinfo=dt.UTC)
    plan = plan_galaxies(moc, galaxies, ["KPED", "GROWTH-India"], start,
                         start + dt.timedelta(minutes=50), top=100, time_limit=5)
    _check_empty(plan, ["KPED", "GROWTH-India"])
    for name in ("KPED", "GROWTH-India"):
        assert plan.idle[name].startswith("no night time")
        t = plan.next_observable[name]
        assert t is not None and plan.end < t < plan.end + dt.timedelta(days=1)
    assert plot_plan(plan, moc, tmp_path / "galaxies.png").stat().st_size > 10_000


def test_pointed_instrument_without_targets_says_so():
    """KPED with a sky map and no galaxy catalogue: no grid, no targets."""
    moc = read_sky_map(str(S190425Z), moc=True)
    start = dt.datetime(2019, 4, 26, 4, 0, tzinfo=dt.UTC)
    plan = plan_skymap(moc, ["KPED"], start, start + dt.timedelta(hours=4), time_limit=5)
    assert plan.observations == []
    assert plan.idle["KPED"].startswith("no field grid and no targets")
    assert "KPED" not in plan.next_observable
