"""Limiting magnitude of one exposure: the depth model shared by planner and simulator.

The 5σ point-source depth of an exposure, in AB magnitudes, for a telescope
and filter of the catalogue, as a vectorised function of exposure time,
airmass, the Moon (illuminated fraction, separation from the target, altitude),
the Sun (twilight) and, where it was measured, the sky brightness itself::

    m5 = m_dark + 1.25 log10(t / t_ref) − k (X − 1) + 0.5 (μ_sky − μ_dark)

* ``m_dark`` is the telescope's depth in the filter for an exposure of
  ``t_ref`` seconds at the zenith under a dark sky (no Moon, Sun below −18°):
  the per-telescope, per-filter zero point of the catalogue
  (``depth.zenith_dark`` in ``tooflow/telescopes/data/<name>.yaml``, each
  number citing where it comes from; docs/facilities.md, "Depth model").
* Background-limited photometry: the depth grows by 1.25 log10 of the exposure
  time ratio and drops by half the sky's brightening in magnitudes (the noise
  is the square root of the sky counts).
* ``k`` is the filter's extinction coefficient (mag per airmass).
* ``μ_sky`` is the sky at the target (mag/arcsec², AB): the measured value
  when given, else the dark sky at that airmass (brighter towards the horizon,
  ``X · 10^(−0.4 k (X − 1))``), plus scattered moonlight from the model of
  Krisciunas & Schaefer (1991, PASP 103, 1033; V band, moved to the filter
  with the Sun's colours), plus twilight between Sun altitudes −18° and −12°.

Sources of the constants: :data:`DARK_SKY` (zenith dark sky, AB) and
:data:`EXTINCTION` are typical values of a dark site — ugrizy from Ivezić et
al. (2019, ApJ 873, 111, Table 2, Cerro Pachón), J the Calar Alto measurement
(15.4 mag/arcsec² Vega, ``http://www.caha.es/aceitun/OCASS/sbm.html``) made AB
with J_AB − J_Vega = 0.91; :data:`SUN_COLOUR` (V − filter of sunlight, AB)
from the Sun's absolute magnitudes of Willmer (2018, ApJS 236, 47). A
telescope may override both per filter in its YAML (``depth.dark_sky``,
``depth.extinction``). The zero points are what is calibrated on real
depths: ZTF's on its own S190425z exposures (tests/test_telescopes_depth.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from tooflow.telescopes.dark_site import DARK_SKY, EXTINCTION

if TYPE_CHECKING:
    from tooflow.telescopes.catalogue import Telescope

__all__ = [
    "DARK_SKY",
    "EXTINCTION",
    "SUN_COLOUR",
    "TWILIGHT_SKY",
    "depth_from_zero_point",
    "limiting_magnitude",
    "moon_sky_brightness",
    "sky_brightness",
]

#: V − filter of sunlight (AB), for moonlight in other bands than V (Willmer 2018:
#: M_V = 4.81, g 5.11, r 4.65, i 4.53, z 4.50, y/Y 4.50, J 4.54; u 6.39).
SUN_COLOUR = {"u": -1.58, "g": -0.30, "r": 0.16, "i": 0.28, "z": 0.31, "y": 0.31, "Y": 0.31,
              "J": 0.27, "V": 0.0}

#: How much brighter than the dark zenith sky the sky is at Sun altitude −12°
#: (mag; it brightens linearly in magnitude from −18°): 1.5 mag, i.e. 0.75 mag
#: of depth, the simulator's earlier twilight term.
TWILIGHT_SKY = 1.5


def _nl_to_mag(b: np.ndarray) -> np.ndarray:
    """Krisciunas & Schaefer's nanoLambert → V mag/arcsec² (their eq. 1, inverted)."""
    return (20.7233 - np.log(np.maximum(b, 1e-300) / 34.08)) / 0.92104


def _ks_airmass(zenith_deg: np.ndarray) -> np.ndarray:
    """Krisciunas & Schaefer's airmass of a zenith distance (their eq. 3)."""
    s = np.sin(np.radians(np.clip(zenith_deg, 0.0, 90.0)))
    return 1.0 / np.sqrt(1.0 - 0.96 * s**2)


def moon_sky_brightness(filter_name: str, moon_illumination: ArrayLike,
                        moon_separation: ArrayLike, moon_altitude: ArrayLike,
                        airmass: ArrayLike, extinction: float | None = None) -> np.ndarray:
    """Sky brightness from scattered moonlight at a target (AB mag/arcsec²).

    The model of Krisciunas & Schaefer (1991, PASP 103, 1033), eqs. 15–21: the
    Moon's brightness from its phase angle, the Rayleigh + Mie scattering
    function of the Moon–target separation, extinction along both lines of
    sight. Computed in V and moved to ``filter_name`` with the Sun's colour
    (:data:`SUN_COLOUR`) and the filter's extinction coefficient. A Moon below
    the horizon gives ``inf`` (no light).

    Parameters
    ----------
    filter_name : str
        Filter name (``g``, ``r``, ``J``...).
    moon_illumination : array_like
        Illuminated fraction of the Moon, 0 (new) to 1 (full).
    moon_separation : array_like
        Moon–target angle, degrees.
    moon_altitude : array_like
        Altitude of the Moon, degrees.
    airmass : array_like
        Airmass of the target.
    extinction : float, optional
        Extinction coefficient; default :data:`EXTINCTION` of the filter.

    Returns
    -------
    numpy.ndarray
        Surface brightness of the moonlit sky alone, mag/arcsec² (AB).
    """
    k = EXTINCTION.get(filter_name, 0.12) if extinction is None else float(extinction)
    illum = np.clip(np.asarray(moon_illumination, float), 0.0, 1.0)
    # illuminated fraction = (1 + cos α) / 2, α the phase angle (0 at full Moon)
    alpha = np.degrees(np.arccos(2.0 * illum - 1.0))
    moon_mag = 3.84 + 0.026 * alpha + 4e-9 * alpha**4
    moon_mag = moon_mag - SUN_COLOUR.get(filter_name, 0.0)
    illuminance = 10.0 ** (-0.4 * moon_mag)
    rho = np.clip(np.asarray(moon_separation, float), 0.5, 180.0)
    mie = np.where(rho >= 10.0, 10.0 ** (6.15 - rho / 40.0), 6.2e7 / rho**2)
    scattering = 10.0**5.36 * (1.06 + np.cos(np.radians(rho)) ** 2) + mie
    alt = np.asarray(moon_altitude, float)
    x_moon = _ks_airmass(90.0 - alt)
    x = np.maximum(np.asarray(airmass, float), 1.0)
    b = scattering * illuminance * 10.0 ** (-0.4 * k * x_moon) * (1.0 - 10.0 ** (-0.4 * k * x))
    return np.where((alt > 0.0) & (illum > 0.0), _nl_to_mag(b), np.inf)


def _add_mag(*mags: np.ndarray) -> np.ndarray:
    flux = sum(np.where(np.isfinite(m), 10.0 ** (-0.4 * np.asarray(m, float)), 0.0)
               for m in mags)
    with np.errstate(divide="ignore"):
        return -2.5 * np.log10(flux)


def sky_brightness(filter_name: str, airmass: ArrayLike, *, moon_illumination: ArrayLike = 0.0,
                   moon_separation: ArrayLike = 180.0, moon_altitude: ArrayLike = -90.0,
                   sun_altitude: ArrayLike = -90.0, dark_sky: float | None = None,
                   extinction: float | None = None) -> np.ndarray:
    """Modelled sky brightness at a target (AB mag/arcsec²): dark sky, Moon, twilight.

    Parameters
    ----------
    filter_name : str
        Filter.
    airmass : array_like
        Airmass of the target.
    moon_illumination, moon_separation, moon_altitude : array_like
        See :func:`moon_sky_brightness`.
    sun_altitude : array_like
        Degrees; the sky brightens from −18° to −12° by up to :data:`TWILIGHT_SKY`.
    dark_sky, extinction : float, optional
        Zenith dark sky and extinction of the filter; defaults :data:`DARK_SKY`,
        :data:`EXTINCTION`.
    """
    k = EXTINCTION.get(filter_name, 0.12) if extinction is None else float(extinction)
    mu0 = DARK_SKY.get(filter_name, 21.0) if dark_sky is None else float(dark_sky)
    x = np.maximum(np.asarray(airmass, float), 1.0)
    dark = mu0 - 2.5 * np.log10(x) + k * (x - 1.0)
    frac = np.clip((np.asarray(sun_altitude, float) + 18.0) / 6.0, 0.0, 1.0)
    # twilight: the dark sky's flux times (10^(0.4·1.5·frac) − 1), nothing below −18°
    with np.errstate(divide="ignore"):
        twilight = np.where(frac > 0.0, mu0 - 2.5 * np.log10(
            np.maximum(10.0 ** (0.4 * TWILIGHT_SKY * frac) - 1.0, 1e-300)), np.inf)
    moon = moon_sky_brightness(filter_name, moon_illumination, moon_separation, moon_altitude,
                               x, extinction=k)
    return _add_mag(dark, moon, twilight)


_modelled_sky = sky_brightness


def limiting_magnitude(telescope: str | Telescope, filter_name: str,
                       exposure_time: ArrayLike, airmass: ArrayLike = 1.0, *,
                       moon_illumination: ArrayLike = 0.0, moon_separation: ArrayLike = 180.0,
                       moon_altitude: ArrayLike = -90.0, sun_altitude: ArrayLike = -90.0,
                       sky_brightness: ArrayLike | None = None) -> np.ndarray:
    """5σ limiting magnitude (AB) of exposures of one telescope in one filter.

    Every numeric argument may be an array; they broadcast together.

    Parameters
    ----------
    telescope : str or Telescope
        A catalogue telescope (``ZTF``, ``DECam``...) or its name.
    filter_name : str
        One of the telescope's filters with a zero point.
    exposure_time : array_like
        Seconds.
    airmass : array_like
        Airmass of the target (1 at the zenith).
    moon_illumination : array_like
        Illuminated fraction of the Moon (0–1).
    moon_separation : array_like
        Moon–target angle, degrees.
    moon_altitude : array_like
        Altitude of the Moon, degrees (below 0: no moonlight).
    sun_altitude : array_like
        Altitude of the Sun, degrees (twilight between −18° and −12°).
    sky_brightness : array_like, optional
        Measured sky at the target (AB mag/arcsec² in this filter); replaces
        the modelled sky (dark sky, Moon and twilight) where finite.

    Returns
    -------
    numpy.ndarray
        Depth in AB magnitudes (a 0-d array for scalar input; ``float()`` it).

    Raises
    ------
    KeyError
        When the telescope has no zero point for the filter, naming the ones it has.
    """
    from tooflow.telescopes.catalogue import Telescope, load_telescope

    tel = telescope if isinstance(telescope, Telescope) else load_telescope(telescope)
    return depth_from_zero_point(
        tel.zero_point(filter_name), tel.reference_exposure, filter_name, exposure_time,
        airmass, moon_illumination=moon_illumination, moon_separation=moon_separation,
        moon_altitude=moon_altitude, sun_altitude=sun_altitude, sky_brightness=sky_brightness,
        dark_sky=tel.dark_sky(filter_name), extinction=tel.extinction(filter_name))


def depth_from_zero_point(zero_point: float, reference_exposure: float, filter_name: str,
                          exposure_time: ArrayLike, airmass: ArrayLike = 1.0, *,
                          moon_illumination: ArrayLike = 0.0, moon_separation: ArrayLike = 180.0,
                          moon_altitude: ArrayLike = -90.0, sun_altitude: ArrayLike = -90.0,
                          sky_brightness: ArrayLike | None = None, dark_sky: float | None = None,
                          extinction: float | None = None) -> np.ndarray:
    """The model of :func:`limiting_magnitude` for an explicit zero point.

    For a telescope outside the catalogue, or one whose zero point a queue
    configuration overrides (the simulator's ``instrument.depth``).

    Parameters
    ----------
    zero_point : float
        5σ AB depth of ``reference_exposure`` seconds at the zenith, dark sky.
    reference_exposure : float
        Seconds.
    filter_name, exposure_time, airmass, moon_illumination, moon_separation, \
moon_altitude, sun_altitude, sky_brightness
        As :func:`limiting_magnitude`.
    dark_sky, extinction : float, optional
        Zenith dark sky (AB mag/arcsec²) and extinction (mag/airmass) of the
        filter at the site; defaults :data:`DARK_SKY`, :data:`EXTINCTION`.
    """
    k = EXTINCTION.get(filter_name, 0.12) if extinction is None else float(extinction)
    mu0 = DARK_SKY.get(filter_name, 21.0) if dark_sky is None else float(dark_sky)
    t = np.asarray(exposure_time, float)
    if np.any(t <= 0):
        raise ValueError("exposure_time must be positive")
    x = np.maximum(np.asarray(airmass, float), 1.0)
    sky = _modelled_sky(
        filter_name, x, moon_illumination=moon_illumination, moon_separation=moon_separation,
        moon_altitude=moon_altitude, sun_altitude=sun_altitude, dark_sky=mu0, extinction=k)
    if sky_brightness is not None:
        measured = np.asarray(sky_brightness, float)
        sky = np.where(np.isfinite(measured), measured, sky)
    return (float(zero_point) + 1.25 * np.log10(t / float(reference_exposure))
            - k * (x - 1.0) + 0.5 * (sky - mu0))
