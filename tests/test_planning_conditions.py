"""The detection planner's observing conditions (planning/detection/depth.py ``conditions``,
Sun, Moon and sidereal time from the per-day ephemeris cache) against astropy's full
``AltAz`` transforms per time (telescopes/conditions.py ``observing_conditions``).

Real inputs: ZTF's and DECam's grid fields within 10° of S190814bv's most probable
direction (LALInference, tests/data/skymaps; its 90 % region spans ~6°) at the middles
of their 30-minute night blocks over the 24 h after the merger, the window the
detection plan of tests/test_planning_detection.py covers.
"""

from __future__ import annotations

import datetime as dt

import healpy as hp
import numpy as np
import pytest
from astropy.time import Time

from tooflow.iers import configure_iers
from tooflow.planning.detection import conditions, limiting_magnitude
from tooflow.planning.visibility import observing_blocks
from tooflow.telescopes import load_telescope
from tooflow.telescopes.conditions import observing_conditions
from tooflow.telescopes.ephemeris import TOLERANCE_DEG

from .conftest import DATA

#: The limiting magnitudes of both paths differ by at most this (mag; measured: 2e-4).
DEPTH_TOLERANCE = 0.001


@pytest.fixture(scope="module")
def region():
    """S190814bv's merger time and its most probable direction (ra, dec deg)."""
    from ligo.skymap.io import read_sky_map

    configure_iers(offline=True)
    prob, meta = read_sky_map(str(DATA / "skymaps" / "S190814bv_5_LALInference.v1.fits.gz"),
                              nest=True)
    ra, dec = hp.pix2ang(hp.npix2nside(len(prob)), int(np.argmax(prob)), nest=True, lonlat=True)
    t0 = Time(meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    return t0, (float(ra), float(dec))


def _inputs(name, region):
    t0, (ra0, dec0) = region
    tel = load_telescope(name)
    _, ra, dec = tel.fields
    inside = hp.rotator.angdist([ra, dec], [ra0, dec0], lonlat=True) < np.radians(10.0)
    blocks = observing_blocks(tel, t0, t0 + dt.timedelta(hours=24))
    assert inside.sum() >= 5 and len(blocks) >= 5
    return tel, ra[inside].astype(float), dec[inside].astype(float), \
        0.5 * (blocks.start + blocks.end)


@pytest.mark.parametrize("name", ["ZTF", "DECam"])
def test_conditions_as_with_astropy(name, region):
    tel, ra, dec, mid = _inputs(name, region)
    fast = conditions(tel, ra, dec, mid)
    jd = Time(mid, format="unix", scale="utc").jd
    ref = observing_conditions(tel, ra[:, None], dec[:, None], jd[None, :])
    up = ref["altitude"] > 20.0  # airmass < 2.9: every telescope's limit is lower
    assert up.sum() >= 20
    assert np.abs(fast["sun_altitude"] - ref["sun_altitude"]).max() < TOLERANCE_DEG
    assert np.abs(fast["moon_altitude"] - ref["moon_altitude"]).max() < TOLERANCE_DEG
    assert np.abs(fast["moon_separation"] - ref["moon_separation"]).max() < 2 * TOLERANCE_DEG
    assert np.abs(fast["moon_illumination"] - ref["moon_illumination"]).max() < 0.002
    # 0.01° of altitude at 20° is 0.05 % of the airmass
    rel = np.abs(fast["airmass"][up] / ref["airmass"][up] - 1.0)
    assert rel.max() < 5e-4
    for filt in sorted(tel.filters)[:2]:
        a = limiting_magnitude(tel, filt, 60.0, fast)[up]
        b = limiting_magnitude(tel, filt, 60.0, {k: v[up] for k, v in ref.items()})
        assert np.isfinite(a).all() and np.abs(a - b).max() < DEPTH_TOLERANCE


def test_paired_conditions_are_the_grids_diagonal(region):
    tel, ra, dec, mid = _inputs("ZTF", region)
    n = min(len(ra), len(mid))
    grid = conditions(tel, ra[:n], dec[:n], mid[:n])
    paired = conditions(tel, ra[:n], dec[:n], mid[:n], paired=True)
    for key, values in paired.items():
        assert np.allclose(values, np.diagonal(grid[key]), rtol=1e-12, atol=1e-12), key
