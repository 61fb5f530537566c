"""Sky maps: one multi-order representation for the planner.

Whatever a notice carries — an embedded multi-order FITS map, a flat HEALPix
map, a circular error region, or only a URL — ends up as an
:class:`astropy.table.Table` with ``UNIQ`` and ``PROBDENSITY`` (sr⁻¹) columns
and, for GW maps, ``DISTMU``/``DISTSIGMA``/``DISTNORM``: the shape
``ligo.skymap.io.fits.read_sky_map(..., moc=True)`` returns.

* :func:`read_skymap_bytes` — FITS bytes (multi-order or flat, gzip or not);
* :func:`moc_to_bytes` — a multi-order table as FITS bytes (for the store);
* :func:`circle_to_moc` — a circular error region;
* :func:`ellipse_to_moc`, :func:`polygon_to_moc` — an error ellipse, an error box;
* :func:`region_to_moc` — the map of a circle, ellipse or box
  :class:`~tooflow.notice.Localization`;
* :func:`localization_to_moc` — pick the path for a
  :class:`~tooflow.notice.Localization`;
* :func:`summarize` — position, 50%/90% areas, distance;
* :class:`SkymapStore` — files by SHA-256 outside the database;
* :func:`fetch_skymap` — download a map referenced by URL.
"""

from __future__ import annotations

from astropy.table import Table

from ..notice import Localization
from .circle import circle_kind, circle_to_moc
from .fetch import fetch_skymap
from .flat import flat_to_moc
from .read import check_fits_bytes, moc_to_bytes, read_skymap_bytes
from .shapes import ellipse_to_moc, polygon_to_moc
from .store import SkymapStore
from .summary import SkymapSummary, pixel_area, summarize

__all__ = [
    "SkymapStore",
    "SkymapSummary",
    "check_fits_bytes",
    "circle_to_moc",
    "circle_kind",
    "ellipse_to_moc",
    "fetch_skymap",
    "flat_to_moc",
    "localization_to_moc",
    "moc_to_bytes",
    "pixel_area",
    "polygon_to_moc",
    "read_skymap_bytes",
    "region_to_moc",
    "summarize",
]


def localization_to_moc(loc: Localization | None, *, fetch: bool = False,
                        timeout: float = 10, retries: int = 3,
                        deadline: float = 120.0) -> Table | None:
    """The multi-order map of a notice's localization.

    Parameters
    ----------
    loc : Localization or None
        What the parser found.
    fetch : bool
        Download maps that are only referenced by URL. Off by default: the
        caller decides when a network call is acceptable.
    timeout, retries, deadline
        Passed to :func:`fetch_skymap` (per attempt, attempts, total seconds).

    Returns
    -------
    astropy.table.Table or None
        The map; None when there is no localization, or only a URL and
        ``fetch`` is False.

    Raises
    ------
    NoticeRejected
        If the map bytes or circle are invalid.
    SkymapUnavailable
        If ``fetch`` is True and the URL cannot be fetched.
    """
    if loc is None:
        return None
    if loc.skymap_bytes is not None:
        return read_skymap_bytes(loc.skymap_bytes)
    if loc.is_circle:
        return region_to_moc(loc)
    if loc.url and fetch:
        return read_skymap_bytes(fetch_skymap(loc.url, timeout=timeout, retries=retries,
                                              deadline=deadline))
    return None


def region_to_moc(loc: Localization) -> Table:
    """The multi-order map of a circle, ellipse or box localization (``loc.is_circle``).

    Raises
    ------
    NoticeRejected
        If the region is invalid (non-finite, out of range, a non-convex box).
    """
    if loc.shape == "polygon":
        return polygon_to_moc(loc.polygon)
    if loc.shape == "ellipse":
        return ellipse_to_moc(loc.ra, loc.dec, loc.error_radius, loc.error_minor,
                              loc.error_angle or 0.0, kind=loc.radius_kind)
    return circle_to_moc(loc.ra, loc.dec, loc.error_radius, kind=circle_kind(loc.radius_kind))
