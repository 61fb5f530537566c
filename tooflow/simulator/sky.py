"""What the simulated telescope can see, and under which sky.

Visibility is computed with astropy (``AltAz`` for the site of the request) on
a regular time grid: a target is observable at a grid time when the Sun is
below −12° (nautical twilight) and the target's airmass is below the queue's
limit. The grid also holds what the depth of an exposure depends on (Sun and
Moon altitudes, Moon illumination, Moon–target separation); the depth itself is
the catalogue's model, :func:`tooflow.telescopes.depth.limiting_magnitude`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "SUN_ALTITUDE_LIMIT",
    "VisibilityGrid",
    "configure_astropy_offline",
    "visibility_grids",
]

#: The Sun must be below this altitude (degrees) for observing: nautical twilight.
SUN_ALTITUDE_LIMIT = -12.0

def configure_astropy_offline() -> None:
    """Never download IERS tables; accept degraded accuracy for recent dates.

    A simulated observatory needs no sub-second Earth orientation, so this is
    always offline (``tooflow.iers.configure_iers(offline=True)``).
    """
    from tooflow.iers import configure_iers

    configure_iers(offline=True)


@dataclass
class VisibilityGrid:
    """Observability of one target on a regular time grid.

    Attributes
    ----------
    start : datetime.datetime
        Time of the first grid point, UTC.
    step : float
        Grid spacing, seconds.
    airmass : numpy.ndarray
        Airmass at each grid point (``inf`` below the horizon).
    sun_altitude : numpy.ndarray
        Sun altitude at each grid point, degrees.
    moon_altitude : numpy.ndarray
        Moon altitude at each grid point, degrees.
    moon_illumination : numpy.ndarray
        Illuminated fraction of the Moon (0–1).
    moon_separation : numpy.ndarray
        Angle between the Moon and the target, degrees.
    visible : numpy.ndarray of bool
        Observable at each grid point.
    sun_limit : float
        The Sun must be below this altitude (degrees) for observing.
    """

    start: dt.datetime
    step: float
    airmass: np.ndarray
    sun_altitude: np.ndarray
    moon_altitude: np.ndarray
    moon_illumination: np.ndarray
    moon_separation: np.ndarray
    visible: np.ndarray
    sun_limit: float = SUN_ALTITUDE_LIMIT

    def _index(self, t: dt.datetime) -> float:
        return (t - self.start).total_seconds() / self.step

    def visible_at(self, t: dt.datetime) -> bool:
        """Observable at time ``t`` (value of the grid point at or before ``t``)."""
        i = math.floor(self._index(t) + 1e-9)
        return 0 <= i < len(self.visible) and bool(self.visible[i])

    def next_visible(self, t: dt.datetime) -> dt.datetime | None:
        """First grid time at or after ``t`` when observable, None if never on the grid."""
        i = max(0, math.ceil(self._index(t) - 1e-9))
        hits = np.flatnonzero(self.visible[i:])
        if hits.size == 0:
            return None
        return self.start + dt.timedelta(seconds=float((i + hits[0]) * self.step))

    def conditions_at(self, t: dt.datetime) -> dict[str, float]:
        """Airmass, Sun and Moon altitudes (deg), Moon illumination and Moon–target
        separation (deg) at the grid point at or before ``t``."""
        i = min(max(math.floor(self._index(t) + 1e-9), 0), len(self.visible) - 1)
        return {"airmass": float(self.airmass[i]), "sun_altitude": float(self.sun_altitude[i]),
                "moon_altitude": float(self.moon_altitude[i]),
                "moon_illumination": float(self.moon_illumination[i]),
                "moon_separation": float(self.moon_separation[i])}

    @property
    def best_airmass(self) -> float:
        """Lowest airmass reached at night on the grid (``inf`` if never up at night)."""
        night = self.sun_altitude < self.sun_limit
        return float(self.airmass[night].min()) if night.any() else math.inf


@lru_cache(maxsize=64)
def _sun_and_moon(lat: float, lon: float, elevation: float, start_iso: str, step: float,
                  n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from astropy import units as u
    from astropy.coordinates import AltAz, EarthLocation, get_body
    from astropy.time import Time

    location = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, elevation * u.m)
    times = Time(start_iso, scale="utc") + np.arange(n) * step * u.s
    frame = AltAz(obstime=times, location=location)
    sun = get_body("sun", times, location)
    moon = get_body("moon", times, location)
    sun_alt = sun.transform_to(frame).alt.deg
    moon_altaz = moon.transform_to(frame)
    moon_alt, moon_az = moon_altaz.alt.deg, moon_altaz.az.deg
    illumination = (1.0 - np.cos(sun.separation(moon).rad)) / 2.0
    for a in (sun_alt, moon_alt, moon_az, illumination):
        a.flags.writeable = False
    return sun_alt, moon_alt, moon_az, illumination


def visibility_grids(ra: np.ndarray, dec: np.ndarray, *, lat: float, lon: float,
                     elevation: float, start: dt.datetime, end: dt.datetime,
                     airmass_limit: float, step: float = 300.0,
                     sun_altitude_limit: float = SUN_ALTITUDE_LIMIT, moon_distance: float = 0.0,
                     hour_angle_limits: tuple[float, float] | None = None,
                     ) -> list[VisibilityGrid]:
    """Visibility of several targets from one site over one window.

    Parameters
    ----------
    ra, dec : array_like
        Target positions, degrees ICRS.
    lat, lon, elevation : float
        Site: degrees, degrees east, metres.
    start, end : datetime.datetime
        Window, UTC, timezone-aware.
    airmass_limit : float
        Largest acceptable airmass.
    step : float
        Grid spacing, seconds.
    sun_altitude_limit : float
        The Sun must be below this altitude, degrees.
    moon_distance : float
        Least Moon–target angle, degrees (0: none).
    hour_angle_limits : (float, float), optional
        Allowed hour angles, hours (DECam: −5…+5).

    The limits are the telescope catalogue's (:mod:`tooflow.telescopes`), the
    same the planner plans with.

    Returns
    -------
    list of VisibilityGrid
        One per target, in input order.
    """
    from astropy import units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time

    configure_astropy_offline()
    ra = np.atleast_1d(np.asarray(ra, dtype=float))
    dec = np.atleast_1d(np.asarray(dec, dtype=float))
    n = max(1, math.ceil((end - start).total_seconds() / step))
    start_iso = start.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    sun_alt, moon_alt, moon_az, illumination = _sun_and_moon(lat, lon, elevation, start_iso,
                                                             step, n)
    location = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, elevation * u.m)
    times = Time(start_iso, scale="utc") + np.arange(n) * step * u.s
    coords = SkyCoord(ra[:, None] * u.deg, dec[:, None] * u.deg)
    altaz = coords.transform_to(AltAz(obstime=times[None, :], location=location))
    alt, az = altaz.alt.deg, altaz.az.deg
    # Moon–target angle from both horizontal positions (spherical law of cosines).
    a1, a2 = np.radians(alt), np.radians(moon_alt)[None, :]
    cos_sep = (np.sin(a1) * np.sin(a2)
               + np.cos(a1) * np.cos(a2) * np.cos(np.radians(az - moon_az[None, :])))
    moon_sep = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        airmass = np.where(alt > 0, 1.0 / np.sin(np.radians(np.maximum(alt, 1e-6))), np.inf)
    night = sun_alt < sun_altitude_limit
    ok = (airmass <= airmass_limit) & night[None, :]
    if moon_distance > 0:
        ok &= moon_sep >= moon_distance  # up or not, as the planner counts it
    if hour_angle_limits is not None:
        # hour angle from the horizontal position (azimuth from north through east)
        lat_r, alt_r, az_r = np.radians(lat), np.radians(alt), np.radians(az)
        ha = np.degrees(np.arctan2(-np.sin(az_r) * np.cos(alt_r),
                                   np.cos(lat_r) * np.sin(alt_r)
                                   - np.sin(lat_r) * np.cos(alt_r) * np.cos(az_r))) / 15.0
        ok &= (ha >= hour_angle_limits[0]) & (ha <= hour_angle_limits[1])
    return [VisibilityGrid(start=start, step=step, airmass=airmass[k],
                           sun_altitude=sun_alt, moon_altitude=moon_alt,
                           moon_illumination=illumination, moon_separation=moon_sep[k],
                           visible=ok[k], sun_limit=sun_altitude_limit)
            for k in range(len(ra))]
