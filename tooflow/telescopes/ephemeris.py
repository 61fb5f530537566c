"""Sun, Moon and sidereal time at a site, computed once per day and interpolated.

astropy's Sun and Moon cost about a millisecond *per time* (``erfa.epv00``,
the frame transforms), and the planner asks for them at thousands of times, for
every telescope, several times per notice (twilight every 2 minutes over the
window, visibility at every block edge, a 14-day look-ahead). Here they are
computed once, geocentrically, on an hourly grid of whole UTC days, kept in a
small process-wide cache, and interpolated:

* Greenwich apparent sidereal time: astropy at the knots, linear between them
  (it advances uniformly to well under an arcsecond per hour);
* the Sun's direction and the Moon's geocentric position vector (km), both in
  the true equator and equinox of date (TETE, astropy's ``get_body``): linear
  between the knots (as vectors, so nothing wraps at 0/360°);
* per site, plain trigonometry: the local apparent sidereal time, the Sun's
  altitude, the Moon's *topocentric* position (the observer's geocentric
  position subtracted: up to 1° of parallax), its altitude and illuminated
  fraction.

Polar motion, refraction and diurnal aberration are ignored. Checked against
astropy's full ``AltAz`` transforms (tests/test_ephemeris.py, four catalogue
sites over two weeks): Sun and Moon altitudes, Moon separation and local
sidereal time agree within :data:`TOLERANCE_DEG`, the illuminated fraction
within 0.002 — far inside the limits they decide (Sun below −12/−18°, Moon ≥
10–30° away, airmass ≤ 2–2.5).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["SunMoon", "TOLERANCE_DEG", "clear_cache", "sun_moon"]

#: Largest difference from astropy's full transforms (deg) that the tests accept
#: for the Sun's and the Moon's altitude, the Moon's separation from a target and
#: the local sidereal time.
TOLERANCE_DEG = 0.01

_STEP = 3600.0  # s between knots
_PER_DAY = 24
_DAY = _STEP * _PER_DAY
_MAX_DAYS = 512  # cached days (a few kB each)

_cache: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class SunMoon:
    """Sun and Moon seen from one site at given times (1-d arrays, one per time).

    Attributes
    ----------
    lst : numpy.ndarray
        Local apparent sidereal time (rad).
    sun_altitude : numpy.ndarray
        Degrees (geometric: no refraction).
    moon_ra, moon_dec : numpy.ndarray
        The Moon's topocentric apparent place, TETE (rad).
    moon_altitude : numpy.ndarray
        Degrees.
    moon_illumination : numpy.ndarray
        Illuminated fraction, ``(1 − cos elongation) / 2`` (0 new, 1 full).
    """

    lst: np.ndarray
    sun_altitude: np.ndarray
    moon_ra: np.ndarray
    moon_dec: np.ndarray
    moon_altitude: np.ndarray
    moon_illumination: np.ndarray


def clear_cache() -> None:
    """Forget the cached days (the next call recomputes them with astropy)."""
    with _lock:
        _cache.clear()


def _compute_days(days: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """GAST (rad), Sun direction and Moon vector (km), TETE, at each day's hourly knots."""
    from astropy import units as u
    from astropy.coordinates import TETE, get_body
    from astropy.time import Time

    from tooflow.iers import ensure_iers

    ensure_iers()
    knots = np.concatenate([d * _DAY + np.arange(_PER_DAY) * _STEP for d in days])
    t = Time(knots, format="unix", scale="utc")
    gast = t.sidereal_time("apparent", longitude=0.0 * u.deg).rad
    frame = TETE(obstime=t)
    sun = get_body("sun", t).transform_to(frame).cartesian.xyz.to_value(u.km).T
    sun = sun / np.linalg.norm(sun, axis=1, keepdims=True)
    moon = get_body("moon", t).transform_to(frame).cartesian.xyz.to_value(u.km).T
    out = {}
    for i, d in enumerate(days):
        part = slice(i * _PER_DAY, (i + 1) * _PER_DAY)
        arrays = (gast[part].copy(), sun[part].copy(), moon[part].copy())
        for a in arrays:
            a.flags.writeable = False
        out[d] = arrays
    return out


def _knots(h0: int, h1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Knot times and values for hours ``h0 … h1`` (inclusive), from the cache."""
    days = list(range(h0 // _PER_DAY, h1 // _PER_DAY + 1))
    with _lock:
        missing = [d for d in days if d not in _cache]
    if missing:
        computed = _compute_days(missing)
        with _lock:
            _cache.update(computed)
    with _lock:
        chunks = []
        for d in days:
            chunks.append(_cache[d])
            _cache.move_to_end(d)
        while len(_cache) > max(_MAX_DAYS, len(days)):
            _cache.popitem(last=False)
    gast = np.concatenate([c[0] for c in chunks])
    sun = np.concatenate([c[1] for c in chunks])
    moon = np.concatenate([c[2] for c in chunks])
    first = h0 - days[0] * _PER_DAY
    sel = slice(first, first + (h1 - h0) + 1)
    times = np.arange(h0, h1 + 1, dtype=float) * _STEP
    return times, np.unwrap(gast)[sel], sun[sel], moon[sel]


@lru_cache(maxsize=64)
def _observer_km(lon: float, lat: float, elevation: float) -> tuple[float, float]:
    """The site's distance from the Earth's axis and height above the equator (km)."""
    from astropy import units as u
    from astropy.coordinates import EarthLocation

    loc = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, elevation * u.m)
    x, y, z = (v.to_value(u.km) for v in (loc.x, loc.y, loc.z))
    return float(np.hypot(x, y)), float(z)


def _altitude(lat: float, lst: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    sin_alt = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(lst - ra)
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))


def sun_moon(lon: float, lat: float, elevation: float, unix: ArrayLike) -> SunMoon:
    """Sun and Moon seen from a site at the given times.

    Parameters
    ----------
    lon, lat : float
        Geodetic east longitude and latitude (deg).
    elevation : float
        Metres above sea level.
    unix : array_like
        Times, Unix seconds (UTC), any order, 1-d.

    Returns
    -------
    SunMoon
        Arrays of the length of ``unix``.
    """
    unix = np.atleast_1d(np.asarray(unix, float))
    if unix.size == 0:
        e = np.zeros(0)
        return SunMoon(e, e, e, e, e, e)
    h0 = int(np.floor(unix.min() / _STEP))
    h1 = int(np.floor(unix.max() / _STEP)) + 1
    times, gast, sun, moon = _knots(h0, h1)

    def at(values: np.ndarray) -> np.ndarray:
        return np.interp(unix, times, values)

    lst = at(gast) + np.radians(lon)
    s = np.stack([at(sun[:, k]) for k in range(3)], axis=1)
    m = np.stack([at(moon[:, k]) for k in range(3)], axis=1)
    rho, z = _observer_km(lon, lat, elevation)
    m = m - np.stack([rho * np.cos(lst), rho * np.sin(lst), np.full(lst.shape, z)], axis=1)
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    phi = np.radians(lat)
    sun_ra, sun_dec = np.arctan2(s[:, 1], s[:, 0]), np.arcsin(np.clip(s[:, 2], -1, 1))
    moon_ra, moon_dec = np.arctan2(m[:, 1], m[:, 0]), np.arcsin(np.clip(m[:, 2], -1, 1))
    illumination = (1.0 - np.clip(np.sum(s * m, axis=1), -1.0, 1.0)) / 2.0
    return SunMoon(lst=lst, sun_altitude=_altitude(phi, lst, sun_ra, sun_dec),
                   moon_ra=moon_ra, moon_dec=moon_dec,
                   moon_altitude=_altitude(phi, lst, moon_ra, moon_dec),
                   moon_illumination=illumination)
