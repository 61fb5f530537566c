"""Field probabilities and the shared sky regions."""

from __future__ import annotations

from pathlib import Path

import healpy as hp
import numpy as np
import pytest
from astropy.table import Table
from ligo.skymap.io import read_sky_map
from ligo.skymap.moc import uniq2order

from tooflow.planning import Footprint, load_telescope
from tooflow.planning import coverage as cv

from .planning_helpers import disc_map

DATA = Path(__file__).parent / "data" / "skymaps"


def _uniform(order=4):
    npix = 12 << (2 * order)
    return Table({"UNIQ": np.arange(npix) + 4 * (1 << order) ** 2,
                  "PROBDENSITY": np.full(npix, 1 / (4 * np.pi))})


@pytest.mark.parametrize("name", ["ZTF", "DECam", "Gattini", "GROWTH-India"])
def test_field_probability_on_a_uniform_sky_is_the_footprint_area(name):
    tel = load_telescope(name)
    grid = cv.probability_grid(_uniform(), order=9)
    rng = np.random.default_rng(1)
    ra = rng.uniform(0, 360, 40)
    dec = np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, 40)))
    p = cv.field_probabilities(grid, tel.footprint, ra, dec)
    expected = tel.footprint.area / (4 * np.pi * (180 / np.pi) ** 2)
    # pixel-centre sampling is unbiased; a 0.7 deg field holds only ~37 pixels
    assert p.mean() == pytest.approx(expected, rel=0.03)
    assert p == pytest.approx(expected, rel=0.2 if name == "GROWTH-India" else 0.04)


@pytest.mark.parametrize("path, order", [
    (DATA / "rrt_small_area.fits", 9),            # order-6 map, split finer
    (DATA / "glg_healpix_all_bn180116026.fit", 6),  # flat nside 128, summed coarser
])
def test_probability_grid_keeps_total_probability(path, order):
    moc = read_sky_map(str(path), moc=True)
    grid = cv.probability_grid(moc, order=order)
    orders = uniq2order(np.asarray(moc["UNIQ"]))
    total = float(np.sum(moc["PROBDENSITY"] * 4 * np.pi / (12 * 4.0 ** orders)))
    assert grid.prob.sum() == pytest.approx(total, rel=1e-6)  # densities are float32
    assert grid.prob.sum() == pytest.approx(1.0, abs=1e-3)


def test_regions_count_overlaps_once():
    moc = disc_map([(100.0, 10.0, 1.0)], radius=3.0, order=10)
    grid = cv.probability_grid(moc, order=9)
    fp = Footprint.circle(2.0)
    ra, dec = np.array([98.5, 101.5, 100.0]), np.array([10.0, 10.0, 10.0])
    fi, ip = cv.footprint_pixels(fp, ra, dec, grid.order)
    regions = cv.build_regions(fi, ip, grid.prob, 3)
    union = grid.prob[np.unique(ip)].sum()
    assert regions.weight.sum() == pytest.approx(union)
    own = cv.field_probabilities(grid, fp, ra, dec)
    assert own.sum() > 1.5 * union  # heavy overlaps
    assert cv.covered_probability(fi, ip, grid.prob, [0, 1]) == pytest.approx(
        grid.prob[np.unique(ip[fi != 2])].sum())
    # each region's fields really cover all its pixels: check one pixel per region
    assert regions.matrix.shape == (len(regions.weight), 3)
    assert set(np.unique(regions.matrix.sum(axis=1).A1)) <= {1.0, 2.0, 3.0}


def test_prefilter_keeps_every_field_that_touches_the_map():
    moc = read_sky_map(str(DATA / "rrt_small_area.fits"), moc=True)
    grid = cv.probability_grid(moc, order=9)
    ztf = load_telescope("ZTF")
    ids, ra, dec = ztf.fields
    p = cv.field_probabilities(grid, ztf.footprint, ra, dec)
    kept = set(cv.prefilter_fields(grid, ztf.footprint, ra, dec, level=0.999).tolist())
    assert len(kept) < len(ids) / 10
    big = np.flatnonzero(p > 1e-3)
    assert set(big.tolist()) <= kept
    assert hp.nside2npix(grid.nside) == grid.prob.size
