"""GRB afterglow model: a structured-jet synchrotron afterglow computed by afterglowpy.

afterglowpy (Ryan et al. 2020, ApJ 896, 166; maintained on PyPI) computes the flux
density of a decelerating jet seen from any angle. tooflow evaluates it once per
band on a grid of times (0.01–30 d, log-spaced), at the band's effective
frequency, and keeps the result as absolute AB magnitudes: the same
:class:`~.lightcurve.LightCurveModel` as the kilonova, with a Gaussian spread in
magnitude standing for the population (energy and density vary by orders of
magnitude between bursts).

Default parameters are those of a typical short GRB seen on axis (Fong et al.
2015, ApJ 815, 102: median E_iso ≈ 10^51 erg, n ≈ 10^-2 cm^-3; θ_c ≈ 0.1 rad;
p = 2.2, ε_e = 0.1, ε_B = 0.01).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .bands import BANDS
from .lightcurve import LightCurveModel

__all__ = ["afterglow"]

#: 10 pc in cm: afterglowpy's flux is evaluated there (z = 0), so magnitudes are absolute.
_TEN_PC_CM = 3.0856775814913673e19
_T_DAYS = np.geomspace(0.01, 30.0, 80)


@lru_cache(maxsize=16)
def _tables(e0: float, n0: float, theta_core: float, theta_obs: float, p: float,
            eps_e: float, eps_b: float) -> tuple[dict, dict]:
    import afterglowpy as grb

    params = {
        "jetType": grb.jet.Gaussian, "specType": grb.jet.SimpleSpec,
        "thetaObs": theta_obs, "E0": e0, "thetaCore": theta_core,
        "thetaWing": min(4.0 * theta_core, np.pi / 2), "n0": n0, "p": p,
        "epsilon_e": eps_e, "epsilon_B": eps_b, "xi_N": 1.0,
        "d_L": _TEN_PC_CM, "z": 0.0,
    }
    t_s = _T_DAYS * 86400.0
    times, mags = {}, {}
    for band in BANDS.values():
        f_mjy = np.asarray(grb.fluxDensity(t_s, np.full(len(t_s), band.frequency), **params))
        ok = f_mjy > 0
        if ok.sum() < 2:
            continue
        times[band.name] = _T_DAYS[ok]
        mags[band.name] = -2.5 * np.log10(f_mjy[ok] * 1e-3 / 3631.0)
    return times, mags


def afterglow(spread: float = 1.0, e0: float = 1e51, n0: float = 1e-2,
              theta_core: float = 0.1, theta_obs: float = 0.0, p: float = 2.2,
              eps_e: float = 0.1, eps_b: float = 0.01) -> LightCurveModel:
    """GRB afterglow population from afterglowpy (Gaussian jet).

    Parameters
    ----------
    spread : float
        Gaussian σ (mag) of the population around the computed curve.
    e0 : float
        Isotropic-equivalent energy of the jet core (erg).
    n0 : float
        Circumburst density (cm⁻³).
    theta_core, theta_obs : float
        Jet core half-opening angle and viewing angle (rad).
    p, eps_e, eps_b : float
        Electron index, energy fractions in electrons and magnetic field.

    Examples
    --------
    >>> m = afterglow()
    >>> bool(m.absolute_magnitude("r", 0.1) < m.absolute_magnitude("r", 1.0))
    True
    """
    times, mags = _tables(float(e0), float(n0), float(theta_core), float(theta_obs),
                          float(p), float(eps_e), float(eps_b))
    return LightCurveModel(
        name="afterglow",
        times={b: t.copy() for b, t in times.items()},
        magnitudes={b: m.copy() for b, m in mags.items()},
        spread=float(spread),
        description=(f"GRB afterglow (afterglowpy Gaussian jet, E0={e0:.0e} erg, "
                     f"n0={n0:g} cm^-3, θc={theta_core:g}, θobs={theta_obs:g}), "
                     f"spread σ = {spread:g} mag"),
    )
