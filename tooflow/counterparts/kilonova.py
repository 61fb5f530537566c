"""Kilonova model: AT2017gfo's measured light curve, per band, as absolute magnitudes.

The photometry of AT2017gfo (SkyPortal's compilation, ``data/AT2017gfo_optical.csv``,
PS1 grizy, 2MASS JHKs) is turned into absolute AB magnitudes: times since
GW170817 (2017-08-17 12:41:04 UTC), the Milky Way's E(B−V)_SFD = 0.105 toward
NGC 4993 removed (Schlafly & Finkbeiner 2011 coefficients, :mod:`.bands`), at
40 Mpc (distance modulus 33.01). Points of one band less than 0.1 d apart are
averaged; non-detections (no flux) are left out.

The population around AT2017gfo is a Gaussian in magnitude of configurable ``spread``
(default 1 mag: the range of kilonova brightness allowed by the post-GW170817
searches and by ejecta-mass models spans a few magnitudes).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

from .bands import BANDS
from .distance import distance_modulus
from .lightcurve import LightCurveModel

__all__ = ["kilonova", "at2017gfo_photometry", "GW170817_MJD", "NGC4993_DISTANCE_MPC",
           "NGC4993_EBV"]

#: GW170817 merger time, 2017-08-17 12:41:04 UTC, as MJD (UTC).
GW170817_MJD = 57982.0 + (12 * 3600 + 41 * 60 + 4) / 86400.0
#: Distance of NGC 4993 used for AT2017gfo (Mpc).
NGC4993_DISTANCE_MPC = 40.0
#: Milky Way reddening toward NGC 4993 (Schlegel, Finkbeiner & Davis 1998 map).
NGC4993_EBV = 0.105
#: Points of a band closer in time than this (days) are averaged.
_MERGE_DAYS = 0.1


def at2017gfo_photometry() -> list[dict]:
    """Rows of the packaged AT2017gfo photometry (filter, mjd, flux µJy, zp, magsys, fluxerr).

    A row without a flux (a non-detection) has ``flux`` NaN.
    """
    text = resources.files("tooflow.counterparts").joinpath(
        "data/AT2017gfo_optical.csv").read_text()
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append({"filter": row["filter"], "mjd": float(row["mjd"]),
                     "flux": float(row["flux"]) if row["flux"].strip() else float("nan"),
                     "zp": float(row["zp"]),
                     "magsys": row["magsys"], "fluxerr": float(row["fluxerr"])})
    return rows


@lru_cache(maxsize=1)
def _absolute_tables() -> tuple[dict, dict]:
    rows = at2017gfo_photometry()
    dm = float(distance_modulus(NGC4993_DISTANCE_MPC))
    times, mags = {}, {}
    for band in BANDS.values():
        pts = sorted((r["mjd"] - GW170817_MJD, r["zp"] - 2.5 * np.log10(r["flux"]))
                     for r in rows if r["filter"] == band.at2017gfo and r["flux"] > 0
                     and r["magsys"].lower() == "ab")
        if len(pts) < 2:
            continue  # sdssu: one detection, no light curve
        t = np.array([p[0] for p in pts])
        m = np.array([p[1] for p in pts])
        groups = np.cumsum(np.r_[True, np.diff(t) >= _MERGE_DAYS]) - 1
        n = groups.max() + 1
        t = np.bincount(groups, weights=t, minlength=n) / np.bincount(groups, minlength=n)
        m = np.bincount(groups, weights=m, minlength=n) / np.bincount(groups, minlength=n)
        times[band.name] = t
        mags[band.name] = m - band.extinction * NGC4993_EBV - dm
    return times, mags


def kilonova(spread: float = 1.0) -> LightCurveModel:
    """AT2017gfo-like kilonova population.

    Parameters
    ----------
    spread : float
        Gaussian σ (mag) of the population's brightness around AT2017gfo.

    Examples
    --------
    >>> m = kilonova(spread=0.5)
    >>> m.bands
    ['g', 'r', 'i', 'z', 'y', 'J', 'H', 'Ks']
    >>> round(float(m.absolute_magnitude("r", 1.0)), 1)
    -15.7
    """
    times, mags = _absolute_tables()
    return LightCurveModel(
        name="kilonova",
        times={b: t.copy() for b, t in times.items()},
        magnitudes={b: m.copy() for b, m in mags.items()},
        spread=float(spread),
        description=(f"AT2017gfo-like kilonova (GW170817 photometry at 40 Mpc, "
                     f"dereddened), spread σ = {spread:g} mag"),
    )
