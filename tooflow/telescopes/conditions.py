"""Observing conditions of exposures: airmass, Sun, Moon (the inputs of the depth model).

:func:`observing_conditions` computes, for targets seen from one site at given
times, everything :func:`tooflow.telescopes.depth.limiting_magnitude` needs
besides the exposure time, with astropy (one vectorised call; IERS tables as
configured, :func:`tooflow.iers.ensure_iers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from tooflow.telescopes.catalogue import Site, Telescope

__all__ = ["observing_conditions"]


def observing_conditions(where: Site | Telescope, ra: ArrayLike, dec: ArrayLike,
                         times: Sequence[dt.datetime] | ArrayLike) -> dict[str, np.ndarray]:
    """Airmass, Sun and Moon of targets at given times, seen from one site.

    Parameters
    ----------
    where : Site or Telescope
        The site (a telescope's ``site``).
    ra, dec : array_like
        Target positions, degrees ICRS (broadcast with ``times``).
    times : sequence of datetime or array_like of float
        UTC, timezone-aware datetimes, or Julian dates.

    Returns
    -------
    dict of numpy.ndarray
        ``airmass`` (plane-parallel sec z; ``inf`` below the horizon),
        ``altitude`` (deg), ``sun_altitude`` (deg), ``moon_altitude`` (deg),
        ``moon_illumination`` (0–1), ``moon_separation`` (Moon–target, deg).
    """
    from astropy import units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
    from astropy.time import Time

    from tooflow.iers import ensure_iers

    ensure_iers()
    site = where.site if isinstance(where, Telescope) else where
    values = list(times) if not isinstance(times, np.ndarray) else times
    if len(values) and isinstance(values[0], dt.datetime):
        t = Time([v.astimezone(dt.UTC).replace(tzinfo=None) for v in values], scale="utc")
    else:
        t = Time(np.asarray(values, float), format="jd", scale="utc")
    ra_b, dec_b, jd = np.broadcast_arrays(np.asarray(ra, float), np.asarray(dec, float),
                                          t.jd)
    t = Time(jd, format="jd", scale="utc")
    location = EarthLocation.from_geodetic(site.lon * u.deg, site.lat * u.deg,
                                           site.elevation * u.m)
    frame = AltAz(obstime=t, location=location)
    target = SkyCoord(ra_b * u.deg, dec_b * u.deg)
    sun = get_body("sun", t, location)
    moon = get_body("moon", t, location)
    target_altaz = target.transform_to(frame)
    moon_altaz = moon.transform_to(frame)
    alt = target_altaz.alt.deg
    with np.errstate(divide="ignore", invalid="ignore"):
        airmass = np.where(alt > 0, 1.0 / np.sin(np.radians(np.maximum(alt, 1e-6))), np.inf)
    return {
        "airmass": airmass,
        "altitude": alt,
        "sun_altitude": sun.transform_to(frame).alt.deg,
        "moon_altitude": moon_altaz.alt.deg,
        "moon_illumination": (1.0 - np.cos(sun.separation(moon).rad)) / 2.0,
        "moon_separation": moon_altaz.separation(target_altaz).deg,
    }
