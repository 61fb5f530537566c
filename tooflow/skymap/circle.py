"""Circular error regions (GRB, neutrino, X-ray notices) as multi-order sky maps.

A circle of radius ``r`` becomes one of two shapes, picked by ``kind``:

* a **Fisher–von Mises distribution** (the 2D Gaussian of the sphere),
  density ∝ exp(κ cos θ):

  - ``"1-sigma"`` (the default, what GCN notices call "1-sigma" or
    "stat+sys" error radius): ``r`` is the Gaussian σ, κ = 1/σ², as SkyPortal's
    ``from_cone`` does; about 39% of the probability lies within ``r``;
  - ``"68%"``, ``"90%"``, ``"95%"``, ... : ``r`` is the containment radius,
    κ = −ln(1 − p) / (1 − cos r), so exactly that fraction lies within ``r``
    (IceCube and Einstein Probe quote 90% radii);

* ``"disk"``: uniform probability inside ``r`` and none outside (error boxes
  with hard edges).

The resolution adapts to the radius: pixels are refined, from HEALPix order 0,
only where they can reach the region (the disk, or out to where the density
falls below e⁻¹² of its peak) and stop at about σ/3 (r/10 for a disk). A
1-arcmin Einstein Probe error and a 10-degree Fermi GBM error both give a
few hundred to a few thousand pixels.
"""

from __future__ import annotations

import math
import re

import astropy_healpix as ah
import numpy as np
from astropy import units as u
from astropy.table import Table

from ..errors import NoticeRejected

__all__ = ["MAX_ORDER", "circle_kind", "circle_to_moc", "moc_table"]

#: Finest HEALPix order used for circles: nside 2**18, pixels of 0.8 arcsec.
MAX_ORDER = 18

#: Density cut-off of the Fisher shape, in e-folds (exp(-12) ≈ 6e-6 of the peak).
EFOLDS = 12.0

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def circle_kind(radius_kind: str) -> str:
    """Map a notice's free-text radius meaning to a :func:`circle_to_moc` kind.

    ``"90% containment"`` → ``"90%"``; ``"stat+sys 1-sigma"`` → ``"1-sigma"``;
    anything with ``disk`` or ``box`` → ``"disk"``; otherwise ``"1-sigma"``.
    """
    text = (radius_kind or "").lower()
    if "disk" in text or "box" in text:
        return "disk"
    for token in text.replace("(", " ").replace(")", " ").split():
        if token.endswith("%") and token[:-1].replace(".", "", 1).isdigit():
            return token
    return "1-sigma"


def _kappa(radius: float, kind: str) -> float | None:
    """Fisher concentration (rad⁻²) for a radius (rad), or None for a disk."""
    if kind == "disk":
        return None
    if kind == "1-sigma":
        return 1.0 / radius**2
    match = _PERCENT.match(kind)
    if match is None:
        raise ValueError(f"unknown circle kind {kind!r}: use '1-sigma', 'disk' or e.g. '90%'")
    p = float(match.group(1)) / 100
    if not 0 < p < 1:
        raise ValueError(f"containment {kind!r} must be strictly between 0% and 100%")
    return -math.log1p(-p) / (2 * math.sin(radius / 2) ** 2)


def _separation(lon, lat, lon0: float, lat0: float) -> np.ndarray:
    """Great-circle distance (rad), haversine form (accurate at tiny angles)."""
    lon = np.asarray(lon)
    lat = np.asarray(lat)
    h = (np.sin((lat - lat0) / 2) ** 2
         + np.cos(lat) * np.cos(lat0) * np.sin((lon - lon0) / 2) ** 2)
    return 2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def circle_to_moc(ra: float, dec: float, radius_deg: float, *, kind: str = "1-sigma",
                  max_order: int = MAX_ORDER) -> Table:
    """A circular error region as a multi-order sky map.

    Parameters
    ----------
    ra, dec : float
        Centre (degrees, ICRS).
    radius_deg : float
        Error radius (degrees), with the meaning given by ``kind``.
    kind : str
        ``"1-sigma"`` (Gaussian σ), a containment like ``"90%"``, or ``"disk"``;
        see the module docstring. Free text as notices state it
        (``"stat+sys 1-sigma"``, ``"90% containment"``) is understood through
        :func:`circle_kind`.
    max_order : int
        Finest HEALPix order allowed.

    Returns
    -------
    astropy.table.Table
        ``UNIQ`` and ``PROBDENSITY`` (sr⁻¹), normalised to a total probability
        of 1, sorted by ``UNIQ``.

    Raises
    ------
    NoticeRejected
        If the centre or radius is not finite or out of range.
    ValueError
        If ``kind`` is a containment of 0% or 100% or more.
    """
    values = (ra, dec, radius_deg)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise NoticeRejected(f"circle has a non-finite centre or radius: {values!r}")
    if not -90 <= dec <= 90:
        raise NoticeRejected(f"circle declination {dec} is outside [-90, 90] degrees")
    if not 0 < radius_deg <= 180:
        raise NoticeRejected(f"circle radius {radius_deg} deg is not in (0, 180]")
    lon0, lat0, radius = math.radians(ra % 360), math.radians(dec), math.radians(radius_deg)
    kappa = _kappa(radius, circle_kind(kind))
    if kappa is None:
        reach, scale = radius, radius / 10
    else:
        reach = math.pi if EFOLDS / kappa >= 2 else math.acos(1 - EFOLDS / kappa)
        scale = 1 / math.sqrt(kappa) / 3
    target = 0
    while (target < max_order and
           ah.nside_to_pixel_resolution(ah.level_to_nside(target)).to_value(u.rad) > scale):
        target += 1

    uniq_parts, sep_parts = [], []
    ipix = np.arange(12, dtype=np.int64)
    for order in range(target + 1):
        nside = ah.level_to_nside(order)
        lon, lat = ah.healpix_to_lonlat(ipix, nside, order="nested")
        sep = _separation(lon.to_value(u.rad), lat.to_value(u.rad), lon0, lat0)
        if order < target:
            pixrad = 1.2 * ah.nside_to_pixel_resolution(nside).to_value(u.rad)
            refine = sep - pixrad < reach
        else:
            refine = np.zeros(len(ipix), dtype=bool)
        uniq_parts.append(ipix[~refine] + 4 * nside**2)
        sep_parts.append(sep[~refine])
        ipix = (ipix[refine][:, None] * 4 + np.arange(4)).ravel()

    uniq = np.concatenate(uniq_parts)
    sep = np.concatenate(sep_parts)
    if kappa is None:
        dens = (sep <= radius).astype(np.float64)
        if not dens.any():  # disk smaller than the finest pixel: take the nearest one
            dens[np.argmin(sep)] = 1.0
    else:
        dens = np.exp(-2 * kappa * np.sin(sep / 2) ** 2)
    return moc_table(uniq, dens)


def moc_table(uniq: np.ndarray, dens: np.ndarray) -> Table:
    """A multi-order map (UNIQ-sorted) of relative densities ``dens``, normalised to 1.

    Parameters
    ----------
    uniq : numpy.ndarray
        NUNIQ pixel indices (any order, no overlaps).
    dens : numpy.ndarray
        Relative probability density of each pixel.

    Returns
    -------
    astropy.table.Table
        ``UNIQ`` and ``PROBDENSITY`` (sr⁻¹) whose integral over the sky is 1.
    """
    order = (np.floor(np.log2(uniq)).astype(np.int64) - 2) // 2
    area = 4 * np.pi / (12 * 4.0**order)
    dens = dens / np.sum(dens * area)
    i = np.argsort(uniq)
    table = Table()
    table["UNIQ"] = uniq[i]
    table["PROBDENSITY"] = dens[i]
    table["PROBDENSITY"].unit = "sr-1"
    return table
