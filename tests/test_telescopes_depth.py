"""The depth model (tooflow/telescopes/depth.py) against ZTF's real S190425z depths.

The calibration data is the log of the 597 exposures ZTF took for S190425z
(tests/data/telescopes/skyportal/observations/ZTF_GW190425_observation_data.csv,
from SkyPortal's data/ directory; its limiting magnitudes are ZTF's own), with
field centres from the official ZTF field list (tests/data/telescopes/ztf/).
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from tooflow.telescopes import limiting_magnitude, load_telescope, load_telescopes
from tooflow.telescopes.conditions import observing_conditions

DATA = Path(__file__).parent / "data" / "telescopes"


def robust_sigma(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


@cache
def s190425z() -> dict[str, np.ndarray]:
    fields = {}
    for line in (DATA / "ztf" / "ZTF_Fields.txt").read_text().splitlines():
        if line.strip() and not line.startswith("%"):
            cols = line.split()
            fields[int(cols[0])] = (float(cols[1]), float(cols[2]))
    path = DATA / "skyportal" / "observations" / "ZTF_GW190425_observation_data.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    ra, dec = np.array([fields[int(r["field_id"])] for r in rows]).T
    times = [dt.datetime.fromisoformat(r["obstime"]).replace(tzinfo=dt.UTC) for r in rows]
    out = observing_conditions(load_telescope("ZTF"), ra, dec, times)
    out["filter"] = np.array([r["filter"].removeprefix("ztf") for r in rows])
    out["limmag"] = np.array([float(r["limmag"]) for r in rows])
    out["exposure_time"] = np.array([float(r["exposure_time"]) for r in rows])
    return out


def model(log: dict[str, np.ndarray], filt: str) -> np.ndarray:
    m = log["filter"] == filt
    return limiting_magnitude(
        "ZTF", filt, log["exposure_time"][m], log["airmass"][m],
        moon_illumination=log["moon_illumination"][m],
        moon_separation=log["moon_separation"][m], moon_altitude=log["moon_altitude"][m],
        sun_altitude=log["sun_altitude"][m])


@pytest.mark.parametrize("filt", ["g", "r"])
def test_ztf_zero_points_reproduce_its_s190425z_depths(filt):
    log = s190425z()
    m = log["filter"] == filt
    assert m.sum() > 250
    residual = log["limmag"][m] - model(log, filt)
    assert abs(np.median(residual)) < 0.03
    # The Moon and airmass terms explain part of the night-to-night scatter.
    assert robust_sigma(residual) < robust_sigma(log["limmag"][m]) - 0.04
    assert robust_sigma(residual) < 0.45


def test_the_moon_costs_most_in_g_when_near_and_full():
    log = s190425z()
    m = log["filter"] == "g"
    moonlit = log["moon_altitude"][m] > 10
    dark = log["moon_altitude"][m] < -10
    assert moonlit.sum() > 20 and dark.sum() > 20
    # ZTF's own depths: g is shallower under the Moon; the model says so too.
    real = np.median(log["limmag"][m][dark]) - np.median(log["limmag"][m][moonlit])
    ours = np.median(model(log, "g")[dark]) - np.median(model(log, "g")[moonlit])
    assert real > 0.3 and ours > 0.3
    assert abs(real - ours) < 0.3


def test_depth_follows_exposure_airmass_moon_and_measured_sky():
    base = float(limiting_magnitude("ZTF", "r", 30.0))
    assert base == pytest.approx(load_telescope("ZTF").zero_point("r"))
    assert float(limiting_magnitude("ZTF", "r", 300.0)) == pytest.approx(base + 1.25)
    assert float(limiting_magnitude("ZTF", "r", 30.0, 2.0)) < base - 0.3
    sep = np.array([10.0, 30.0, 60.0, 90.0])
    full = limiting_magnitude("ZTF", "r", 30.0, 1.2, moon_illumination=1.0,
                              moon_separation=sep, moon_altitude=50.0)
    assert full.shape == (4,) and np.all(np.diff(full) > 0)  # nearer Moon: shallower
    crescent = limiting_magnitude("ZTF", "r", 30.0, 1.2, moon_illumination=0.1,
                                  moon_separation=sep, moon_altitude=50.0)
    assert np.all(crescent > full)
    set_moon = limiting_magnitude("ZTF", "r", 30.0, 1.2, moon_illumination=1.0,
                                  moon_separation=sep, moon_altitude=-5.0)
    assert set_moon == pytest.approx(limiting_magnitude("ZTF", "r", 30.0, 1.2))
    # Near infrared: the Moon hardly matters against the airglow.
    j_loss = 16.5 - float(limiting_magnitude("Gattini", "J", 40.5, moon_illumination=1.0,
                                             moon_separation=45.0, moon_altitude=60.0))
    g_loss = load_telescope("ZTF").zero_point("g") - float(limiting_magnitude(
        "ZTF", "g", 30.0, moon_illumination=1.0, moon_separation=45.0, moon_altitude=60.0))
    assert j_loss < 0.3 < 1.0 < g_loss
    twilight = limiting_magnitude("ZTF", "r", 30.0, sun_altitude=[-20.0, -15.0, -12.0])
    assert twilight[0] == pytest.approx(base) and twilight[2] == pytest.approx(base - 0.75)
    # A measured sky replaces the model: 1 mag brighter sky, half a magnitude of depth.
    dark = load_telescope("ZTF").dark_sky("r")
    assert float(limiting_magnitude("ZTF", "r", 30.0, sky_brightness=dark - 1.0)) \
        == pytest.approx(base - 0.5)


def test_every_catalogue_filter_has_a_depth_and_bad_input_is_named():
    for tel in load_telescopes():
        for filt in tel.filters:
            depth = float(limiting_magnitude(tel, filt, tel.exposure_time[filt]))
            assert 15.0 < depth < 26.0, (tel.name, filt)
    with pytest.raises(KeyError, match="ZTF has no depth for filter 'J'"):
        limiting_magnitude("ZTF", "J", 30.0)
    with pytest.raises(ValueError, match="exposure_time must be positive"):
        limiting_magnitude("ZTF", "r", [30.0, 0.0])


def test_conditions_of_a_field_grid_against_a_row_of_times_broadcast():
    """Fields as a column, times as a row: the same numbers as one call per pair."""
    ztf = load_telescope("ZTF")
    ra = np.array([[210.8], [300.0], [150.0]])
    dec = np.array([[54.35], [-20.0], [10.0]])
    times = [dt.datetime(2019, 4, 25, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=40 * i)
             for i in range(4)]
    grid = observing_conditions(ztf, ra, dec, times)
    assert grid["moon_separation"].shape == (3, 4) and grid["sun_altitude"].shape == (3, 4)
    for i in range(3):
        for j in range(4):
            one = observing_conditions(ztf, ra[i, 0], dec[i, 0], [times[j]])
            for key, value in one.items():
                assert grid[key][i, j] == pytest.approx(float(value[0]), abs=1e-6), key
