"""Sky-map summaries (tooflow/skymap/summary.py), checked against ligo.skymap's crossmatch."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import astropy.units as u
import fastavro
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from ligo.skymap.io.fits import read_sky_map
from ligo.skymap.postprocess.crossmatch import crossmatch

from tooflow.skymap import pixel_area, read_skymap_bytes, summarize

LVK = Path(__file__).parent / "data" / "lvk"


@pytest.fixture(scope="module")
def preliminary_bytes() -> bytes:
    with open(LVK / "avro" / "MS181101ab-preliminary.avro", "rb") as f:
        return next(fastavro.reader(f))["event"]["skymap"]


@pytest.fixture(scope="module")
def s230518h_bytes() -> bytes:
    obj = json.loads((LVK / "json" / "S230518h-initial.json").read_text())
    return base64.b64decode(obj["event"]["skymap"])


def test_preliminary_summary_matches_the_userguide_numbers(preliminary_bytes):
    s = summarize(read_skymap_bytes(preliminary_bytes))
    assert s.ra == pytest.approx(194.304, abs=1e-3)
    assert s.dec == pytest.approx(-17.857, abs=1e-3)
    assert s.distance_mean == pytest.approx(39.77, abs=0.01)
    assert s.distance_std == pytest.approx(8.31, abs=0.01)
    assert s.nside_max == 2048 and s.npix == 19200
    assert s.total_prob == pytest.approx(1.0)


@pytest.mark.parametrize("fixture", ["preliminary_bytes", "s230518h_bytes"])
def test_summary_agrees_with_crossmatch(fixture, request):
    data = request.getfixturevalue(fixture)
    s = summarize(read_skymap_bytes(data))
    ref = read_sky_map(io.BytesIO(data), moc=True)["UNIQ", "PROBDENSITY"]  # 2D only: fast
    result = crossmatch(ref, SkyCoord(s.ra * u.deg, s.dec * u.deg), contours=(0.5, 0.9))
    assert (s.area_50, s.area_90) == pytest.approx(result.contour_areas, rel=1e-9)
    # The most probable position is the top pixel: it is the first one searched.
    m = read_skymap_bytes(data)
    top = np.argmax(m["PROBDENSITY"])
    top_prob = m["PROBDENSITY"][top] * pixel_area(m["UNIQ"][top])
    assert result.searched_prob == pytest.approx(top_prob, rel=1e-9)
    assert result.searched_area == pytest.approx(pixel_area(m["UNIQ"][top]) * (180 / np.pi)**2)


def test_distance_is_computed_when_the_header_has_none(preliminary_bytes):
    m = read_skymap_bytes(preliminary_bytes)
    header = summarize(m)
    del m.meta["distmean"], m.meta["diststd"]
    computed = summarize(m)
    assert computed.distance_mean == pytest.approx(header.distance_mean, rel=1e-3)
    assert computed.distance_std == pytest.approx(header.distance_std, rel=1e-3)


def test_real_s230518h_summary(s230518h_bytes):
    m = read_skymap_bytes(s230518h_bytes)
    s = summarize(m)
    # The producer's DISTMEAN/DISTSTD header cards, and the same from the layers.
    assert (s.distance_mean, s.distance_std) == (m.meta["distmean"], m.meta["diststd"])
    del m.meta["distmean"], m.meta["diststd"]
    again = summarize(m)
    assert again.distance_mean == pytest.approx(s.distance_mean, rel=0.01)
    assert again.distance_std == pytest.approx(s.distance_std, rel=0.01)
    assert 100 < s.area_90 < 2000  # a two-detector (H1, L1) localization


def test_map_without_distance_has_none():
    m = read_skymap_bytes((Path(__file__).parent / "data" / "skymaps" /
                           "rrt_small_area.fits").read_bytes())
    s = summarize(m)
    assert s.distance_mean is None and s.distance_std is None
    assert 0 < s.area_50 < s.area_90 < 4 * 180**2 / np.pi

