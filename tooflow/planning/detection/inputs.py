"""Inputs of the detection objective: the counterpart model, the merger time, the
map's distance layers, the depth levels and the exposure times to choose from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from tooflow.counterparts import LightCurveModel, counterpart_model

#: Depth levels (mag): depths are rounded down to a multiple of this.
LEVEL_STEP = 0.25
#: HEALPix order of the distance layers used for F_j (0.84 deg² at order 6: a
#: map's distance posterior changes over degrees).
DISTANCE_ORDER = 6
#: Exposure times (s) the detection objective chooses from, per telescope;
#: telescopes not listed keep their one exposure time.
DEFAULT_EXPOSURE_OPTIONS: dict[str, list[float]] = {
    "ZTF": [30.0, 60.0, 120.0, 300.0],
    "DECam": [60.0, 90.0, 150.0, 300.0],
    "GROWTH-India": [300.0, 600.0],
}


def exposure_options(tel, strategy) -> list[float]:
    """Exposure times (s) the detection objective may choose for a telescope.

    ``Strategy.exposure_options`` when given; else, unless the program fixed an
    exposure time for the strategy's filters, :data:`DEFAULT_EXPOSURE_OPTIONS`
    (plus the default exposure); else the one default exposure.
    """
    default = float(strategy.exposure(tel, strategy.filters[0]))
    if strategy.exposure_options:
        opts = [float(t) for t in strategy.exposure_options]
    elif any(f in strategy.exposure_time for f in strategy.filters):
        opts = [default]
    else:
        opts = DEFAULT_EXPOSURE_OPTIONS.get(tel.name, []) + [default]
    opts = sorted({t for t in opts if t > 0})
    if not opts:
        raise ValueError(f"{tel.name}: no positive exposure time to choose from")
    return opts


def distance_layers(moc, order: int = DISTANCE_ORDER):
    """DISTMU, DISTSIGMA, DISTNORM of a multi-order map on a NESTED grid of ``order``.

    Pixels finer than ``order`` give their parent the layers of their most
    probable child; coarser pixels are copied to their children. Returns None for
    a map without distance layers.
    """
    if not all(c in moc.colnames for c in ("DISTMU", "DISTSIGMA", "DISTNORM")):
        return None
    from ligo.skymap.moc import uniq2nest

    orders, nest = uniq2nest(np.asarray(moc["UNIQ"], np.int64))
    orders = orders.astype(np.int64)
    nest = nest.astype(np.int64)
    dens = np.asarray(moc["PROBDENSITY"], float)
    prob = dens * 4 * np.pi / (12 * 4.0 ** orders)
    npix = 12 << (2 * order)
    out = [np.full(npix, np.inf), np.ones(npix), np.zeros(npix)]
    layers = [np.asarray(moc[c], float) for c in ("DISTMU", "DISTSIGMA", "DISTNORM")]
    fine = orders >= order
    parent = nest[fine] >> (2 * (orders[fine] - order))
    # most probable child wins: write in increasing probability
    srt = np.argsort(prob[fine], kind="stable")
    for o, lay in zip(out, layers, strict=True):
        o[parent[srt]] = lay[fine][srt]
    for o_ in np.unique(orders[~fine]):
        sel = (~fine) & (orders == o_)
        n = 1 << (2 * (order - o_))
        idx = ((nest[sel] << (2 * (order - o_)))[:, None] + np.arange(n)[None, :]).ravel()
        for o, lay in zip(out, layers, strict=True):
            o[idx] = np.repeat(lay[sel], n)
    return tuple(out)


@dataclass
class Detection:
    """Everything the detection objective needs, attached to a :class:`~.problem.Problem`.

    Attributes
    ----------
    model : LightCurveModel
    event_time : float
        Merger time (Unix s).
    levels : numpy.ndarray
        Depth of each level (mag, ``m_lim − M̄``).
    cdf : numpy.ndarray
        (coarse pixels used × levels): F of each coarse pixel at each level.
    coarse : numpy.ndarray
        Per working-grid pixel, its row in ``cdf`` (−1: no distance support).
    level : list of numpy.ndarray
        Per telescope part, (rows × blocks) level reached by a field (row) whose
        first visit is in that block; −1 where not observable or below every level.
    notes : list of str
    """

    model: LightCurveModel
    event_time: float
    levels: np.ndarray
    cdf: np.ndarray
    coarse: np.ndarray
    level: list[np.ndarray] = field(default_factory=list)
    region_weight: np.ndarray | None = None   # (regions × levels) W[r, s]
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict, repr=False)

    def pixel_value(self, pixels: np.ndarray, prob: np.ndarray, lev: np.ndarray) -> np.ndarray:
        """``P_j F_j(level)`` for pixels at levels (−1: 0)."""
        c = self.coarse[pixels]
        ok = (lev >= 0) & (c >= 0)
        out = np.zeros(len(pixels))
        out[ok] = prob[pixels[ok]] * self.cdf[c[ok], lev[ok]]
        return out

    def to_level(self, depth) -> np.ndarray:
        """Level index of a depth (mag), rounded down; −1 below the lowest level."""
        d = np.asarray(depth, float)
        idx = np.floor((d - self.levels[0]) / LEVEL_STEP + 1e-9)
        idx = np.where(np.isfinite(d), idx, -1)
        return np.clip(idx, -1, len(self.levels) - 1).astype(np.int64)


def unix_time(t: dt.datetime) -> float:
    """Unix time (s) of ``t``, a naive datetime taken as UTC."""
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def event_time_of(moc, default: dt.datetime) -> float:
    """Merger time (Unix s) from the map's ``gps_time``, else ``default``."""
    gps = getattr(moc, "meta", {}).get("gps_time")
    if gps is not None:
        from astropy.time import Time

        return float(Time(float(gps), format="gps").unix)
    return unix_time(default)


@dataclass
class DetectionInputs:
    """The counterpart model, the merger time and the map's distance layers."""

    model: LightCurveModel
    event_time: float
    layers: tuple[np.ndarray, np.ndarray, np.ndarray]


def resolve_model(model: LightCurveModel | str | dict | None) -> LightCurveModel:
    """A counterpart model from a model, a name or ``{"model": name, **params}``."""
    if model is None:
        return counterpart_model("kilonova")
    if isinstance(model, LightCurveModel):
        return model
    if isinstance(model, str):
        return counterpart_model(model)
    params = dict(model)
    return counterpart_model(params.pop("model", "kilonova"), **params)


def prepare_detection(moc, model: LightCurveModel | str | dict | None,
                      event_time: float) -> DetectionInputs | None:
    """Model, merger time and distance layers of a map (None: the map has no distances)."""
    layers = distance_layers(moc)
    if layers is None:
        return None
    return DetectionInputs(resolve_model(model), float(event_time), layers)


def distance_layers_order(inputs: DetectionInputs, order: int):
    """Distance layers summed to a coarser ``order`` (working grids below order 6)."""
    shift = 2 * (DISTANCE_ORDER - order)
    return tuple(lay[:: 1 << shift] for lay in inputs.layers)
