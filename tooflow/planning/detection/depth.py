"""Depths of the detection objective: observing conditions (airmass, Moon, Sun) of
fields at times, limiting magnitudes and the depth ``m_lim − M̄(t)`` a row reaches
in each block."""

from __future__ import annotations

import numpy as np

from tooflow.counterparts import LightCurveModel

from ..strategy import visit_gap


def conditions(tel, ra, dec, unix, paired: bool = False) -> dict[str, np.ndarray]:
    """Airmass, Moon and Sun for fields at times (inputs of the depth model).

    Field altitudes come from the apparent sidereal time and apparent (TETE)
    coordinates with plain trigonometry (as :func:`.visibility.field_visibility`);
    the Sun, the Moon and the sidereal time from the per-day ephemeris cache
    (:func:`tooflow.telescopes.ephemeris.sun_moon`, within 0.01° of astropy's
    full transforms). Checked against
    :func:`tooflow.telescopes.conditions.observing_conditions` (astropy ``AltAz``
    per time) in tests/test_planning_conditions.py.

    Parameters
    ----------
    tel : Telescope
    ra, dec : array_like
        Field centres (deg).
    unix : array_like
        Times (Unix s).
    paired : bool
        False: every field at every time, arrays (fields × times). True: field i
        at time i, arrays of the fields' length.
    """
    from astropy import units as u
    from astropy.coordinates import TETE, SkyCoord
    from astropy.time import Time

    from tooflow.telescopes.ephemeris import sun_moon

    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    unix = np.atleast_1d(np.asarray(unix, float))
    shape = (len(ra),) if paired else (len(ra), len(unix))
    if ra.size == 0 or unix.size == 0:
        z = np.zeros(shape)
        return {"airmass": z + np.inf, "moon_illumination": z, "moon_separation": z + 180,
                "moon_altitude": z - 90, "sun_altitude": z - 90}
    tmid = Time([np.median(unix)], format="unix", scale="utc")[0]
    app = SkyCoord(ra * u.deg, dec * u.deg).transform_to(TETE(obstime=tmid))
    a, d = np.radians(app.ra.deg), np.radians(app.dec.deg)
    sm = sun_moon(tel.longitude, tel.latitude, tel.elevation, unix)
    lst, ma, md = sm.lst, sm.moon_ra, sm.moon_dec
    moon_alt, sun_alt, illum = sm.moon_altitude, sm.sun_altitude, sm.moon_illumination
    if not paired:
        a, d = a[:, None], d[:, None]
        lst, ma, md = lst[None, :], ma[None, :], md[None, :]
        moon_alt, sun_alt, illum = (np.broadcast_to(x[None, :], shape)
                                    for x in (moon_alt, sun_alt, illum))
    lat = np.radians(tel.latitude)
    sin_alt = np.sin(lat) * np.sin(d) + np.cos(lat) * np.cos(d) * np.cos(lst - a)
    with np.errstate(divide="ignore"):
        airmass = np.where(sin_alt > 1e-3, 1.0 / np.maximum(sin_alt, 1e-3), np.inf)
    cos_sep = np.sin(d) * np.sin(md) + np.cos(d) * np.cos(md) * np.cos(a - ma)
    return {"airmass": np.broadcast_to(airmass, shape),
            "moon_illumination": np.asarray(illum),
            "moon_separation": np.broadcast_to(np.degrees(np.arccos(np.clip(cos_sep, -1, 1))),
                                               shape),
            "moon_altitude": np.asarray(moon_alt), "sun_altitude": np.asarray(sun_alt)}


def limiting_magnitude(tel, filter_name: str, exposure_time, cond: dict) -> np.ndarray:
    """The catalogue's depth model (:func:`tooflow.telescopes.limiting_magnitude`) at ``cond``."""
    from tooflow.telescopes import limiting_magnitude as depth_model

    x = np.asarray(cond["airmass"], float)
    finite = np.isfinite(x)
    out = np.full(x.shape, -np.inf)
    if not finite.any():
        return out
    m = depth_model(tel.name, filter_name, np.broadcast_to(exposure_time, x.shape)[finite],
                    x[finite],
                    moon_illumination=np.asarray(cond["moon_illumination"])[finite],
                    moon_separation=np.asarray(cond["moon_separation"])[finite],
                    moon_altitude=np.asarray(cond["moon_altitude"])[finite],
                    sun_altitude=np.asarray(cond["sun_altitude"])[finite])
    out[finite] = m
    return out


def part_depths(part, model: LightCurveModel, event_time: float) -> np.ndarray:
    """Depth ``L = min over visits (m_lim − M̄(t))`` of each row first observed in each block.

    The first visit is taken at the block's end, visit ``v`` at ``v ×`` the visit
    gap later (:func:`visit_gap`), all at the conditions of the block's middle.
    Returns (rows × blocks), ``-inf`` where the row is not visible.
    """
    n, nb = len(part), len(part.blocks)
    out = np.full((n, nb), -np.inf)
    if n == 0 or nb == 0:
        return out
    keys = part.field_key if part.field_key is not None else np.arange(n)
    uniq, first = np.unique(keys, return_index=True)
    row_field = np.searchsorted(uniq, keys)
    mid = 0.5 * (part.blocks.start + part.blocks.end)
    cond = conditions(part.telescope, part.ra[first], part.dec[first], mid)
    texp = part.row_exposures()
    gap = visit_gap(part.strategy)
    total = np.full((n, nb), np.inf)
    for v, filt in enumerate(part.filters):
        t_days = (part.blocks.end + v * gap - event_time) / 86400.0
        absolute = np.where(t_days > 0, model.absolute_magnitude(filt, np.maximum(t_days, 1e-3)),
                            np.inf)
        for tau in np.unique(texp):
            rows = np.flatnonzero(texp == tau)
            mlim = limiting_magnitude(part.telescope, filt, float(tau), cond)
            total[rows] = np.minimum(total[rows], mlim[row_field[rows]] - absolute[None, :])
    return np.where(part.visible, total, -np.inf)
