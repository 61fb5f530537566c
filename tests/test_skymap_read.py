"""Reading sky-map bytes (tooflow/skymap/read.py) on real multi-order and flat maps."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import astropy_healpix as ah
import fastavro
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from ligo.skymap.bayestar import rasterize
from ligo.skymap.io.fits import read_sky_map
from ligo.skymap.postprocess.crossmatch import crossmatch

from tooflow.errors import NoticeRejected
from tooflow.skymap import flat_to_moc, moc_to_bytes, read_skymap_bytes, summarize

DATA = Path(__file__).parent / "data"
SKYMAPS = DATA / "skymaps"


@pytest.fixture(scope="module")
def bayestar_bytes() -> bytes:
    """The BAYESTAR multi-order map embedded in the userguide's preliminary Avro alert."""
    with open(DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro", "rb") as f:
        return next(fastavro.reader(f))["event"]["skymap"]


def flat_reference(path: Path) -> Table:
    """A flat map as a single-order MOC, through ligo.skymap (exact, no merging)."""
    prob, _ = read_sky_map(str(path), nest=True)
    nside = ah.npix_to_nside(len(prob))
    return Table({"UNIQ": 4 * nside**2 + np.arange(len(prob)),
                  "PROBDENSITY": prob * len(prob) / (4 * np.pi)})


def test_multiorder_bayestar_map(bayestar_bytes):
    m = read_skymap_bytes(bayestar_bytes)
    assert m.colnames == ["UNIQ", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"]
    assert len(m) == 19200
    assert m["UNIQ"].dtype == np.int64
    assert m.meta["objid"] == "MS181101ab"
    assert m.meta["distmean"] == pytest.approx(39.77, abs=0.01)
    ref = read_sky_map(io.BytesIO(bayestar_bytes), moc=True)
    np.testing.assert_array_equal(m["UNIQ"], ref["UNIQ"])
    np.testing.assert_array_equal(m["PROBDENSITY"], ref["PROBDENSITY"])


def test_small_multiorder_burst_map():
    m = read_skymap_bytes((SKYMAPS / "rrt_small_area.fits").read_bytes())
    assert m.colnames == ["UNIQ", "PROBDENSITY"]
    assert len(m) == 345
    assert m.meta["creator"] == "CWB"


@pytest.mark.parametrize("name", ["fermi_skymap.fits.gz", "glg_healpix_all_bn180116026.fit"])
def test_flat_maps_become_multiorder_with_the_same_credible_areas(name):
    path = SKYMAPS / name
    m = read_skymap_bytes(path.read_bytes())
    ref = flat_reference(path)
    assert m.colnames == ["UNIQ", "PROBDENSITY"]  # GBM SIGNIFICANCE dropped
    assert np.all(np.diff(m["UNIQ"]) > 0)
    assert len(m) <= len(ref)
    s = summarize(m)
    assert s.total_prob == pytest.approx(1, abs=1e-6)
    expected = crossmatch(ref, contours=(0.5, 0.9)).contour_areas
    assert (s.area_50, s.area_90) == pytest.approx(expected, rel=1e-6)


def test_real_gbm_map_is_compressed_and_keeps_its_peak():
    m = read_skymap_bytes((SKYMAPS / "glg_healpix_all_bn180116026.fit").read_bytes())
    ref = flat_reference(SKYMAPS / "glg_healpix_all_bn180116026.fit")
    assert len(m) < len(ref) / 10  # 196608 flat pixels → ~12 000
    assert summarize(m).nside_max == 128
    assert (summarize(m).ra, summarize(m).dec) == (summarize(ref).ra, summarize(ref).dec)


def test_flat_ring_ordering_is_converted_to_nested():
    # fermi_skymap.fits.gz is RING ordered, nside 8: pixels kept at full resolution
    # must carry the density of the same (nested) pixel in ligo.skymap's reading.
    m = read_skymap_bytes((SKYMAPS / "fermi_skymap.fits.gz").read_bytes())
    ref = flat_reference(SKYMAPS / "fermi_skymap.fits.gz")
    full = m[m["UNIQ"] >= 4 * 8**2]
    assert len(full) > 100
    np.testing.assert_allclose(full["PROBDENSITY"],
                               ref["PROBDENSITY"][full["UNIQ"] - 4 * 8**2], rtol=1e-12)
    # Merged pixels hold the summed probability of their children.
    merged = m[m["UNIQ"] < 4 * 8**2]
    assert len(merged) > 0
    order = (np.log2(merged["UNIQ"]).astype(int) - 2) // 2
    for uniq, o, dens in zip(merged["UNIQ"], order, merged["PROBDENSITY"], strict=True):
        ipix = uniq - 4 * 4**o
        children = ref["PROBDENSITY"][ipix * 4 ** (3 - o):(ipix + 1) * 4 ** (3 - o)]
        assert dens == pytest.approx(children.mean(), rel=1e-12)


def test_flat_map_with_distance_layers(bayestar_bytes):
    # Rasterise the real BAYESTAR map to a flat nside-256 map, then convert back.
    flat = rasterize(read_sky_map(io.BytesIO(bayestar_bytes), moc=True), order=8)
    dist = {k: np.asarray(flat[k]) for k in ("DISTMU", "DISTSIGMA", "DISTNORM")}
    m = flat_to_moc(np.asarray(flat["PROB"]), dist=dist)
    assert m.colnames == ["UNIQ", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"]
    assert len(m) < len(flat) / 4
    s = summarize(m)
    assert s.distance_mean == pytest.approx(39.77, rel=0.01)
    assert s.distance_std == pytest.approx(8.31, rel=0.02)
    assert s.area_90 == pytest.approx(30.98, rel=0.02)


def test_gzip_of_a_multiorder_map(bayestar_bytes):
    m = read_skymap_bytes(gzip.compress(bayestar_bytes, compresslevel=1))
    assert len(m) == 19200


def test_round_trip_through_fits_bytes(bayestar_bytes):
    m = read_skymap_bytes(bayestar_bytes)
    again = read_skymap_bytes(moc_to_bytes(m))
    assert again.colnames == m.colnames
    for name in m.colnames:
        np.testing.assert_array_equal(again[name], m[name])
    assert again.meta["distmean"] == m.meta["distmean"]
    assert "distmean" in m.meta  # the input table is not modified


@pytest.mark.parametrize("data, reason", [
    (b"", "sky map is empty"),
    (b"This is not a FITS file at all, just text." * 100, "not a FITS file"),
    (b"\x1f\x8b\x08\x00garbage", "gzip"),
    (bytes(range(256)) * 20, "not a FITS file"),
])
def test_garbage_is_rejected(data, reason):
    with pytest.raises(NoticeRejected, match=reason):
        read_skymap_bytes(data)


@pytest.mark.parametrize("cut, reason", [
    (100, "truncated"),
    (2880, "no binary table"),  # cut exactly after the primary header
    (5000, "truncated"),
    (100_000, "truncated"),
    (777_599, "truncated"),  # only the last padding byte missing
])
def test_truncated_fits_is_rejected(bayestar_bytes, cut, reason):
    with pytest.raises(NoticeRejected, match=reason):
        read_skymap_bytes(bayestar_bytes[:cut])


def test_truncated_gzip_is_rejected():
    data = (SKYMAPS / "fermi_skymap.fits.gz").read_bytes()
    with pytest.raises(NoticeRejected, match="gzip sky map is truncated"):
        read_skymap_bytes(data[: len(data) // 2])


def test_gzip_bomb_is_refused():
    data = gzip.compress(b"SIMPLE  =" + bytes(50_000_000))
    with pytest.raises(NoticeRejected, match="decompresses to more than 1000000 bytes"):
        read_skymap_bytes(data, max_bytes=1_000_000)


def test_fits_without_table_is_rejected():
    buf = io.BytesIO()
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(buf)
    with pytest.raises(NoticeRejected, match="no binary table"):
        read_skymap_bytes(buf.getvalue())


def test_table_that_is_not_a_healpix_map_is_rejected():
    buf = io.BytesIO()
    hdu = fits.BinTableHDU(Table({"RA": [1.0, 2.0], "DEC": [3.0, 4.0]}))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    with pytest.raises(NoticeRejected, match="not a readable HEALPix map"):
        read_skymap_bytes(buf.getvalue())


def test_negative_probability_is_rejected(bayestar_bytes):
    m = read_skymap_bytes(bayestar_bytes)
    m["PROBDENSITY"][0] = -1.0
    with pytest.raises(NoticeRejected, match="negative, NaN or infinite"):
        read_skymap_bytes(moc_to_bytes(m))
