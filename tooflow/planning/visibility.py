"""When a telescope can observe a field: nights, time blocks and visibility.

Sun and Moon positions and the apparent sidereal time come from astropy, computed
once per day for every site and interpolated (:mod:`tooflow.telescopes.ephemeris`,
within 0.01° of astropy's full transforms); field altitudes and hour angles are
then plain vectorised spherical trigonometry on apparent (TETE) coordinates, so
a (fields × times) table costs milliseconds. Refraction is ignored, which errs
on the safe side for an airmass limit.

A field is visible during a block when it is visible at the block's start and
end: altitude and hour angle vary monotonically or have a single extremum within
a night, so visibility at both ends implies visibility throughout for the limits
used here (airmass, hour angle, night; the Moon moves < 0.3 deg in 30 min).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..telescopes import Telescope

__all__ = ["Blocks", "observing_blocks", "field_visibility", "altaz_astropy", "night_mask"]


@dataclass
class Blocks:
    """Time blocks of one telescope inside its nights.

    Attributes
    ----------
    start, end : numpy.ndarray
        Block edges as Unix times (s, UTC).
    """

    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def duration(self) -> np.ndarray:
        return self.end - self.start


def _times(unix: np.ndarray):
    from astropy.time import Time

    return Time(np.asarray(unix, float), format="unix", scale="utc")


def _sun_moon(tel: Telescope, unix: np.ndarray):
    from ..telescopes.ephemeris import sun_moon

    return sun_moon(tel.longitude, tel.latitude, tel.elevation, unix)


def _sun_altitude(tel: Telescope, unix: np.ndarray) -> np.ndarray:
    return _sun_moon(tel, unix).sun_altitude


def night_mask(tel: Telescope, unix) -> np.ndarray:
    """True where the Sun is below the telescope's night altitude."""
    return _sun_altitude(tel, np.atleast_1d(unix)) <= tel.sun_altitude


def observing_blocks(
    tel: Telescope,
    start: dt.datetime,
    end: dt.datetime,
    block_minutes: float = 30.0,
    unavailable: list[tuple[dt.datetime, dt.datetime]] | None = None,
    resolution: float = 120.0,
) -> Blocks:
    """Split the telescope's night time in ``[start, end]`` into blocks.

    Parameters
    ----------
    tel : Telescope
    start, end : datetime.datetime
        Window (UTC, timezone-aware or naive UTC).
    block_minutes : float
        Block length (min); each night is cut into blocks of this length from its
        start (the last one shorter).
    unavailable : list of (datetime, datetime), optional
        Periods when the telescope cannot be used (weather, other programs).
    resolution : float
        Sampling of the Sun's altitude (s) to find twilight.
    """
    t0, t1 = _unix(start), _unix(end)
    if t1 <= t0:
        raise ValueError("the planning window must end after it starts")
    grid = np.arange(t0, t1 + resolution, resolution)
    grid[-1] = min(grid[-1], t1)
    dark = night_mask(tel, grid)
    if unavailable:
        for a, b in unavailable:
            dark &= ~((grid >= _unix(a)) & (grid <= _unix(b)))
    starts, ends = [], []
    edges = np.flatnonzero(np.diff(np.r_[0, dark.astype(int), 0]))
    length = block_minutes * 60.0
    for i0, i1 in zip(edges[::2], edges[1::2], strict=True):
        a, b = grid[i0], grid[i1 - 1]
        e = np.append(np.arange(a, b, length), b)
        for s, t in zip(e[:-1], e[1:], strict=True):
            if t - s >= 60.0:
                starts.append(s)
                ends.append(t)
    return Blocks(np.array(starts, float), np.array(ends, float))


def _unix(t: dt.datetime) -> float:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def field_visibility(tel: Telescope, ra, dec, unix, moon: bool = True) -> np.ndarray:
    """Whether each field is observable at each time (Sun excluded).

    Parameters
    ----------
    tel : Telescope
    ra, dec : array_like
        Field centres, ICRS (deg).
    unix : array_like
        Times (Unix s, UTC).
    moon : bool
        Also keep ``tel.moon_distance`` from the Moon (False: altitude and hour
        angle only, a cheaper first pass).

    Returns
    -------
    numpy.ndarray of bool, shape (n_fields, n_times)
        Airmass below ``tel.airmass_limit``, hour angle inside
        ``tel.hour_angle_limits`` (if any), Moon further than ``tel.moon_distance``.
    """
    from astropy import units as u
    from astropy.coordinates import TETE, SkyCoord

    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    unix = np.atleast_1d(np.asarray(unix, float))
    if ra.size == 0 or unix.size == 0:
        return np.zeros((ra.size, unix.size), bool)
    sm = _sun_moon(tel, unix)
    tmid = _times([np.median(unix)])[0]
    app = SkyCoord(ra * u.deg, dec * u.deg).transform_to(TETE(obstime=tmid))
    a = np.radians(app.ra.deg)[:, None]
    d = np.radians(app.dec.deg)[:, None]
    lst = sm.lst[None, :]
    ha = lst - a
    lat = np.radians(tel.latitude)
    sin_alt = np.sin(lat) * np.sin(d) + np.cos(lat) * np.cos(d) * np.cos(ha)
    alt_min = np.arcsin(1.0 / tel.airmass_limit)
    ok = sin_alt >= np.sin(alt_min)
    if tel.hour_angle_limits is not None:
        ha_h = (np.degrees(ha) / 15.0 + 12.0) % 24.0 - 12.0
        ok &= (ha_h >= tel.hour_angle_limits[0]) & (ha_h <= tel.hour_angle_limits[1])
    if moon and tel.moon_distance > 0:
        ma = sm.moon_ra[None, :]
        md = sm.moon_dec[None, :]
        cos_sep = np.sin(d) * np.sin(md) + np.cos(d) * np.cos(md) * np.cos(a - ma)
        ok &= cos_sep <= np.cos(np.radians(tel.moon_distance))
    return ok


def altaz_astropy(tel: Telescope, ra, dec, unix) -> tuple[np.ndarray, np.ndarray]:
    """Altitude (deg) and Sun altitude (deg) from a full astropy AltAz transform.

    Slow but independent of :func:`field_visibility`; used to check plans.
    """
    from astropy import units as u
    from astropy.coordinates import AltAz, SkyCoord, get_sun

    t = _times(unix)
    frame = AltAz(obstime=t, location=tel.location)
    alt = SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg).transform_to(frame).alt.deg
    sun = get_sun(t).transform_to(frame).alt.deg
    return alt, sun
