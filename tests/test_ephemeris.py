"""The cached, interpolated Sun and Moon (telescopes/ephemeris.py) against astropy.

Real sites of the catalogue, real nights (MS181101ab's planning night of
2019-04-01 and the Swift XRT position of 2024-05-11, tests/test_first_light.py),
two weeks of times off the hourly knots: Sun and Moon altitudes, the Moon's
topocentric place and the sidereal time within TOLERANCE_DEG of astropy's full
AltAz/TETE transforms; the planner's night masks and field visibility with the
cache equal to the same limits computed with astropy, except where astropy's
own value is within the tolerance of a limit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import TETE, AltAz, SkyCoord, get_body
from astropy.time import Time

from tooflow.iers import configure_iers
from tooflow.planning.visibility import field_visibility, night_mask, observing_blocks
from tooflow.telescopes import ephemeris, load_telescope
from tooflow.telescopes.ephemeris import TOLERANCE_DEG, sun_moon

NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
XRT = dt.datetime(2024, 5, 11, 18, 8, 36, tzinfo=dt.UTC)


@pytest.fixture(scope="module", autouse=True)
def _iers():
    configure_iers(offline=True)


def _angle(a):
    """Degrees wrapped to (−180, 180]."""
    return (np.asarray(a) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("name", ["ZTF", "DECam", "GROWTH-India", "KPED"])
@pytest.mark.parametrize("start", [NIGHT, XRT])
def test_sun_and_moon_match_astropy(name, start):
    tel = load_telescope(name)
    # 14 days at an odd step: times everywhere between the hourly knots
    unix = start.timestamp() + np.arange(0.0, 14 * 86400.0, 2017.0)
    sm = sun_moon(tel.longitude, tel.latitude, tel.elevation, unix)
    t = Time(unix, format="unix", scale="utc")
    frame = AltAz(obstime=t, location=tel.location)
    sun = get_body("sun", t, tel.location)
    moon = get_body("moon", t, tel.location)
    assert np.abs(sm.sun_altitude - sun.transform_to(frame).alt.deg).max() < TOLERANCE_DEG
    assert np.abs(sm.moon_altitude - moon.transform_to(frame).alt.deg).max() < TOLERANCE_DEG
    lst = t.sidereal_time("apparent", longitude=tel.location.lon).deg
    assert np.abs(_angle(np.degrees(sm.lst) - lst)).max() < TOLERANCE_DEG
    place = moon.transform_to(TETE(obstime=t, location=tel.location))
    assert np.abs(_angle(np.degrees(sm.moon_ra) - place.ra.deg)).max() < TOLERANCE_DEG
    assert np.abs(np.degrees(sm.moon_dec) - place.dec.deg).max() < TOLERANCE_DEG
    illumination = (1.0 - np.cos(sun.separation(moon).rad)) / 2.0
    assert np.abs(sm.moon_illumination - illumination).max() < 0.002
    # the whole lunation is seen: new to full
    assert sm.moon_illumination.min() < 0.3 and sm.moon_illumination.max() > 0.7


def test_a_second_call_reads_the_cache(monkeypatch):
    ephemeris.clear_cache()
    calls = []
    compute = ephemeris._compute_days

    def counted(days):
        calls.append(list(days))
        return compute(days)

    monkeypatch.setattr(ephemeris, "_compute_days", counted)
    tel = load_telescope("ZTF")
    # a window across midnight UTC: two days, computed in one astropy call
    unix = NIGHT.timestamp() - 6 * 3600.0 + np.arange(0.0, 12 * 3600.0, 120.0)
    first = sun_moon(tel.longitude, tel.latitude, tel.elevation, unix)
    assert len(calls) == 1 and len(calls[0]) == 2
    again = sun_moon(tel.longitude, tel.latitude, tel.elevation, unix[::-1])
    assert len(calls) == 1  # same days: nothing recomputed
    np.testing.assert_array_equal(again.sun_altitude, first.sun_altitude[::-1])
    # another site on the same days reads the same (geocentric) knots
    decam = load_telescope("DECam")
    sun_moon(decam.longitude, decam.latitude, decam.elevation, unix)
    assert len(calls) == 1
    # a day further only computes that day
    sun_moon(tel.longitude, tel.latitude, tel.elevation, unix + 86400.0)
    assert len(calls) == 2 and len(calls[1]) == 1


def _astropy_limits(tel, ra, dec, unix):
    """The planner's limits with astropy's full transforms, and the margin to each."""
    t = Time(unix, format="unix", scale="utc")
    frame = AltAz(obstime=t[None, :], location=tel.location)
    fields = SkyCoord(ra[:, None] * u.deg, dec[:, None] * u.deg)
    alt = fields.transform_to(frame).alt.deg
    alt_min = np.degrees(np.arcsin(1.0 / tel.airmass_limit))
    ok = alt >= alt_min
    near = np.abs(alt - alt_min) < TOLERANCE_DEG
    if tel.moon_distance > 0:
        moon = get_body("moon", t, tel.location).transform_to(frame)
        sep = fields.transform_to(frame).separation(moon).deg
        ok &= sep >= tel.moon_distance
        near |= np.abs(sep - tel.moon_distance) < TOLERANCE_DEG
    return ok, near


@pytest.mark.parametrize("name", ["ZTF", "DECam"])
def test_night_and_field_visibility_as_with_astropy(name):
    """Real fields (the telescope's grid around MS181101ab's position) over two nights."""
    tel = load_telescope(name)
    _, ra, dec = tel.fields
    pick = np.flatnonzero(np.abs(dec - 15.0) < 25.0)[::7][:150]
    ra, dec = ra[pick].astype(float), dec[pick].astype(float)
    unix = NIGHT.timestamp() + np.arange(-6 * 3600.0, 42 * 3600.0, 600.0)

    t = Time(unix, format="unix", scale="utc")
    sun = get_body("sun", t, tel.location).transform_to(
        AltAz(obstime=t, location=tel.location)).alt.deg
    near_sun = np.abs(sun - tel.sun_altitude) < TOLERANCE_DEG
    dark = night_mask(tel, unix)
    assert dark.any() and (~dark).any()
    assert np.array_equal(dark[~near_sun], (sun <= tel.sun_altitude)[~near_sun])

    ok, near = _astropy_limits(tel, ra, dec, unix)
    if tel.hour_angle_limits is None:
        vis = field_visibility(tel, ra, dec, unix)
        assert vis.any() and (~vis).any()
        assert np.array_equal(vis[~near], ok[~near])
    else:  # DECam: hour angle limits on top (not in astropy's AltAz): visible ⊆ ok
        vis = field_visibility(tel, ra, dec, unix)
        assert vis.any() and not (vis & ~ok & ~near).any()

    blocks = observing_blocks(tel, NIGHT - dt.timedelta(hours=6),
                              NIGHT + dt.timedelta(hours=42))
    assert len(blocks) > 0
    # every block lies in the night by astropy's Sun (2-minute sampling of twilight)
    edges = np.r_[blocks.start, blocks.end - 1.0]
    te = Time(edges, format="unix", scale="utc")
    sun_edges = get_body("sun", te, tel.location).transform_to(
        AltAz(obstime=te, location=tel.location)).alt.deg
    assert (sun_edges <= tel.sun_altitude + 0.6).all()  # the Sun moves 0.5° in 2 min
