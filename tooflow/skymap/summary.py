"""Numbers a person (and the gate, and the circular) wants from a sky map."""

from __future__ import annotations

from dataclasses import dataclass

import astropy_healpix as ah
import numpy as np
from astropy import units as u
from astropy.table import Table

from .read import DIST_COLUMNS, moc_levels

__all__ = ["SkymapSummary", "moc_rows", "pixel_area", "summarize"]

SR_TO_DEG2 = float(np.square(180 / np.pi))


@dataclass(frozen=True)
class SkymapSummary:
    """Summary of a multi-order sky map.

    Attributes
    ----------
    ra, dec : float
        Most probable position: centre of the pixel of highest probability
        density (degrees, ICRS).
    area_50, area_90 : float
        Areas of the smallest regions holding 50% and 90% of the probability
        (deg²), interpolated as in ``ligo.skymap.postprocess.crossmatch``.
    distance_mean, distance_std : float or None
        Posterior mean and standard deviation of the luminosity distance (Mpc),
        from the header (``DISTMEAN``/``DISTSTD``) or computed from the distance
        layers; None when the map has no distance information.
    nside_max : int
        HEALPix resolution of the finest pixels.
    npix : int
        Number of pixels (rows) of the multi-order map.
    total_prob : float
        Integrated probability (1 for a normalised map).
    """

    ra: float
    dec: float
    area_50: float
    area_90: float
    distance_mean: float | None
    distance_std: float | None
    nside_max: int
    npix: int
    total_prob: float


def pixel_area(uniq: np.ndarray) -> np.ndarray:
    """Solid angle of NUNIQ pixels (steradians)."""
    order, _ = moc_levels(np.asarray(uniq, dtype=np.int64))
    return 4 * np.pi / (12 * 4.0**order)


def moc_rows(moc, ra, dec) -> np.ndarray:
    """Row of the multi-order map containing each (ra, dec) (deg); -1 if none."""
    import healpy as hp
    from ligo.skymap.moc import uniq2nest

    uniq = np.asarray(moc["UNIQ"], dtype=np.int64)
    orders, _ = uniq2nest(uniq)
    order_max = int(orders.max())
    nest = hp.ang2pix(1 << order_max, np.asarray(ra, float), np.asarray(dec, float),
                      lonlat=True, nest=True).astype(np.int64)
    sort = np.argsort(uniq)
    su = uniq[sort]
    rows = np.full(len(nest), -1, np.int64)
    for o in np.unique(orders):
        cand = (nest >> (2 * (order_max - int(o)))) + 4 * (1 << (2 * int(o)))
        k = np.clip(np.searchsorted(su, cand), 0, len(su) - 1)
        hit = (su[k] == cand) & (rows < 0)
        rows[hit] = sort[k[hit]]
    return rows


def _credible_areas(dens: np.ndarray, area_sr: np.ndarray, levels: tuple[float, ...]):
    i = np.argsort(dens)[::-1]
    prob = np.cumsum(dens[i] * area_sr[i])
    cum_area = np.cumsum(area_sr[i]) * SR_TO_DEG2
    # Same boundary condition as ligo.skymap.postprocess.util.interp_greedy_credible_levels.
    return np.interp(levels, np.pad(prob, (1, 0)), np.pad(cum_area, (1, 0)),
                     right=4 * 180**2 / np.pi)


def summarize(moc: Table) -> SkymapSummary:
    """Summarise a multi-order sky map.

    Parameters
    ----------
    moc : astropy.table.Table
        ``UNIQ``, ``PROBDENSITY`` (sr⁻¹) and optionally ``DISTMU``,
        ``DISTSIGMA``, ``DISTNORM``, as returned by
        :func:`tooflow.skymap.read_skymap_bytes` or :func:`tooflow.skymap.circle_to_moc`.

    Returns
    -------
    SkymapSummary
        Most probable position (deg), 50%/90% areas (deg²), distance mean and
        standard deviation (Mpc) when available, resolution and size.
    """
    uniq = np.asarray(moc["UNIQ"], dtype=np.int64)
    dens = np.asarray(moc["PROBDENSITY"], dtype=np.float64)
    order, ipix = moc_levels(uniq)
    area_sr = 4 * np.pi / (12 * 4.0**order)
    dp = dens * area_sr
    total = float(dp.sum())

    imax = int(np.argmax(dens))
    lon, lat = ah.healpix_to_lonlat(ipix[imax], ah.level_to_nside(order[imax]), order="nested")
    area_50, area_90 = _credible_areas(dens, area_sr, (0.5 * total, 0.9 * total))

    distmean = moc.meta.get("distmean")
    diststd = moc.meta.get("diststd")
    if (distmean is None or diststd is None) and all(k in moc.colnames for k in DIST_COLUMNS):
        from ligo.skymap.distance import parameters_to_marginal_moments

        mu = np.asarray(moc["DISTMU"], dtype=np.float64)
        sigma = np.asarray(moc["DISTSIGMA"], dtype=np.float64)
        good = np.isfinite(mu) & np.isfinite(sigma)
        distmean, diststd = parameters_to_marginal_moments(dp[good] / dp[good].sum(),
                                                           mu[good], sigma[good])

    return SkymapSummary(
        ra=float(lon.to_value(u.deg)),
        dec=float(lat.to_value(u.deg)),
        area_50=float(area_50),
        area_90=float(area_90),
        distance_mean=None if distmean is None else float(distmean),
        distance_std=None if diststd is None else float(diststd),
        nside_max=int(ah.level_to_nside(int(order.max()))),
        npix=len(uniq),
        total_prob=total,
    )
