"""Error ellipses and boxes as multi-order maps (tooflow/skymap/shapes.py), and the
real MAXI/CHIME notices whose regions they are."""

from __future__ import annotations

import math
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.skymap import (
    ellipse_to_moc,
    localization_to_moc,
    polygon_to_moc,
    region_to_moc,
    summarize,
)

NOTICES = Path(__file__).parent / "data" / "gcn" / "gcn-schema" / "notices"


def density_at(moc, ra, dec):
    """PROBDENSITY of the pixel containing (ra, dec)."""
    import astropy_healpix as ah

    uniq = np.asarray(moc["UNIQ"])
    order = (np.floor(np.log2(uniq)).astype(int) - 2) // 2
    ipix = uniq - 4 * 4**order
    for o in np.unique(order):
        p = ah.lonlat_to_healpix(ra * u.deg, dec * u.deg, ah.level_to_nside(o), order="nested")
        hit = (order == o) & (ipix == p)
        if hit.any():
            return float(np.asarray(moc["PROBDENSITY"])[hit][0])
    raise AssertionError("position not covered")


@pytest.mark.parametrize("a, b", [(0.22, 0.19), (2.0, 0.5), (10.0, 1.0)])
def test_ellipse_containment_area_is_pi_a_b(a, b):
    s = summarize(ellipse_to_moc(40.0, 20.0, a, b, 30.0, kind="90%"))
    assert s.area_90 == pytest.approx(math.pi * a * b, rel=0.03)
    assert s.total_prob == pytest.approx(1.0)


def test_ellipse_is_not_the_circle_of_its_semi_major_axis():
    # MAXI GRB 230220A 90% ellipse 0.22 x 0.19 deg: area 0.131 deg2, not pi*0.22^2 = 0.152
    moc = ellipse_to_moc(346.56, 18.61, 0.22, 0.19, 153, kind="stat 90%")
    assert summarize(moc).area_90 == pytest.approx(0.1313, rel=0.02)


def test_position_angle_is_north_through_east():
    along_dec = ellipse_to_moc(100.0, 0.0, 2.0, 0.3, 0.0, kind="90%")  # major axis N-S
    along_ra = ellipse_to_moc(100.0, 0.0, 2.0, 0.3, 90.0, kind="90%")  # major axis E-W
    assert density_at(along_dec, 100.0, 1.5) > 1e3 * density_at(along_dec, 101.5, 0.0)
    assert density_at(along_ra, 101.5, 0.0) > 1e3 * density_at(along_ra, 100.0, 1.5)
    # PA 45: north-east / south-west, not north-west
    diag = ellipse_to_moc(100.0, 0.0, 2.0, 0.3, 45.0, kind="90%")
    assert density_at(diag, 101.0, 1.0) > 1e3 * density_at(diag, 99.0, 1.0)


def test_disk_ellipse_is_uniform_inside_only():
    moc = ellipse_to_moc(200.0, -40.0, 1.0, 0.4, 0.0, kind="disk")
    s = summarize(moc)
    assert s.area_90 == pytest.approx(0.9 * math.pi * 1.0 * 0.4, rel=0.03)
    assert density_at(moc, 200.0, -40.0 + 0.9) > 0
    assert density_at(moc, 200.0 + 0.6 / math.cos(math.radians(40)), -40.0) == 0


def test_equal_axes_is_the_circle():
    from tooflow.skymap import circle_to_moc

    a = ellipse_to_moc(10.0, 10.0, 1.0, 1.0, 77.0, kind="90%")
    b = circle_to_moc(10.0, 10.0, 1.0, kind="90%")
    assert np.array_equal(a["UNIQ"], b["UNIQ"])


MAXI_BOX = [[345.72, 19.547], [345.464, 19.29], [347.309, 17.634], [347.566, 17.889]]


def test_box_is_uniform_inside_its_corners():
    moc = polygon_to_moc(MAXI_BOX)
    centre = SkyCoord(346.515, 18.59, unit="deg")
    assert density_at(moc, centre.ra.deg, centre.dec.deg) > 0
    assert density_at(moc, 346.56 + 1.0, 18.61 + 1.0) == 0  # outside, across the long edge
    assert density_at(moc, 345.4, 19.6) == 0  # beyond a corner
    # box area from its two edge lengths (a near-rectangle)
    c = SkyCoord([p[0] for p in MAXI_BOX], [p[1] for p in MAXI_BOX], unit="deg")
    area = c[0].separation(c[1]).deg * c[1].separation(c[2]).deg
    assert summarize(moc).area_90 == pytest.approx(0.9 * area, rel=0.03)


def test_bad_boxes_are_refused():
    with pytest.raises(NoticeRejected, match="at least 3"):
        polygon_to_moc(MAXI_BOX[:2])
    with pytest.raises(NoticeRejected, match="collinear"):
        polygon_to_moc([[10.0, 0.0], [11.0, 0.0], [12.0, 0.0]])  # along the equator
    with pytest.raises(NoticeRejected, match="not convex"):
        polygon_to_moc([MAXI_BOX[0], MAXI_BOX[2], MAXI_BOX[1], MAXI_BOX[3]])


def test_maxi_rectangle_notice_gets_its_box():
    n = parse_notice((NOTICES / "maxi" / "gsc.unknown.rectangle.example.json").read_bytes())
    loc = n.localization
    assert loc.shape == "polygon" and loc.polygon == [tuple(p) for p in MAXI_BOX]
    assert (loc.ra, loc.dec) == (346.56, 18.61)
    assert loc.error_radius == pytest.approx(1.24, abs=0.02)  # centre to farthest corner
    s = summarize(localization_to_moc(loc))
    assert s.area_90 == pytest.approx(summarize(polygon_to_moc(MAXI_BOX)).area_90)


def test_maxi_known_source_gets_a_localization():
    n = parse_notice((NOTICES / "maxi" / "gsc.known.example.json").read_bytes())
    loc = n.localization
    assert (loc.ra, loc.dec) == (285.6, -9.2) and loc.shape == "circle"
    assert loc.error_radius == pytest.approx(0.05 * math.sqrt(2))  # quoted to 0.1 deg
    assert loc.radius_kind.startswith("disk (known-source position")
    moc = region_to_moc(loc)
    assert density_at(moc, 285.6, -9.2) > 0 and density_at(moc, 285.6, -9.0) == 0


def test_maxi_ellipse_notice_map_is_the_ellipse():
    n = parse_notice((NOTICES / "maxi" / "gsc.unknown.ellipse.example.json").read_bytes())
    assert summarize(localization_to_moc(n.localization)).area_90 == pytest.approx(
        math.pi * 0.22 * 0.19, rel=0.02)


def test_needle_ellipse_is_widened_not_exploded():
    # a/b = 1e6 would need ~1e9 pixels; it is widened to a/100 (~120 000 rows)
    moc = ellipse_to_moc(10.0, -30.0, 10.0, 1e-5, 45.0, kind="90%")
    assert len(moc) < 200_000
    assert summarize(moc).area_90 == pytest.approx(math.pi * 10.0 * 0.1, rel=0.03)
