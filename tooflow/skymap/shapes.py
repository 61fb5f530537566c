"""Error ellipses and polygonal error boxes as multi-order sky maps.

:func:`ellipse_to_moc` keeps an ellipse an ellipse (CHIME/FRB, DSA-110, MAXI
``ra_dec_error: [a, b, angle]``): a 2-D Gaussian in the plane tangent to the
sky at the centre (azimuthal equidistant offsets), whose ``kind`` contour is
the ellipse:

* ``"1-sigma"``: the semi-axes are the Gaussian σ along each axis;
* ``"90%"``, ``"68%"``, ...: the ellipse contains that fraction, so
  σ = axis / k with k = √(−2 ln(1 − p)) (the 2-D Gaussian's containment);
* ``"disk"``: uniform inside the ellipse, nothing outside.

The position angle is the astronomical one, of the semi-major axis, from
North through East (as gcn-schema's ``core/Localization`` states). An ellipse
with equal axes is handed to :func:`~.circle.circle_to_moc`, so circles stay
exactly as before.

:func:`polygon_to_moc` turns a convex spherical polygon (MAXI's
``rectangular_error_corners``, the 90% corner box) into a map uniform inside
and empty outside: covering the box covers the region MAXI quotes, so 100% of
the map's probability is inside the box (its 90% credible area is 90% of the
box area; the box's own containment is kept in ``radius_kind``).

Both refine pixels from HEALPix order 0 only where they can reach the region,
and near a polygon's edges only, down to about σ_minor/3 (ellipses) or a
tenth of the shortest edge (polygons).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import astropy_healpix as ah
import numpy as np
from astropy import units as u
from astropy.table import Table

from ..errors import NoticeRejected
from .circle import EFOLDS, MAX_ORDER, circle_kind, circle_to_moc, moc_table

__all__ = ["MAX_AXIS_RATIO", "ellipse_to_moc", "polygon_to_moc"]

#: Pixels are refined when they come within this many pixel radii of the region.
_MARGIN = 1.2

#: Ellipses narrower than this ratio of their axes are widened to it (their map
#: would need ~1 200 × ratio rows); notices' ellipses are below 2.
MAX_AXIS_RATIO = 100.0


def _pixrad(order: int) -> float:
    return ah.nside_to_pixel_resolution(ah.level_to_nside(order)).to_value(u.rad)


def _order_for(scale: float, max_order: int) -> int:
    order = 0
    while order < max_order and _pixrad(order) > scale:
        order += 1
    return order


def _adaptive(keep: Callable[[np.ndarray, np.ndarray, float], np.ndarray],
              target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NUNIQ and centre lon/lat (rad) of pixels refined where ``keep`` says so."""
    uniq_parts, lon_parts, lat_parts = [], [], []
    ipix = np.arange(12, dtype=np.int64)
    for order in range(target + 1):
        nside = ah.level_to_nside(order)
        lon, lat = ah.healpix_to_lonlat(ipix, nside, order="nested")
        lon, lat = lon.to_value(u.rad), lat.to_value(u.rad)
        if order < target:
            refine = keep(lon, lat, _MARGIN * _pixrad(order))
        else:
            refine = np.zeros(len(ipix), dtype=bool)
        uniq_parts.append(ipix[~refine] + 4 * nside**2)
        lon_parts.append(lon[~refine])
        lat_parts.append(lat[~refine])
        ipix = (ipix[refine][:, None] * 4 + np.arange(4)).ravel()
    return np.concatenate(uniq_parts), np.concatenate(lon_parts), np.concatenate(lat_parts)


def _offsets(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Separation (rad) and bearing (rad, North through East) from the centre."""
    dlon = lon - lon0
    h = (np.sin((lat - lat0) / 2) ** 2
         + np.cos(lat) * np.cos(lat0) * np.sin(dlon / 2) ** 2)
    sep = 2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    bearing = np.arctan2(np.sin(dlon) * np.cos(lat),
                         np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat) * np.cos(dlon))
    return sep, bearing


def _containment_sigmas(shape: str) -> float:
    """How many σ the contour of ``shape`` (``"1-sigma"``, ``"90%"``) lies at, in 2-D."""
    if shape == "1-sigma":
        return 1.0
    p = float(shape.rstrip("%")) / 100
    if not 0 < p < 1:
        raise ValueError(f"containment {shape!r} must be strictly between 0% and 100%")
    return math.sqrt(-2 * math.log1p(-p))


def _check_centre(ra: float, dec: float) -> None:
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (ra, dec)):
        raise NoticeRejected(f"error region has a non-finite centre: {(ra, dec)!r}")
    if not -90 <= dec <= 90:
        raise NoticeRejected(f"error region declination {dec} is outside [-90, 90] degrees")


def ellipse_to_moc(ra: float, dec: float, a_deg: float, b_deg: float, angle_deg: float = 0.0,
                   *, kind: str = "1-sigma", max_order: int = MAX_ORDER) -> Table:
    """An error ellipse as a multi-order sky map.

    Parameters
    ----------
    ra, dec : float
        Centre (degrees, ICRS).
    a_deg, b_deg : float
        Semi-major and semi-minor axes (degrees), meaning given by ``kind``.
        They are swapped if ``b > a`` (the angle is then turned by 90°); ``b``
        is raised to ``a / MAX_AXIS_RATIO`` if smaller.
    angle_deg : float
        Position angle of the semi-major axis, North through East (degrees).
    kind : str
        ``"1-sigma"``, a containment such as ``"90%"``, or ``"disk"``; free
        text as notices state it is understood (:func:`~.circle.circle_kind`).
    max_order : int
        Finest HEALPix order allowed.

    Returns
    -------
    astropy.table.Table
        ``UNIQ`` and ``PROBDENSITY`` (sr⁻¹), total probability 1, sorted by ``UNIQ``.

    Raises
    ------
    NoticeRejected
        If the centre, axes or angle are not finite or out of range.
    """
    _check_centre(ra, dec)
    values = (a_deg, b_deg, angle_deg)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        raise NoticeRejected(f"error ellipse has non-finite axes or angle: {values!r}")
    if b_deg > a_deg:
        a_deg, b_deg, angle_deg = b_deg, a_deg, angle_deg + 90.0
    if not (0 < b_deg and a_deg <= 90):
        raise NoticeRejected(f"error ellipse axes {a_deg}, {b_deg} deg are not in (0, 90]")
    shape = circle_kind(kind)
    b_deg = max(b_deg, a_deg / MAX_AXIS_RATIO)  # bounded rows; real ellipses are far rounder
    if a_deg == b_deg:
        return circle_to_moc(ra, dec, a_deg, kind=shape, max_order=max_order)
    lon0, lat0 = math.radians(ra % 360), math.radians(dec)
    a, b, pa = math.radians(a_deg), math.radians(b_deg), math.radians(angle_deg)
    if shape == "disk":
        k, cutoff = 1.0, 1.0
    else:
        k, cutoff = _containment_sigmas(shape), math.sqrt(2 * EFOLDS)
    sa, sb = a / k, b / k

    def mahalanobis(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        sep, bearing = _offsets(lon, lat, lon0, lat0)
        along, across = sep * np.cos(bearing - pa), sep * np.sin(bearing - pa)
        return np.hypot(along / sa, across / sb)

    def keep(lon: np.ndarray, lat: np.ndarray, pixrad: float) -> np.ndarray:
        return mahalanobis(lon, lat) - pixrad / sb < cutoff

    target = _order_for((b if shape == "disk" else sb) / (10 if shape == "disk" else 3),
                        max_order)
    uniq, lon, lat = _adaptive(keep, target)
    m = mahalanobis(lon, lat)
    if shape == "disk":
        dens = (m <= 1.0).astype(np.float64)
        if not dens.any():
            dens[np.argmin(m)] = 1.0
    else:
        dens = np.exp(-0.5 * m**2)
    return moc_table(uniq, dens)


def _unit(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def polygon_to_moc(corners: Sequence[Sequence[float]], *, max_order: int = MAX_ORDER) -> Table:
    """A convex spherical polygon (error box) as a uniform multi-order sky map.

    Parameters
    ----------
    corners : sequence of (ra, dec)
        Corners in degrees, in order around the polygon (either direction),
        edges being great-circle arcs.
    max_order : int
        Finest HEALPix order allowed.

    Returns
    -------
    astropy.table.Table
        ``UNIQ`` and ``PROBDENSITY`` (sr⁻¹): uniform inside, zero outside.

    Raises
    ------
    NoticeRejected
        Fewer than 3 corners, corners not finite or out of range, or not convex.
    """
    pts = np.asarray(corners, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise NoticeRejected(f"error box needs at least 3 (ra, dec) corners, got {corners!r}")
    if not np.all(np.isfinite(pts)) or np.any(np.abs(pts[:, 1]) > 90):
        raise NoticeRejected(f"error box corners not finite or Dec outside [-90, 90]: {corners!r}")
    vec = _unit(pts[:, 0], pts[:, 1])
    centre = vec.sum(axis=0)
    if np.linalg.norm(centre) < 1e-9:
        raise NoticeRejected("error box corners have no defined centre")
    centre /= np.linalg.norm(centre)
    normals = np.cross(vec, np.roll(vec, -1, axis=0))
    lengths = np.linalg.norm(normals, axis=1)
    if np.any(lengths < 1e-12):
        raise NoticeRejected("error box has repeated corners")
    normals /= lengths[:, None]
    side = normals @ centre
    if np.any(np.abs(side) < 1e-12):
        raise NoticeRejected("error box corners are collinear: no area")
    normals *= np.sign(side)[:, None]  # inward
    if np.any((vec @ normals.T) < -1e-9):
        raise NoticeRejected("error box is not convex")
    circumradius = float(np.max(np.arccos(np.clip(vec @ centre, -1, 1))))
    shortest = float(np.min(np.arcsin(np.clip(lengths, 0, 1))))

    def signed(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)
        return np.arcsin(np.clip(p @ normals.T, -1, 1)), np.arccos(np.clip(p @ centre, -1, 1))

    def keep(lon: np.ndarray, lat: np.ndarray, pixrad: float) -> np.ndarray:
        dist, sep = signed(lon, lat)
        near = sep < circumradius + pixrad
        straddles = np.any(np.abs(dist) < pixrad, axis=1)
        return near & straddles

    uniq, lon, lat = _adaptive(keep, _order_for(shortest / 10, max_order))
    dist, sep = signed(lon, lat)
    dens = np.all(dist >= 0, axis=1).astype(np.float64)
    if not dens.any():
        dens[np.argmin(sep)] = 1.0
    return moc_table(uniq, dens)
