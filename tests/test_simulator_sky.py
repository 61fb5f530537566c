"""Visibility grids and the limiting-magnitude model."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from tooflow.facilities.gattini import PALOMAR
from tooflow.simulator.sky import limiting_magnitude, visibility_grids


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


def test_limiting_magnitude_model():
    base = dict(base_depth=20.8, filter_name="r", exposure_time=30.0, reference_exposure=30.0,
                airmass=1.0, sun_altitude=-30.0)
    assert limiting_magnitude(**base) == 20.8
    assert limiting_magnitude(**{**base, "exposure_time": 300.0}) == pytest.approx(22.05)
    assert limiting_magnitude(**{**base, "airmass": 2.0}) == pytest.approx(20.68)
    assert limiting_magnitude(**{**base, "sun_altitude": -12.0}) == pytest.approx(20.05)
    assert limiting_magnitude(**{**base, "moon_altitude": 90.0, "moon_illumination": 1.0}) \
        == pytest.approx(19.3)
    assert limiting_magnitude(**{**base, "moon_altitude": -5.0, "moon_illumination": 1.0}) \
        == 20.8
    g_loss = 20.8 - limiting_magnitude(**{**base, "filter_name": "g", "moon_altitude": 90.0,
                                          "moon_illumination": 1.0})
    assert g_loss > 1.5
