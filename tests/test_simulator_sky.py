"""The simulator's visibility grids (night, airmass, Sun and Moon)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from tooflow.simulator.sky import visibility_grids
from tooflow.telescopes import load_telescope

PALOMAR = load_telescope("ZTF").site


def grids(ra, dec, start, hours=24.0, airmass_limit=2.5):
    return visibility_grids(np.atleast_1d(ra), np.atleast_1d(dec), lat=PALOMAR.lat,
                            lon=PALOMAR.lon, elevation=PALOMAR.elevation, start=start,
                            end=start + dt.timedelta(hours=hours),
                            airmass_limit=airmass_limit)


def test_moon_phase_follows_the_real_calendar():
    # Full Moon 2019-04-19 11:12 UTC, new Moon 2019-05-04 22:45 UTC.
    full = dt.datetime(2019, 4, 19, 11, tzinfo=dt.UTC)
    new = dt.datetime(2019, 5, 4, 23, tzinfo=dt.UTC)
    assert grids(0.0, 0.0, full, hours=1)[0].moon_illumination[0] > 0.99
    assert grids(0.0, 0.0, new, hours=1)[0].moon_illumination[0] < 0.01


def test_visibility_needs_night_and_low_airmass():
    start = dt.datetime(2019, 4, 25, 0, tzinfo=dt.UTC)  # 17:00 at Palomar
    m101, south_pole = grids([210.80, 0.0], [54.35, -89.0], start)
    assert m101.visible.any() and not south_pole.visible.any()
    assert south_pole.best_airmass == math.inf
    night = m101.sun_altitude < -12
    assert np.all(m101.visible <= night)
    assert np.all(m101.airmass[m101.visible] <= 2.5)
    first = m101.next_visible(start)
    assert m101.visible_at(first) and not m101.visible_at(start)
    assert first - start < dt.timedelta(hours=5)
    strict = grids(210.80, 54.35, start, airmass_limit=1.05)[0]
    assert strict.visible.sum() < m101.visible.sum()


def test_grid_moon_separation_is_the_angle_to_the_moon():
    from tooflow.telescopes.conditions import observing_conditions

    start = dt.datetime(2019, 4, 25, 8, 0, tzinfo=dt.UTC)  # Moon rising at Palomar
    g = grids([210.80, 300.0], [54.35, -20.0], start, hours=2)
    times = [start + dt.timedelta(seconds=300 * i) for i in range(len(g[0].visible))]
    for grid, (ra, dec) in zip(g, [(210.80, 54.35), (300.0, -20.0)], strict=True):
        direct = observing_conditions(PALOMAR, ra, dec, times)
        assert np.allclose(grid.moon_separation, direct["moon_separation"], atol=0.05)
        assert np.allclose(grid.moon_altitude, direct["moon_altitude"], atol=0.05)


def test_moon_distance_and_hour_angle_limits_of_the_catalogue():
    """Moon-distance and hour-angle limits (DECam's kind) hold on the simulator's grid."""
    from astropy import units as u
    from astropy.time import Time

    decam = load_telescope("DECam")
    site = decam.site
    start = dt.datetime(2019, 4, 19, 0, tzinfo=dt.UTC)  # full Moon
    ra, dec = np.array([190.0, 200.0, 160.0]), np.array([-10.0, -5.0, -60.0])
    kw = dict(lat=site.lat, lon=site.lon, elevation=site.elevation, start=start,
              end=start + dt.timedelta(hours=24), airmass_limit=3.0)
    free = visibility_grids(ra, dec, **kw)
    held = visibility_grids(ra, dec, **kw, moon_distance=30.0, hour_angle_limits=(-1.0, 1.0))
    times = Time(start) + np.arange(len(free[0].visible)) * 300 * u.s
    lst = times.sidereal_time("apparent", longitude=site.lon * u.deg).hour
    for k, (f, h) in enumerate(zip(free, held, strict=True)):
        assert np.all(h.visible <= f.visible)
        assert np.all(h.moon_separation[h.visible] >= 30.0)
        ha = (lst - ra[k] / 15.0 + 12.0) % 24.0 - 12.0
        assert np.all(np.abs(ha[h.visible]) <= 1.0 + 0.1)  # apparent vs ICRS RA
    assert sum(h.visible.sum() for h in held) < sum(f.visible.sum() for f in free)
    assert held[0].sun_limit == -12.0 and decam.hour_angle_limits == (-5.0, 5.0)
