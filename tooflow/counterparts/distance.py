"""Distance moduli and the distance posterior of a 3D sky map.

A GW sky map's distance layers describe, per sky position, ligo.skymap's
conditional distance ansatz ``p(r | n) = DISTNORM · r² · N(r; DISTMU, DISTSIGMA)``
(Singer et al. 2016). :func:`distance_modulus_cdf` integrates a counterpart's
detection over it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["distance_modulus", "distance_modulus_cdf", "sample_distance"]

#: Quadrature nodes in units of DISTSIGMA around DISTMU: the ansatz r² N(r; μ, σ)
#: peaks at (μ + sqrt(μ² + 8σ²)) / 2, at most ~1.7 σ above μ, so [-5, 8] σ holds it.
_X = np.linspace(-5.0, 8.0, 105)


def distance_modulus(distance_mpc) -> np.ndarray:
    """``5 log10(d / 10 pc)`` for a luminosity distance in Mpc."""
    d = np.asarray(distance_mpc, float)
    with np.errstate(divide="ignore"):
        return 5.0 * np.log10(d) + 25.0


def distance_modulus_cdf(depth, distmu, distsigma, distnorm=None, spread: float = 0.0):
    """Probability that ``DM(r) + δ ≤ depth``, r from the map's ansatz, δ ~ N(0, spread).

    ``depth`` is a limiting magnitude minus the counterpart's mean absolute
    magnitude: the largest distance modulus at which the mean counterpart is still
    detected. The result is the probability that the counterpart at that sky
    position is detected.

    Parameters
    ----------
    depth : array_like
        ``m_lim − M̄`` (mag), broadcast with the distance layers.
    distmu, distsigma : array_like
        Location and scale of the ansatz (Mpc) per position.
    distnorm : array_like, optional
        Unused except that positions with ``DISTNORM = 0`` or non-finite layers (no
        distance support) get 0; the quadrature is normalised itself.
    spread : float
        Gaussian σ (mag) of the counterpart population.

    Returns
    -------
    numpy.ndarray
        In [0, 1], the broadcast shape of the inputs.

    Examples
    --------
    >>> round(float(distance_modulus_cdf(33.0 + 5, 40.0, 1e-3)), 3)   # 40 Mpc, 5 mag spare
    1.0
    """
    depth, mu, sigma = np.broadcast_arrays(
        np.asarray(depth, float), np.asarray(distmu, float), np.asarray(distsigma, float))
    shape = depth.shape
    depth, mu, sigma = depth.ravel(), mu.ravel(), sigma.ravel()
    ok = np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0) & np.isfinite(depth)
    if distnorm is not None:
        norm = np.broadcast_to(np.asarray(distnorm, float), shape).ravel()
        ok &= np.isfinite(norm) & (norm > 0)
    out = np.zeros(depth.shape)
    if not ok.any():
        return out.reshape(shape)
    d, m, s = depth[ok], mu[ok], sigma[ok]
    res = np.empty(len(d))
    step = 20_000
    for a in range(0, len(d), step):
        sl = slice(a, a + step)
        r = m[sl, None] + s[sl, None] * _X[None, :]
        w = np.where(r > 0, r * r * np.exp(-0.5 * _X[None, :] ** 2), 0.0)
        total = w.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dm = np.where(r > 0, 5.0 * np.log10(np.maximum(r, 1e-300)) + 25.0, -np.inf)
            arg = (d[sl, None] - dm)
            if spread > 0:
                p = ndtr(arg / spread)
            else:
                p = (arg >= 0).astype(float)
            res[sl] = np.where(total > 0, (w * p).sum(axis=1) / np.where(total > 0, total, 1),
                               0.0)
    out[ok] = res
    return out.reshape(shape)


def sample_distance(distmu: float, distsigma: float, rng: np.random.Generator,
                    size: int | None = None) -> np.ndarray:
    """Draw distances (Mpc) from the ansatz ``r² N(r; μ, σ)``, r > 0.

    Rejection from the Gaussian proposal truncated to r > 0, with the acceptance
    ``(r / r_max)²`` on the finite support of the quadrature (μ + 8σ).
    """
    n = 1 if size is None else int(size)
    hi = distmu + 8.0 * distsigma
    if hi <= 0:
        raise ValueError(f"no positive distance support (DISTMU={distmu}, DISTSIGMA={distsigma})")
    out = np.empty(0)
    while len(out) < n:
        r = rng.normal(distmu, distsigma, size=4 * n + 16)
        r = r[(r > 0) & (r < hi)]
        keep = rng.random(len(r)) < (r / hi) ** 2
        out = np.concatenate([out, r[keep]])
    return out[0] if size is None else out[:n]
