"""Large flat sky maps in bounded memory (issue 10, "memory").

An nside-4096 float32 flat map gzipped in a 787 kB Avro notice drove tooflow to
16.9 GB; an nside-8192 file was refused only after a 2.3 GB peak. Sizes are now
checked from the FITS header before anything is allocated, and flat maps finer
than FLAT_NSIDE are summed to it while read. Large maps are generated on the
fly (tests/generated_maps.py); the real flat maps are LVC's S190425z and
S190814bv and the IPN map of GRB220617A. Peaks are measured with tracemalloc
(numpy reports its arrays to it).
"""

from __future__ import annotations

import gzip
import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.generated_maps import PATCH, PATCH_NSIDE, flat_map_gz
from tooflow.errors import NoticeRejected
from tooflow.skymap.read import (
    FLAT_NSIDE,
    FLAT_NSIDE_DISTANCES,
    read_skymap_bytes,
    verify_skymap_bytes,
)
from tooflow.skymap.stream import peek_table, read_flat_downsampled

DATA = Path(__file__).parent / "data"
SKYMAPS = DATA / "skymaps"


def _peak(func, *args, **kwargs):
    tracemalloc.start()
    try:
        result = func(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _prob_per_pixel(table, nside: int) -> np.ndarray:
    """Probability of a multi-order table summed into NESTED pixels at ``nside``."""
    uniq = np.asarray(table["UNIQ"])
    order = (np.floor(np.log2(uniq)).astype(np.int64) - 2) // 2
    ipix = uniq - 4 * (np.int64(1) << (2 * order))
    level = int(np.log2(nside))
    prob = np.asarray(table["PROBDENSITY"]) * 4 * np.pi / (12 * 4.0 ** order)
    fine = order >= level
    out = np.bincount(ipix[fine] >> (2 * (order[fine] - level)), weights=prob[fine],
                      minlength=12 * nside ** 2)
    for o, i, pr in zip(order[~fine], ipix[~fine], prob[~fine], strict=True):
        n = 4 ** (level - o)  # a merged (coarser) pixel: spread over its children
        out[i * n:(i + 1) * n] += pr / n
    return out


def _flat_to(prob: np.ndarray, nside: int) -> np.ndarray:
    """A NESTED flat map summed to ``nside``."""
    return prob.reshape(12 * nside ** 2, -1).sum(axis=1)


@pytest.mark.slow  # big map
def test_nside_4096_float32_in_a_real_avro_notice_stays_bounded():
    """The reproduction: MS181101ab's real Avro alert carrying a flat nside-4096 map."""
    import fastavro

    from tooflow.parsers import parse_notice

    avro = (DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes()
    reader = fastavro.reader(io.BytesIO(avro))
    schema, record = reader.writer_schema, next(reader)
    record["event"]["skymap"] = flat_map_gz(4096, dtype="float32", level=6)
    out = io.BytesIO()
    fastavro.writer(out, schema, [record])
    notice = out.getvalue()
    assert len(notice) < 2_000_000  # like the 787 kB notice of the report

    parsed, parse_peak = _peak(parse_notice, notice)
    table, read_peak = _peak(read_skymap_bytes, parsed.localization.skymap_bytes)
    # 805 MB of table data; before: 16.9 GB. Bounded by the nside-1024 arrays.
    assert parse_peak < 50e6, parse_peak
    assert read_peak < 500e6, read_peak
    assert table.meta["downsampled_from_nside"] == 4096
    per_patch = _prob_per_pixel(table, PATCH_NSIDE)
    assert per_patch[PATCH] == pytest.approx(1.0, abs=1e-6)
    assert per_patch.sum() == pytest.approx(1.0, abs=1e-6)
    finest = (np.floor(np.log2(np.asarray(table["UNIQ"]))).astype(int) - 2) // 2
    assert finest.max() == int(np.log2(FLAT_NSIDE))


def test_nside_8192_is_refused_from_its_header_before_reading_data():
    header = fits.Header([("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2),
                          ("NAXIS1", 8), ("NAXIS2", 12 * 8192 ** 2), ("PCOUNT", 0),
                          ("GCOUNT", 1), ("TFIELDS", 1), ("TTYPE1", "PROB"), ("TFORM1", "D"),
                          ("PIXTYPE", "HEALPIX"), ("ORDERING", "NESTED"), ("NSIDE", 8192),
                          ("INDXSCHM", "IMPLICIT")])
    # headers and only 1 MB of the declared 6.4 GB: reading any data would fail as truncated
    data = gzip.compress(fits.PrimaryHDU().header.tostring().encode()
                         + header.tostring().encode() + bytes(1 << 20))
    for check in (read_skymap_bytes, verify_skymap_bytes):
        with pytest.raises(NoticeRejected, match=r"nside 8192 .*finer than the nside 4096 "
                                                 r"limit; refused from its header"):
            _, peak = _peak(check, data)
    tracemalloc.start()
    try:
        with pytest.raises(NoticeRejected):
            read_skymap_bytes(data)
        assert tracemalloc.get_traced_memory()[1] < 20e6
    finally:
        tracemalloc.stop()


def test_a_multi_order_map_declaring_gigabytes_is_refused_from_its_header():
    header = fits.Header([("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2),
                          ("NAXIS1", 16), ("NAXIS2", 1 << 28), ("PCOUNT", 0), ("GCOUNT", 1),
                          ("TFIELDS", 2), ("TTYPE1", "UNIQ"), ("TFORM1", "K"),
                          ("TTYPE2", "PROBDENSITY"), ("TFORM2", "D"), ("ORDERING", "NUNIQ")])
    data = gzip.compress(fits.PrimaryHDU().header.tostring().encode()
                         + header.tostring().encode())
    with pytest.raises(NoticeRejected, match="declares 4294967296 bytes of table data"):
        read_skymap_bytes(data)


@pytest.mark.slow  # big map
def test_real_ipn_map_ring_nside_2048_is_summed_to_1024_exactly():
    """GRB220617A's IPN annulus: RING, nside 2048, 1024-wide float32 rows."""
    from ligo.skymap.io.fits import read_sky_map

    data = (SKYMAPS / "GRB220617A_IPN_map_hpx.fits.gz").read_bytes()
    layout = peek_table(data)
    assert (layout.nside, layout.nest, layout.columns) == (
        2048, False, {"PROBABILITY": (">f4", 1024)})
    prob, _, meta = read_flat_downsampled(data, layout, 1024, distances=False)
    full, _ = read_sky_map(io.BytesIO(gzip.decompress(data)), nest=True)  # reference
    assert np.allclose(prob, _flat_to(np.asarray(full, dtype=np.float64), 1024), atol=1e-12)
    assert meta["objid"] == "GRB220617A"
    table = read_skymap_bytes(data)
    assert table.meta["downsampled_from_nside"] == 2048
    per_pixel = _prob_per_pixel(table, 1024)
    assert per_pixel.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.argmax(per_pixel) == np.argmax(prob)


@pytest.mark.slow  # big map
def test_real_lvc_map_with_distances_downsampled_keeps_its_moments():
    """S190425z (nside 256, distances) summed to nside 64 while read, against ligo.skymap."""
    from ligo.skymap.distance import parameters_to_moments
    from ligo.skymap.io.fits import read_sky_map

    data = (SKYMAPS / "S190425z_2_LALInference.fits.gz").read_bytes()
    layout = peek_table(data)
    assert (layout.nside, layout.nest) == (256, True)
    prob, dist, meta = read_flat_downsampled(data, layout, 64, distances=True)
    (p, mu, sigma, _norm), ref_meta = read_sky_map(io.BytesIO(gzip.decompress(data)),
                                                   nest=True, distances=True)
    assert meta["distmean"] == pytest.approx(ref_meta["distmean"])
    assert np.allclose(prob, _flat_to(p, 64), atol=1e-12)
    mean, std, _ = parameters_to_moments(mu, sigma)
    ok = np.isfinite(mean) & np.isfinite(std)
    w = np.where(ok, p, 0)
    m1 = _flat_to(w * np.where(ok, mean, 0), 64)
    m2 = _flat_to(w * np.where(ok, std ** 2 + mean ** 2, 0), 64)
    wsum = _flat_to(w, 64)
    got_mean, got_std, _ = parameters_to_moments(dist["DISTMU"], dist["DISTSIGMA"])
    good = wsum > 1e-8 * wsum.max()
    m1, m2, wsum = m1[good], m2[good], wsum[good]
    assert np.allclose(got_mean[good], m1 / wsum, rtol=1e-6)
    assert np.allclose(got_std[good], np.sqrt(m2 / wsum - (m1 / wsum) ** 2), rtol=1e-5)
    # and at its own nside the stream reader gives the layers back unchanged
    same, exact, _ = read_flat_downsampled(data, layout, 256, distances=True)
    assert np.array_equal(same, p) and np.array_equal(exact["DISTMU"], mu)


@pytest.mark.slow  # big map
def test_real_lvc_map_of_400_mb_decompressed_is_read_in_chunks():
    """S190814bv: nside 1024, four float64 layers (402 MB of table data)."""
    data = (SKYMAPS / "S190814bv_5_LALInference.v1.fits.gz").read_bytes()
    table, peak = _peak(read_skymap_bytes, data)
    assert peak < 400e6, peak  # the nside-512 layers, not the 402 MB table
    assert table.meta["downsampled_from_nside"] == 1024
    assert table.colnames == ["UNIQ", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"]
    order = (np.floor(np.log2(np.asarray(table["UNIQ"]))).astype(int) - 2) // 2
    assert order.max() == int(np.log2(FLAT_NSIDE_DISTANCES))
    assert table.meta["distmean"] == pytest.approx(267, abs=1)  # the header's DISTMEAN


def test_a_truncated_gzip_flat_map_is_refused_by_the_parser_check():
    data = flat_map_gz(512, dtype="float64")
    verify_skymap_bytes(data)
    with pytest.raises(NoticeRejected, match="truncated"):
        verify_skymap_bytes(data[: len(data) // 2])


def test_probability_over_the_whole_sky_is_coarsened_to_a_bounded_number_of_rows():
    """A uniform nside-1024 map would be 12.6 M rows (1.2 GB to summarise)."""
    from tooflow.skymap.read import MAX_MOC_ROWS

    n = 12 * 1024 ** 2
    hdu = fits.BinTableHDU.from_columns(
        [fits.Column(name="PROB", format="E", array=np.full(n, 1 / n, dtype=np.float32))])
    hdu.header.update({"PIXTYPE": "HEALPIX", "ORDERING": "NESTED", "NSIDE": 1024,
                       "INDXSCHM": "IMPLICIT"})
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    data = gzip.compress(buf.getvalue(), compresslevel=1)
    del buf, hdu
    table, peak = _peak(read_skymap_bytes, data)
    assert len(table) <= MAX_MOC_ROWS
    assert _prob_per_pixel(table, 64).sum() == pytest.approx(1.0, abs=1e-6)
    assert peak < 700e6, peak
