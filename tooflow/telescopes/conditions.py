"""Observing conditions of exposures: airmass, Sun, Moon (the inputs of the depth model).

:func:`observing_conditions` computes, for targets seen from one site at given
times, everything :func:`tooflow.telescopes.depth.limiting_magnitude` needs
besides the exposure time, with astropy (one vectorised call; IERS tables as
configured, :func:`tooflow.iers.ensure_iers`). It is the reference path, slow
per time: the planner's detection depths use the cached, interpolated ephemeris
instead (:func:`tooflow.planning.detection.conditions`) and are checked against
this function (tests/test_planning_conditions.py).
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
        Target positions, degrees ICRS; they broadcast against ``times`` (ra/dec
        as a column ``(n, 1)`` and times as a row ``(m,)`` give ``(n, m)`` arrays,
        with one Sun/Moon and frame computation per time).
    times : sequence of datetime or array_like of float
        UTC, timezone-aware datetimes (1-d), or Julian dates (any shape).

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
    if isinstance(times, np.ndarray) and times.dtype.kind in "fiu":
        t = Time(times.astype(float), format="jd", scale="utc")
    else:
        values = list(times)
        if values and isinstance(values[0], dt.datetime):
            t = Time([v.astimezone(dt.UTC).replace(tzinfo=None) for v in values], scale="utc")
        else:
            t = Time(np.asarray(values, float), format="jd", scale="utc")
    location = EarthLocation.from_geodetic(site.lon * u.deg, site.lat * u.deg,
                                           site.elevation * u.m)
    # Sun and Moon once per time; the targets broadcast against the times (a field
    # grid as a column against a row of times costs one transformation per time).
    frame = AltAz(obstime=t, location=location)
    sun_alt = get_body("sun", t, location).transform_to(frame).alt.deg
    moon = get_body("moon", t, location)
    moon_altaz = moon.transform_to(frame)
    illumination = (1.0 - np.cos(get_body("sun", t, location).separation(moon).rad)) / 2.0
    target = SkyCoord(np.asarray(ra, float) * u.deg, np.asarray(dec, float) * u.deg)
    target_altaz = target.transform_to(frame)
    alt, az = target_altaz.alt.deg, target_altaz.az.deg
    m_alt, m_az = moon_altaz.alt.deg, moon_altaz.az.deg
    cos_sep = (np.sin(np.radians(alt)) * np.sin(np.radians(m_alt))
               + np.cos(np.radians(alt)) * np.cos(np.radians(m_alt))
               * np.cos(np.radians(az - m_az)))
    with np.errstate(divide="ignore", invalid="ignore"):
        airmass = np.where(alt > 0, 1.0 / np.sin(np.radians(np.maximum(alt, 1e-6))), np.inf)
    shape = alt.shape
    return {
        "airmass": airmass,
        "altitude": alt,
        "sun_altitude": np.broadcast_to(sun_alt, shape).copy(),
        "moon_altitude": np.broadcast_to(m_alt, shape).copy(),
        "moon_illumination": np.broadcast_to(illumination, shape).copy(),
        "moon_separation": np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0))),
    }
