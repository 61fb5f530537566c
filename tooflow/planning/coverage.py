"""Sky-map probability inside telescope fields, counted once on the sky.

The multi-order map is rasterised once to a nested HEALPix working grid (order 9,
nside 512, 0.013 deg² pixels by default). A field covers the pixels whose centres
fall inside its footprint (centre sampling is unbiased for chip gaps smaller than
a pixel). Fields of all telescopes together split the covered pixels into
*regions*: sets of pixels covered by exactly the same fields. A region's
probability is counted once however many fields cover it, which is how the
planner counts the union coverage of a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np
from matplotlib.path import Path as MplPath
from scipy import sparse
from scipy.spatial import cKDTree

from ..telescopes import Footprint

__all__ = [
    "ProbabilityGrid",
    "Regions",
    "probability_grid",
    "footprint_pixels",
    "field_probabilities",
    "prefilter_fields",
    "build_regions",
    "covered_probability",
    "points_in_fields",
]

#: Resolution (deg) of the raster used to test points against polygon footprints.
_MASK_RES = 0.005


@dataclass
class ProbabilityGrid:
    """A sky map rasterised on a nested HEALPix grid.

    Attributes
    ----------
    order : int
        HEALPix order (nside = 2**order), NESTED indexing.
    prob : numpy.ndarray
        Probability in each pixel (sums to the map's total, normally 1).
    """

    order: int
    prob: np.ndarray

    @property
    def nside(self) -> int:
        return 1 << self.order


def probability_grid(moc, order: int = 9) -> ProbabilityGrid:
    """Rasterise a multi-order map (astropy Table with UNIQ, PROBDENSITY).

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order map as returned by ``ligo.skymap.io.read_sky_map(path, moc=True)``;
        PROBDENSITY is per steradian.
    order : int
        Working HEALPix order; pixels finer than it are averaged, coarser ones split.
    """
    from ligo.skymap.moc import uniq2nest

    uniq = np.asarray(moc["UNIQ"], dtype=np.int64)
    dens = np.asarray(moc["PROBDENSITY"], dtype=float)
    if uniq.size == 0 or not np.all(np.isfinite(dens)):
        raise ValueError("sky map has no pixels or non-finite probability densities")
    orders, nest = uniq2nest(uniq)
    orders = orders.astype(np.int64)
    nest = nest.astype(np.int64)
    prob = np.zeros(12 << (2 * order))
    pix_area = hp.nside2pixarea(1 << order)
    fine = orders >= order
    # pixels finer than the working order: sum their probability into parents
    shift = 2 * (orders[fine] - order)
    parent = nest[fine] >> shift
    area_fine = 4 * np.pi / (12 * 4.0 ** orders[fine])
    np.add.at(prob, parent, dens[fine] * area_fine)
    # coarser pixels: spread over their children
    coarse = ~fine
    if np.any(coarse):
        for o in np.unique(orders[coarse]):
            sel = coarse & (orders == o)
            n = 1 << (2 * (order - o))
            first = nest[sel] << (2 * (order - o))
            idx = (first[:, None] + np.arange(n)[None, :]).ravel()
            prob[idx] += np.repeat(dens[sel] * pix_area, n)
    return ProbabilityGrid(order=order, prob=prob)


@lru_cache(maxsize=32)
def _polygon_mask(polys_key: tuple) -> tuple[np.ndarray, float]:
    """Raster of the union of polygons on a square grid; returns (mask, half-size)."""
    polys = [np.array(p).reshape(-1, 2) for p in polys_key]
    half = max(np.abs(p).max() for p in polys) + _MASK_RES
    n = int(np.ceil(2 * half / _MASK_RES))
    mask = np.zeros((n, n), bool)
    centres = -half + (np.arange(n) + 0.5) * _MASK_RES
    for p in polys:
        path = MplPath(p)
        i0, i1 = np.searchsorted(centres, [p[:, 0].min(), p[:, 0].max()])
        j0, j1 = np.searchsorted(centres, [p[:, 1].min(), p[:, 1].max()])
        gx, gy = np.meshgrid(centres[i0:i1], centres[j0:j1], indexing="ij")
        inside = path.contains_points(np.column_stack([gx.ravel(), gy.ravel()]))
        mask[i0:i1, j0:j1] |= inside.reshape(gx.shape)
    return mask, half


def _local_coords(vec: np.ndarray, ra: np.ndarray, dec: np.ndarray):
    """Rotate unit vectors into the frames of fields centred at (ra, dec) (deg).

    Returns local (lon, lat) in degrees and the cosine of the distance to the centre.
    """
    a, d = np.radians(ra), np.radians(dec)
    x, y, z = vec[:, 0], vec[:, 1], vec[:, 2]
    ca, sa, cd, sd = np.cos(a), np.sin(a), np.cos(d), np.sin(d)
    x1 = x * ca + y * sa
    y1 = -x * sa + y * ca
    x2 = x1 * cd + z * sd
    z2 = -x1 * sd + z * cd
    lon = np.degrees(np.arctan2(y1, x2))
    lat = np.degrees(np.arcsin(np.clip(z2, -1, 1)))
    return lon, lat, x2


def footprint_pixels(
    footprint: Footprint, ra, dec, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (nested, at ``order``) whose centres fall inside each field.

    Parameters
    ----------
    footprint : Footprint
        Instrument footprint.
    ra, dec : array_like
        Field centres (deg).
    order : int
        HEALPix order.

    Returns
    -------
    field_index, ipix : numpy.ndarray
        Incidence pairs: ``ipix[k]`` lies in field ``field_index[k]`` (index into
        ``ra``/``dec``).
    """
    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    nside = 1 << order
    radius = np.radians(footprint.circumradius) + hp.max_pixrad(nside)
    vecs = hp.ang2vec(ra, dec, lonlat=True).reshape(-1, 3)
    lists = [hp.query_disc(nside, v, radius, nest=True) for v in vecs]
    if not lists:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts = np.array([len(x) for x in lists])
    fidx = np.repeat(np.arange(len(ra)), counts)
    ipix = np.concatenate(lists).astype(np.int64)
    keep = np.zeros(len(ipix), bool)
    # chunk to bound memory
    step = 2_000_000
    for s in range(0, len(ipix), step):
        sl = slice(s, s + step)
        pv = np.column_stack(hp.pix2vec(nside, ipix[sl], nest=True))
        keep[sl] = _inside(footprint, pv, ra[fidx[sl]], dec[fidx[sl]])
    return fidx[keep], ipix[keep]


def _inside(footprint: Footprint, vec: np.ndarray, ra: np.ndarray, dec: np.ndarray):
    """Whether unit vectors fall inside footprints centred at (ra, dec), pairwise."""
    lon, lat, cosd = _local_coords(vec, ra, dec)
    if footprint.radius is not None:
        return cosd >= np.cos(np.radians(footprint.radius))
    key = tuple(tuple(map(float, p.ravel())) for p in footprint.polygons)
    mask, half = _polygon_mask(key)
    n = mask.shape[0]
    i = np.floor((lon + half) / _MASK_RES).astype(int)
    j = np.floor((lat + half) / _MASK_RES).astype(int)
    ok = (i >= 0) & (i < n) & (j >= 0) & (j < n) & (cosd > 0)
    res = np.zeros(len(i), bool)
    res[ok] = mask[i[ok], j[ok]]
    return res


def points_in_fields(footprint: Footprint, ra, dec, pra, pdec) -> tuple[np.ndarray, np.ndarray]:
    """Incidence of points (e.g. galaxies) in fields, like :func:`footprint_pixels`.

    Parameters
    ----------
    footprint : Footprint
    ra, dec : array_like
        Field centres (deg).
    pra, pdec : array_like
        Points (deg).

    Returns
    -------
    field_index, point_index : numpy.ndarray
    """
    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    pvec = hp.ang2vec(np.asarray(pra, float), np.asarray(pdec, float), lonlat=True).reshape(-1, 3)
    if len(ra) == 0 or len(pvec) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    tree = cKDTree(pvec)
    chord = 2 * np.sin(min(np.radians(footprint.circumradius) * 1.01, np.pi) / 2)
    fvec = hp.ang2vec(ra, dec, lonlat=True).reshape(-1, 3)
    lists = tree.query_ball_point(fvec, chord)
    counts = np.array([len(x) for x in lists])
    fidx = np.repeat(np.arange(len(ra)), counts)
    pidx = np.concatenate([np.asarray(x, np.int64) for x in lists]) if counts.sum() else \
        np.zeros(0, np.int64)
    keep = _inside(footprint, pvec[pidx], ra[fidx], dec[fidx])
    return fidx[keep], pidx[keep]


def field_probabilities(grid: ProbabilityGrid, footprint: Footprint, ra, dec) -> np.ndarray:
    """Probability inside each field (not de-duplicated between fields)."""
    fidx, ipix = footprint_pixels(footprint, ra, dec, grid.order)
    return np.bincount(fidx, weights=grid.prob[ipix], minlength=np.size(ra))


def prefilter_fields(
    grid: ProbabilityGrid, footprint: Footprint, ra, dec, level: float = 0.999
) -> np.ndarray:
    """Indices of fields that can touch the ``level`` credible region.

    Cheap: uses the credible region at order 6 and a k-d tree of its pixel centres.
    """
    ra = np.asarray(ra, float)
    dec = np.asarray(dec, float)
    if ra.size == 0:
        return np.zeros(0, int)
    coarse_order = min(6, grid.order)
    p = grid.prob.reshape(-1, 1 << (2 * (grid.order - coarse_order))).sum(axis=1)
    order_idx = np.argsort(p)[::-1]
    csum = np.cumsum(p[order_idx])
    n = int(np.searchsorted(csum, level * csum[-1])) + 1
    cr = order_idx[:n]
    cr_vec = np.column_stack(hp.pix2vec(1 << coarse_order, cr, nest=True))
    tree = cKDTree(cr_vec)
    ang = np.radians(footprint.circumradius) + hp.max_pixrad(1 << coarse_order)
    chord = 2 * np.sin(min(ang, np.pi) / 2)
    fvec = hp.ang2vec(ra, dec, lonlat=True).reshape(-1, 3)
    dist, _ = tree.query(fvec, k=1, distance_upper_bound=chord)
    return np.flatnonzero(np.isfinite(dist))


@dataclass
class Regions:
    """Shared refinement of the sky by candidate fields.

    Attributes
    ----------
    weight : numpy.ndarray
        Probability of each region.
    matrix : scipy.sparse.csr_matrix
        (n_regions × n_fields) incidence: region r lies inside field f.
    pixels, pixel_region : numpy.ndarray or None
        Every covered pixel and the region it belongs to.
    """

    weight: np.ndarray
    matrix: sparse.csr_matrix
    pixels: np.ndarray | None = None
    pixel_region: np.ndarray | None = None


def build_regions(
    field_index: np.ndarray, ipix: np.ndarray, prob: np.ndarray, n_fields: int
) -> Regions:
    """Group pixels by the exact set of fields covering them.

    Parameters
    ----------
    field_index, ipix : numpy.ndarray
        Incidence pairs (global field index, pixel), e.g. concatenated over telescopes.
    prob : numpy.ndarray
        Probability per pixel of the working grid.
    n_fields : int
        Number of fields (columns).
    """
    if len(ipix) == 0:
        return Regions(np.zeros(0), sparse.csr_matrix((0, n_fields)))
    rng = np.random.default_rng(12345)
    keys = rng.integers(1, np.iinfo(np.int64).max, size=n_fields, dtype=np.int64).view(np.uint64)
    order = np.argsort(ipix, kind="stable")
    ip, fi = ipix[order], field_index[order]
    starts = np.flatnonzero(np.r_[True, ip[1:] != ip[:-1]])
    pix = ip[starts]
    with np.errstate(over="ignore"):
        h = np.add.reduceat(keys[fi], starts)
    uniq_h, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    weight = np.bincount(inverse, weights=prob[pix], minlength=len(uniq_h))
    # fields of each region, from its first pixel
    ends = np.r_[starts[1:], len(ip)]
    rows, cols = [], []
    for r, k in enumerate(first):
        f = fi[starts[k]:ends[k]]
        rows.append(np.full(len(f), r))
        cols.append(f)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    mat = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(uniq_h), n_fields))
    mat.data[:] = 1.0
    return Regions(weight=weight, matrix=mat, pixels=pix, pixel_region=inverse.ravel())


def covered_probability(
    field_index: np.ndarray, ipix: np.ndarray, prob: np.ndarray, chosen
) -> float:
    """Union probability of the chosen fields (indices into the incidence's fields)."""
    chosen = np.asarray(list(chosen), dtype=int)
    if chosen.size == 0 or field_index.size == 0:
        return 0.0
    pick = np.zeros(int(field_index.max()) + 1, bool)
    pick[chosen[chosen <= field_index.max()]] = True
    covered = np.zeros(prob.size, bool)
    covered[ipix[pick[field_index]]] = True
    return float(prob[covered].sum())
