"""Circular error regions as multi-order maps (tooflow/skymap/circle.py)."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tooflow.errors import NoticeRejected
from tooflow.skymap import circle_kind, circle_to_moc, summarize

ARCMIN = 1 / 60


@pytest.mark.parametrize("radius", [ARCMIN, 0.1, 1.0, 10.0])
def test_gaussian_areas_match_the_analytic_values(radius):
    # A 2D Gaussian of width sigma holds p within sigma*sqrt(-2 ln(1-p)):
    # the p-credible area is -2 ln(1-p) * pi * sigma^2 (small-angle limit).
    s = summarize(circle_to_moc(150.0, -30.0, radius))
    expected_90 = -2 * math.log(0.1) * math.pi * radius**2
    expected_50 = -2 * math.log(0.5) * math.pi * radius**2
    assert s.area_90 == pytest.approx(expected_90, rel=0.02)
    assert s.area_50 == pytest.approx(expected_50, rel=0.02)
    assert s.total_prob == pytest.approx(1.0)
    assert s.distance_mean is None


@pytest.mark.parametrize("radius", [ARCMIN, 1.0, 10.0])
def test_containment_radius_encloses_that_probability(radius):
    s = summarize(circle_to_moc(10.0, 45.0, radius, kind="90%"))
    cap = 2 * math.pi * (1 - math.cos(math.radians(radius))) * (180 / math.pi) ** 2
    assert s.area_90 == pytest.approx(cap, rel=0.02)


@pytest.mark.parametrize("radius", [ARCMIN, 1.0, 10.0])
def test_disk_is_uniform_inside_the_radius(radius):
    m = circle_to_moc(200.0, 5.0, radius, kind="disk")
    s = summarize(m)
    cap = 2 * math.pi * (1 - math.cos(math.radians(radius))) * (180 / math.pi) ** 2
    assert s.area_90 == pytest.approx(0.9 * cap, rel=0.03)
    assert len(np.unique(m["PROBDENSITY"][m["PROBDENSITY"] > 0])) == 1  # flat inside


@pytest.mark.parametrize("ra, dec, radius", [
    (150.0, -30.0, ARCMIN),  # Einstein Probe FXT/WXT-like
    (83.6, 22.0, 10.0),  # Fermi GBM-like
    (359.999, 89.99, 0.5),  # at the pole and across RA = 0
    (0.0, -89.5, 3.0),
])
def test_peak_is_at_the_centre_and_maps_stay_small(ra, dec, radius):
    m = circle_to_moc(ra, dec, radius)
    s = summarize(m)
    assert len(m) < 5000
    # Peak pixel centre within a third of a sigma of the given centre.
    sep = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(s.ra * u.deg, s.dec * u.deg))
    assert sep.deg < radius / 3
    assert np.all(np.diff(m["UNIQ"]) > 0)


def test_resolution_adapts_to_the_radius():
    fine = summarize(circle_to_moc(0.0, 0.0, ARCMIN)).nside_max
    coarse = summarize(circle_to_moc(0.0, 0.0, 10.0)).nside_max
    assert fine >= 8192 and coarse <= 64


@pytest.mark.parametrize("text, kind", [
    ("stat+sys 1-sigma", "1-sigma"),
    ("1-sigma", "1-sigma"),
    ("90% containment", "90%"),
    ("stat 68%", "68%"),
    ("error box", "disk"),
    ("", "1-sigma"),
])
def test_circle_kind_reads_notice_wording(text, kind):
    assert circle_kind(text) == kind


def test_free_text_kind_is_accepted():
    a = circle_to_moc(1.0, 2.0, 1.0, kind="90% containment")
    b = circle_to_moc(1.0, 2.0, 1.0, kind="90%")
    np.testing.assert_array_equal(a["PROBDENSITY"], b["PROBDENSITY"])


@pytest.mark.parametrize("args, reason", [
    ((float("nan"), 0.0, 1.0), "non-finite"),
    ((10.0, 95.0, 1.0), "declination"),
    ((10.0, 0.0, 0.0), "radius"),
    ((10.0, 0.0, -2.0), "radius"),
    ((10.0, 0.0, float("inf")), "non-finite"),
])
def test_bad_circles_are_rejected(args, reason):
    with pytest.raises(NoticeRejected, match=reason):
        circle_to_moc(*args)


def test_full_containment_is_refused():
    with pytest.raises(ValueError, match="strictly between"):
        circle_to_moc(1.0, 2.0, 1.0, kind="100%")
