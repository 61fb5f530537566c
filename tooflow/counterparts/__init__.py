"""Counterpart light-curve models: how bright a kilonova or afterglow is, when, and where.

One shape for every model, :class:`LightCurveModel`: mean absolute AB magnitude
per band versus time since the merger, plus a Gaussian population spread.

* :func:`kilonova`: AT2017gfo's measured photometry (GW170817), dereddened, at 40 Mpc;
* :func:`afterglow`: a GRB afterglow computed with afterglowpy.

The simulator injects counterparts with it and the planner's ``detection``
objective scores exposures with it::

    from tooflow.counterparts import counterpart_model
    model = counterpart_model("kilonova", spread=0.5)
    model.apparent_magnitude("r", 1.0, 100.0)        # filter, days, Mpc → mag
    source = model.draw(rng)                         # one member of the population
    source.apparent_magnitude("g", 0.5, 250.0)
    model.detection_probability_3d("r", 1.0, 20.4, DISTMU, DISTSIGMA, DISTNORM)
"""

from __future__ import annotations

from .afterglow import afterglow
from .bands import BANDS, Band, band_for
from .distance import distance_modulus, distance_modulus_cdf, sample_distance
from .kilonova import GW170817_MJD, at2017gfo_photometry, kilonova
from .lightcurve import Counterpart, LightCurveModel, days_since

__all__ = [
    "BANDS",
    "Band",
    "Counterpart",
    "GW170817_MJD",
    "LightCurveModel",
    "MODELS",
    "afterglow",
    "at2017gfo_photometry",
    "band_for",
    "counterpart_model",
    "days_since",
    "distance_modulus",
    "distance_modulus_cdf",
    "kilonova",
    "sample_distance",
]

#: Model names for configuration (``counterpart: kilonova``).
MODELS = {"kilonova": kilonova, "afterglow": afterglow}


def counterpart_model(name: str = "kilonova", **params) -> LightCurveModel:
    """A counterpart model by name, with its parameters (``spread`` and the model's own).

    Parameters
    ----------
    name : str
        ``kilonova`` or ``afterglow``.
    **params
        Passed to :func:`kilonova` / :func:`afterglow`.

    Raises
    ------
    ValueError
        For an unknown model name or parameter.
    """
    try:
        make = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown counterpart model {name!r} (known: {', '.join(MODELS)})") \
            from None
    try:
        return make(**params)
    except TypeError as exc:
        raise ValueError(f"counterpart model {name!r}: {exc}") from None
