"""The detection probability of executed exposures (an observed plan), from their
reported limiting magnitudes."""

from __future__ import annotations

import datetime as dt

import numpy as np

from tooflow.counterparts import LightCurveModel
from tooflow.counterparts.distance import distance_modulus_cdf

from .inputs import DISTANCE_ORDER, distance_layers, resolve_model, unix_time


def observed_detection(moc, observations, model: LightCurveModel | str | dict | None,
                       event_time: dt.datetime, order: int = 8) -> dict[str, float] | None:
    """Fraction of the counterpart model's population that executed exposures could detect.

    Per telescope and for all together (key ``"network"``): each exposure
    (``ra``, ``dec``, ``filter``, ``obs_time``, ``exposure_time``,
    ``limiting_magnitude`` as reported) reaches a depth ``m_lim − M̄(t)`` at its
    middle; each sky pixel takes the best depth covering it; the fraction is
    ``Σ P_j F_j(depth_j)`` over the map's distance posterior. None for a map
    without distance layers.
    """
    from tooflow.telescopes import load_telescope

    from .. import coverage as cv

    layers = distance_layers(moc)
    if layers is None:
        return None
    model = resolve_model(model)
    grid = cv.probability_grid(moc, order=order)
    shift = 2 * max(order - DISTANCE_ORDER, 0)
    t0 = unix_time(event_time)
    best: dict[str, np.ndarray] = {}
    for o in observations:
        if o.limiting_magnitude is None or not np.isfinite(o.limiting_magnitude):
            continue
        try:
            tel = load_telescope(o.telescope)
            absolute = model.absolute_magnitude(o.filter, max(
                (unix_time(o.obs_time) + 0.5 * o.exposure_time - t0) / 86400.0, 1e-3))
        except (KeyError, ValueError):
            continue  # a telescope or filter the model does not know
        _, pix = cv.footprint_pixels(tel.footprint, [o.ra], [o.dec], order)
        arr = best.setdefault(o.telescope, np.full(len(grid.prob), -np.inf))
        arr[pix] = np.maximum(arr[pix], float(o.limiting_magnitude) - float(absolute))
    if not best:
        return {}
    best["network"] = np.max(np.vstack(list(best.values())), axis=0)
    mu, sigma, norm = layers
    out = {}
    for name, depth in best.items():
        hit = np.flatnonzero(np.isfinite(depth))
        c = hit >> shift
        f = distance_modulus_cdf(depth[hit], mu[c], sigma[c], norm[c], model.spread)
        out[name] = float((grid.prob[hit] * f).sum())
    return out
