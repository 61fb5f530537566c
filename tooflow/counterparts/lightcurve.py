"""Absolute-magnitude light curves per band, with a spread, seen from any distance.

A :class:`LightCurveModel` holds, per band, the mean absolute AB magnitude at a
set of times since the merger (days) and a Gaussian spread ``σ`` (mag) of the
population around it: a counterpart of the population is the mean curve shifted
by one offset ``δ ~ N(0, σ)`` in every band and at every time (brighter or
fainter as a whole). Between tabulated times the curve is linear in
``log10(t)`` (a power law in flux); before the first time it stays at the first
magnitude; after the last it continues the decline of the last three days,
linear in time.

Its apparent magnitude at luminosity distance ``d`` is ``M(t) + 5 log10(d / 10 pc)
+ δ`` (no K-correction: tooflow's GW horizons are below z ≈ 0.1, where it is a
few hundredths of a magnitude for a kilonova, far below ``σ``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from .bands import Band, band_for
from .distance import distance_modulus, distance_modulus_cdf

__all__ = ["LightCurveModel", "Counterpart", "days_since"]


def days_since(t) -> np.ndarray:
    """Time since the merger in days, from days (float/array) or ``timedelta``.

    Parameters
    ----------
    t : float, array_like, datetime.timedelta or astropy Quantity
    """
    if isinstance(t, dt.timedelta):
        return np.asarray(t.total_seconds() / 86400.0)
    if hasattr(t, "to_value") and hasattr(t, "unit"):
        return np.asarray(t.to_value("day"), float)
    return np.asarray(t, float)


@dataclass
class LightCurveModel:
    """Mean absolute magnitude versus time per band, with a population spread.

    Attributes
    ----------
    name : str
        ``kilonova``, ``afterglow`` …
    times : dict of str to numpy.ndarray
        Per band name, increasing times since the merger (days).
    magnitudes : dict of str to numpy.ndarray
        Per band name, mean absolute AB magnitude at those times.
    spread : float
        Gaussian σ (mag) of the population around the mean curve.
    description : str
        Where the curve comes from (shown in plans and circulars).
    """

    name: str
    times: dict[str, np.ndarray]
    magnitudes: dict[str, np.ndarray]
    spread: float = 1.0
    description: str = ""
    _tail: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.spread < 0 or not np.isfinite(self.spread):
            raise ValueError(f"spread must be a finite magnitude ≥ 0, not {self.spread!r}")
        for b, t in self.times.items():
            t = np.asarray(t, float)
            m = np.asarray(self.magnitudes[b], float)
            if len(t) < 2 or np.any(np.diff(t) <= 0) or np.any(t <= 0):
                raise ValueError(f"{self.name}: band {b} needs ≥ 2 increasing positive times")
            self.times[b], self.magnitudes[b] = t, m
            late = t >= t[-1] - 3.0
            if late.sum() >= 2:
                slope = np.polyfit(t[late], m[late], 1)[0]
            else:
                slope = (m[-1] - m[-2]) / (t[-1] - t[-2])
            self._tail[b] = max(float(slope), 0.0)  # never re-brightens past the data

    @property
    def span_days(self) -> float:
        """The latest time since the merger (days) the model's curves are tabulated at."""
        return max(float(t[-1]) for t in self.times.values())

    @property
    def bands(self) -> list[str]:
        """Band names with a light curve."""
        return list(self.times)

    def band(self, filter_name: str) -> Band:
        """The model band of a telescope filter (``ValueError`` when it has no curve)."""
        b = band_for(filter_name)
        if b.name not in self.times:
            raise ValueError(
                f"{self.name} model has no light curve in band {b.name} "
                f"(filter {filter_name!r}); bands: {', '.join(self.bands)}"
            )
        return b

    def absolute_magnitude(self, filter_name: str, t) -> np.ndarray:
        """Mean absolute AB magnitude in ``filter_name`` at ``t`` days after the merger.

        Parameters
        ----------
        filter_name : str
            Telescope filter (``g``, ``ztfr``, ``J`` …), see :func:`.band_for`.
        t : float, array_like or datetime.timedelta
            Time since the merger.
        """
        b = self.band(filter_name).name
        tt = np.maximum(days_since(t), 1e-6)
        ts, ms = self.times[b], self.magnitudes[b]
        out = np.interp(np.log10(tt), np.log10(ts), ms)
        late = tt > ts[-1]
        if np.any(late):
            out = np.where(late, ms[-1] + self._tail[b] * (tt - ts[-1]), out)
        return out

    def apparent_magnitude(self, filter_name: str, t, distance_mpc, offset: float = 0.0):
        """Apparent AB magnitude at luminosity distance ``distance_mpc`` (Mpc).

        ``offset`` shifts the mean curve (a member of the population: ``δ`` mag);
        arrays broadcast.

        Examples
        --------
        >>> from tooflow.counterparts import kilonova
        >>> round(float(kilonova().apparent_magnitude("r", 1.0, 40.0)), 1)
        17.3
        """
        return self.absolute_magnitude(filter_name, t) + distance_modulus(distance_mpc) + offset

    def detection_probability(self, filter_name: str, t, limiting_magnitude, distance_mpc):
        """Probability that a member of the population is brighter than the limit.

        At a known distance: ``Φ((m_lim − m̄) / σ)``; a step when ``σ = 0``.
        """
        depth = np.asarray(limiting_magnitude, float) - self.apparent_magnitude(
            filter_name, t, distance_mpc)
        if self.spread == 0:
            return (depth >= 0).astype(float)
        return ndtr(depth / self.spread)

    def detection_probability_3d(self, filter_name: str, t, limiting_magnitude,
                                 distmu, distsigma, distnorm) -> np.ndarray:
        """Detection probability at sky positions with a distance posterior.

        The distance posterior of each position is ligo.skymap's ansatz
        (``DISTMU``, ``DISTSIGMA``, ``DISTNORM`` of a 3D sky map);
        see :func:`.distance_modulus_cdf`.

        Parameters
        ----------
        filter_name : str
        t : float or array_like
            Days since the merger.
        limiting_magnitude : float or array_like
        distmu, distsigma, distnorm : array_like
            Per position (broadcast with the limiting magnitude).
        """
        depth = np.asarray(limiting_magnitude, float) - self.absolute_magnitude(filter_name, t)
        return distance_modulus_cdf(depth, distmu, distsigma, distnorm, self.spread)

    def draw(self, rng: np.random.Generator | int | None = None) -> Counterpart:
        """One member of the population (its offset drawn from ``N(0, spread)``)."""
        rng = np.random.default_rng(rng)
        return Counterpart(self, float(rng.normal(0.0, self.spread)) if self.spread else 0.0)


@dataclass(frozen=True)
class Counterpart:
    """One counterpart: the model's mean curve shifted by ``offset`` mag."""

    model: LightCurveModel
    offset: float = 0.0

    def absolute_magnitude(self, filter_name: str, t) -> np.ndarray:
        """Absolute AB magnitude at ``t`` days after the merger."""
        return self.model.absolute_magnitude(filter_name, t) + self.offset

    def apparent_magnitude(self, filter_name: str, t, distance_mpc) -> np.ndarray:
        """Apparent AB magnitude at ``t`` days after the merger and ``distance_mpc`` Mpc."""
        return self.model.apparent_magnitude(filter_name, t, distance_mpc, self.offset)

    def detected(self, filter_name: str, t, distance_mpc, limiting_magnitude) -> np.ndarray:
        """Whether it is at least as bright as the limiting magnitude."""
        return self.apparent_magnitude(filter_name, t, distance_mpc) <= np.asarray(
            limiting_magnitude, float)

