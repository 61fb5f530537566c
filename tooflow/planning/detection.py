"""The ``detection`` objective: probability of detecting a modelled counterpart.

``coverage`` counts the sky probability inside observed footprints.
``detection`` counts the probability that the counterpart is inside an observed
footprint *and* brighter than that exposure's limiting magnitude at the time it
was taken, each sky pixel once (union over exposures):

* an exposure of field ``k`` reaches a depth ``L = m_lim − M̄(t)``: its limiting
  magnitude (:func:`tooflow.telescopes.limiting_magnitude`, from exposure time,
  airmass, Moon and twilight) minus the counterpart model's mean absolute
  magnitude in that filter at that time since the merger
  (:mod:`tooflow.counterparts`). A field with several visits (ZTF g then r)
  reaches the smallest ``L`` of its visits: it counts when the source is seen
  in every visit the strategy asks for;
* at a sky pixel the counterpart (distance ``r`` from the map's distance
  ansatz, brightness offset ``δ ~ N(0, σ)``) is detected by any exposure
  covering it iff ``DM(r) + δ ≤ max L`` over those exposures, so the union is
  ``P_j · F_j(max L)`` with ``F_j`` the distribution function of ``DM + δ``
  there (:func:`tooflow.counterparts.distance_modulus_cdf`).

Depths are put on levels of :data:`LEVEL_STEP` mag, rounded down. The MIP keeps
the block model of :mod:`.solver` (one binary per field, exposure time, visit
and block) and replaces the union objective by a staircase per sky region:
``y[r, s] ≤ Σ (first visits of fields covering r whose level ≥ s)``, objective
``Σ_r Σ_s (W[r, s] − W[r, s⁻]) y[r, s]``, with ``W[r, s] = Σ_{j∈r} P_j F_j(L_s)``.
The later visits of a field come at most ``Strategy.max_gap`` after its first,
and a block's depth is taken at its end plus that gap for each later visit, so
a counterpart fading during the window counts as faint as it can be in that block.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from tooflow.counterparts import LightCurveModel, counterpart_model
from tooflow.counterparts.distance import distance_modulus_cdf

from .strategy import visit_gap

__all__ = [
    "DEFAULT_EXPOSURE_OPTIONS",
    "Detection",
    "LEVEL_STEP",
    "distance_layers",
    "exposure_options",
    "prepare_detection",
]

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


def _unix(t: dt.datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def event_time_of(moc, default: dt.datetime) -> float:
    """Merger time (Unix s) from the map's ``gps_time``, else ``default``."""
    gps = getattr(moc, "meta", {}).get("gps_time")
    if gps is not None:
        from astropy.time import Time

        return float(Time(float(gps), format="gps").unix)
    return _unix(default)


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


# ---------------------------------------------------------------------------
# observing conditions and depths


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


# ---------------------------------------------------------------------------
# attach to a problem


#: Depth range (mag, m_lim − M̄) of the levels when only scoring plans (coverage objective).
SCORING_RANGE = (26.0, 44.0)


def attach_detection(problem, inputs: DetectionInputs, for_objective: bool = True,
                     max_levels: int = 80) -> Detection:
    """Set ``problem.detection``: levels, F tables and, for the objective, depths and weights.

    ``for_objective``: also the depth level of every row in every block and the
    regions' weights per level (the MIP's inputs); without it only what scoring
    timed exposures needs (levels over :data:`SCORING_RANGE`).
    """
    depths = ([part_depths(p, inputs.model, inputs.event_time) for p in problem.parts]
              if for_objective else [])
    finite = np.concatenate([d[np.isfinite(d)] for d in depths] + [np.zeros(0)])
    if not for_objective:
        lo, hi = SCORING_RANGE
        levels = lo + LEVEL_STEP * np.arange(int(round((hi - lo) / LEVEL_STEP)) + 1)
    elif finite.size:
        lo = np.floor(finite.min() / LEVEL_STEP) * LEVEL_STEP
        hi = finite.max()
        lo = max(lo, hi - (max_levels - 1) * LEVEL_STEP)
        levels = lo + LEVEL_STEP * np.arange(int(np.floor((hi - lo) / LEVEL_STEP + 1e-9)) + 1)
    else:
        levels = np.zeros(1)
    grid = problem.grid
    shift = 2 * max(grid.order - DISTANCE_ORDER, 0)
    dorder = min(grid.order, DISTANCE_ORDER)
    mu, sigma, norm = inputs.layers if dorder == DISTANCE_ORDER else distance_layers_order(
        inputs, dorder)
    _, pix = problem.incidence
    upix = np.unique(pix)
    ucoarse = np.unique(upix >> shift)
    cdf = distance_modulus_cdf(levels[None, :], mu[ucoarse][:, None], sigma[ucoarse][:, None],
                               norm[ucoarse][:, None], inputs.model.spread)
    coarse = np.full(len(grid.prob), -1, np.int64)
    coarse[upix] = np.searchsorted(ucoarse, upix >> shift)
    det = Detection(model=inputs.model, event_time=inputs.event_time, levels=levels, cdf=cdf,
                    coarse=coarse)
    det.level = [det.to_level(d) for d in depths]
    reg = problem.regions
    if not for_objective:
        det.notes.append(f"counterpart model: {inputs.model.description}")
        problem.detection = det
        return det
    if reg.pixels is not None and len(reg.pixels):
        c = coarse[reg.pixels]
        ok = c >= 0
        a = sparse.csr_matrix((grid.prob[reg.pixels[ok]], (reg.pixel_region[ok], c[ok])),
                              shape=(len(reg.weight), len(ucoarse)))
        det.region_weight = np.asarray(a @ cdf)
    else:
        det.region_weight = np.zeros((len(reg.weight), len(levels)))
    _drop_useless(problem, det)
    det.notes.append(f"detection objective: {inputs.model.description}; depth levels "
                     f"{levels[0]:.2f}–{levels[-1]:.2f} mag (m_lim − M) in {LEVEL_STEP} mag steps")
    problem.detection = det
    return det


def _drop_useless(problem, det: Detection) -> None:
    """Blocks where a row detects nothing, and rows that alone could never add their
    telescope's threshold, leave the model (the threshold would drop them anyway)."""
    from .value import candidate_pixels

    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    dropped = 0
    for part, lev in zip(problem.parts, det.level, strict=True):
        part.visible &= lev >= 0
        for k in range(len(part)):
            if not part.visible[k].any():
                continue
            p = pixels[part.offset + k]
            alone = det.pixel_value(p, prob, np.full(len(p), int(lev[k].max()))).sum()
            if alone < part.threshold:
                part.visible[k] = False
                dropped += 1
    if dropped:
        det.notes.append(f"{dropped} field/exposure-time rows left out: alone they would "
                         "detect less than their telescope's threshold")


def distance_layers_order(inputs: DetectionInputs, order: int):
    """Distance layers summed to a coarser ``order`` (working grids below order 6)."""
    shift = 2 * (DISTANCE_ORDER - order)
    return tuple(lay[:: 1 << shift] for lay in inputs.layers)


# ---------------------------------------------------------------------------
# the MIP objective


def _groups(problem) -> np.ndarray:
    """Per global candidate, its field across exposure-time rows (a global id)."""
    group = np.zeros(problem.n_candidates, np.int64)
    base = 0
    for part in problem.parts:
        n = len(part)
        key = part.field_key if part.field_key is not None else np.arange(n)
        group[part.offset:part.offset + n] = base + np.asarray(key, np.int64)
        base += int(key.max()) + 1 if n else 0
    return group


#: Detection probability the MIP may leave out (its smallest region-level terms);
#: what they could add is added to the bound.
TERM_TOLERANCE = 1e-3


def region_terms(problem, levels_of: dict[int, np.ndarray], group: np.ndarray,
                 tolerance: float = TERM_TOLERANCE):
    """The staircase terms of the detection objective, on merged regions.

    Sky regions are covered by the same set of candidate rows; rows that cannot
    be scheduled (no usable block) and rows of one field add nothing to tell
    regions apart, so regions covered by the same set of usable *fields* are merged
    (their weights add: exact). Each merged region gets a term per depth level one
    of its fields reaches, worth the increase of its detection probability from
    the level below; the smallest terms, together at most ``tolerance``, are left
    out (each term counts independently, so what they could add is at most their
    sum, which goes into the bound).

    Parameters
    ----------
    levels_of : dict
        Per usable field group, the sorted levels its first visits can reach.
    group : numpy.ndarray
        Field group of every global candidate.

    Returns
    -------
    fields : list of numpy.ndarray
        Per merged region, its field groups.
    terms : list of (int, int, float)
        ``(merged region, level, weight)`` kept.
    skipped : float
        Sum of the weights left out.
    reachable : float
        Every region at the deepest level one of its fields reaches: no plan of
        the block model detects more.
    n_regions : int
        Regions before merging (with a usable field).
    """
    det = problem.detection
    mat = problem.regions.matrix.tocoo()
    weight = det.region_weight
    usable = np.zeros(int(group.max()) + 1 if len(group) else 0, bool)
    usable[list(levels_of)] = True
    g = group[mat.col]
    keep = usable[g]
    pairs = np.unique(mat.row[keep].astype(np.int64) * len(usable) + g[keep])
    reg, grp = pairs // len(usable), pairs % len(usable)
    rng = np.random.default_rng(54321)
    code = rng.integers(1, np.iinfo(np.int64).max, size=len(usable), dtype=np.int64).view(
        np.uint64)
    key = np.zeros(mat.shape[0], np.uint64)
    np.add.at(key, reg, code[grp])
    has = np.zeros(mat.shape[0], bool)
    has[reg] = True
    rows = np.flatnonzero(has)
    ukey, merged = np.unique(key[rows], return_inverse=True)
    n_merged = len(ukey)
    w = np.zeros((n_merged, weight.shape[1]))
    np.add.at(w, merged, weight[rows])
    first_row = np.full(n_merged, -1)
    first_row[merged[::-1]] = rows[::-1]
    # pairs are sorted by region, then field: each merged region's fields are those
    # of one of its regions
    lo = np.searchsorted(reg, first_row)
    hi = np.searchsorted(reg, first_row, side="right")
    fields_of = [grp[a:b] for a, b in zip(lo, hi, strict=True)]
    # levels each merged region can reach: any of its fields'
    nl = weight.shape[1]
    gl = np.zeros((len(usable), nl), bool)
    for gg, lv in levels_of.items():
        gl[gg, lv] = True
    cover = sparse.csr_matrix((np.ones(int((hi - lo).sum())),
                               (np.repeat(np.arange(n_merged), hi - lo),
                                np.concatenate(fields_of) if n_merged else np.zeros(0, int))),
                              shape=(n_merged, len(usable)))
    reach = (cover @ sparse.csr_matrix(gl.astype(float))).toarray() > 0
    r_idx, l_idx = np.nonzero(reach)
    wv = w[r_idx, l_idx]
    prev = np.r_[0.0, wv[:-1]]
    prev[np.r_[True, r_idx[1:] != r_idx[:-1]]] = 0.0
    inc = wv - prev
    pos = inc > 1e-12
    r_idx, l_idx, inc = r_idx[pos], l_idx[pos], inc[pos]
    order = np.argsort(inc, kind="stable")
    drop = np.zeros(len(inc), bool)
    drop[order[np.cumsum(inc[order]) <= tolerance]] = True
    skipped = float(inc[drop].sum())
    terms = list(zip(r_idx[~drop].tolist(), l_idx[~drop].tolist(), inc[~drop].tolist(),
                     strict=True))
    return fields_of, terms, skipped, float(inc.sum()), len(rows)


def add_detection_objective(s, objective, problem, first_blocks: dict,
                            tolerance: float = TERM_TOLERANCE):
    """Staircase objective of the detection probability on the block model.

    For each field (all its exposure-time rows) and each depth level ``s`` it
    reaches, ``u[f, s]`` = number of its first visits at level ≥ s (0 or 1, a
    chain ``u[f, s_i] = u[f, s_i+1] + Σ_{level = s_i} x``); for each sky region
    (merged by the fields that can cover it, :func:`region_terms`) and each level
    reached by a field covering it, ``y[r, s] ≤ Σ_f u[f, s_f]`` (``s_f`` the lowest
    level of f at or above s), ``0 ≤ y ≤ 1``, weighted by the region's increase of
    detection probability from the level below to s.

    Returns
    -------
    skipped, total : float
        What the terms left out of the model could add at most (added to the
        bound) and the most any plan could reach (every region at the deepest
        level one of its usable fields reaches).
    derived : list of (var, list of var)
        The continuous variables in the order they can be computed from the
        binaries: each is ``min(1, Σ of the listed variables)`` in a best solution
        (a complete warm start, :func:`.solver.solve`).
    """
    det = problem.detection
    inf = s.infinity()
    group = _groups(problem)
    # options (level, var) per field group
    opts: dict[int, list[tuple[int, object]]] = {}
    for part, lev in zip(problem.parts, det.level, strict=True):
        for k in range(len(part)):
            i = part.offset + k
            for b, var in first_blocks.get(i, []):
                if lev[k, b] >= 0:
                    opts.setdefault(int(group[i]), []).append((int(lev[k, b]), var))
    levels_of = {g: np.unique([lv for lv, _ in items]) for g, items in opts.items()}
    if not opts:
        return 0.0, 0.0, []
    fields_of, terms, skipped, total, n_regions = region_terms(problem, levels_of, group,
                                                               tolerance)
    derived: list[tuple[object, list]] = []
    u: dict[tuple[int, int], object] = {}
    for g, items in opts.items():
        above = None
        for lv in levels_of[g][::-1]:
            var = s.NumVar(0.0, 1.0, "")
            ct = s.Constraint(0.0, 0.0)
            ct.SetCoefficient(var, 1.0)
            xs = [x for lv2, x in items if lv2 == lv]
            for x in xs:
                ct.SetCoefficient(x, -1.0)
            if above is not None:
                ct.SetCoefficient(above, -1.0)
                xs = [above, *xs]
            u[g, int(lv)] = var
            derived.append((var, xs))
            above = var
    for r, lv, inc in terms:
        lhs = []
        for g in fields_of[r]:
            levs = levels_of[int(g)]
            j = np.searchsorted(levs, lv)
            if j < len(levs):
                lhs.append(u[int(g), int(levs[j])])
        y = s.NumVar(0.0, 1.0, "")
        ct = s.Constraint(-inf, 0.0)
        ct.SetCoefficient(y, 1.0)
        for t in lhs:
            ct.SetCoefficient(t, -1.0)
        objective.SetCoefficient(y, inc)
        derived.append((y, lhs))
    det.notes.append(f"detection model: {len(u)} field-level depth variables, "
                     f"{len(terms)} region-level terms on {len(fields_of)} regions "
                     f"(merged from {n_regions}); the smallest terms, together "
                     f"{100 * skipped:.3f} %, left out and added to the bound")
    return skipped, total, derived


# ---------------------------------------------------------------------------
# scoring timed exposures


def exposure_levels(problem, exposures) -> dict[int, int]:
    """Depth level of every completed candidate from its timed exposures.

    Each exposure's limiting magnitude at its own middle time (airmass, Moon,
    twilight) minus the model's mean absolute magnitude at that time since the
    merger; a candidate reaches the smallest over its visits.
    """
    det = problem.detection
    by_cand: dict[int, list] = {}
    for e in exposures:
        by_cand.setdefault(e.candidate, []).append(e)
    out: dict[int, int] = {}
    todo: dict[int, list] = {}
    for i, es in by_cand.items():
        key = (i, tuple(sorted((e.visit, e.start, e.duration) for e in es)))
        if key in det.cache:
            out[i] = det.cache[key]
        else:
            todo[i] = es
    by_cand = todo
    for part in problem.parts:
        nv = len(part.filters)
        mine = [(i, es) for i, es in by_cand.items()
                if part.offset <= i < part.offset + len(part) and len({e.visit for e in es}) == nv]
        if not mine:
            continue
        flat = [(i, e) for i, es in mine for e in es]
        k = np.array([i - part.offset for i, _ in flat])
        t = np.array([e.start + 0.5 * e.duration for _, e in flat])
        cond = conditions(part.telescope, part.ra[k], part.dec[k], t, paired=True)
        depth = np.empty(len(flat))
        for v, filt in enumerate(part.filters):
            sel = np.array([e.visit == v for _, e in flat])
            for tau in np.unique([e.duration for _, e in flat]):
                m = sel & np.array([e.duration == tau for _, e in flat])
                if not m.any():
                    continue
                sub = {c: np.asarray(a)[m] for c, a in cond.items()}
                mlim = limiting_magnitude(part.telescope, filt, float(tau), sub)
                days = (t[m] - det.event_time) / 86400.0
                absolute = np.where(days > 0, det.model.absolute_magnitude(
                    filt, np.maximum(days, 1e-3)), np.inf)
                depth[m] = mlim - absolute
        best: dict[int, float] = {}
        for (i, _), d in zip(flat, depth, strict=True):
            best[i] = min(best.get(i, np.inf), d)
        for i, d in best.items():
            out[i] = int(det.to_level(d))
            key = (i, tuple(sorted((e.visit, e.start, e.duration) for e in by_cand[i])))
            det.cache[key] = out[i]
    return out


def _best_levels(problem, levels: dict[int, int], pixels) -> tuple[np.ndarray, np.ndarray]:
    cands = [i for i, lv in levels.items() if lv >= 0]
    if not cands:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pix = np.concatenate([pixels[i] for i in cands])
    lev = np.concatenate([np.full(len(pixels[i]), levels[i]) for i in cands])
    order = np.lexsort((-lev, pix))
    pix, lev = pix[order], lev[order]
    first = np.r_[True, pix[1:] != pix[:-1]]
    return pix[first], lev[first]


def detection_probability(problem, levels: dict[int, int], pixels=None) -> float:
    """Probability of detection of the union: each pixel at the best level covering it."""
    from .value import candidate_pixels

    pixels = candidate_pixels(problem) if pixels is None else pixels
    pix, lev = _best_levels(problem, levels, pixels)
    return float(problem.detection.pixel_value(pix, problem.grid.prob, lev).sum())


def marginal_values(problem, levels: dict[int, int], pixels) -> dict[int, float]:
    """What each candidate adds to the detection probability of all the others."""
    det = problem.detection
    cands = [i for i, lv in levels.items() if lv >= 0]
    out = {i: 0.0 for i in levels}
    if not cands:
        return out
    pix = np.concatenate([pixels[i] for i in cands])
    lev = np.concatenate([np.full(len(pixels[i]), levels[i]) for i in cands])
    own = np.concatenate([np.full(len(pixels[i]), i) for i in cands])
    order = np.lexsort((-lev, pix))
    pix, lev, own = pix[order], lev[order], own[order]
    first = np.flatnonzero(np.r_[True, pix[1:] != pix[:-1]])
    nxt = first + 1
    has2 = np.r_[first[1:], len(pix)] > nxt
    second = np.full(len(first), -1)
    second[has2] = lev[nxt[has2]]
    p = pix[first]
    gain = det.pixel_value(p, problem.grid.prob, lev[first]) - det.pixel_value(
        p, problem.grid.prob, second)
    sums = np.bincount(own[first], weights=gain, minlength=problem.n_candidates)
    for i in cands:
        out[i] = float(sums[i])
    return out


def prune_detection(problem, exposures, pixels=None):
    """Drop fields that add less than their telescope's threshold to the detection
    probability, one at a time (least worth relative to its threshold first)."""
    from .sequence import completed_candidates
    from .value import candidate_pixels, thresholds

    pixels = candidate_pixels(problem) if pixels is None else pixels
    done = completed_candidates(problem, exposures)
    levels = {i: lv for i, lv in exposure_levels(problem, exposures).items() if i in done}
    th, _, _ = thresholds(problem)
    pruned: dict[str, int] = {}
    while levels:
        val = marginal_values(problem, levels, pixels)
        below = [(val[i] / max(th[i], 1e-12), i) for i in levels if val[i] < th[i] - 1e-12]
        if not below:
            break
        # the least worth first; with many below, a fifth of them per round (each
        # round re-values the others, so of two fields on the same sky one stays)
        below.sort()
        for _, i in below[:max(1, len(below) // 5)]:
            del levels[i]
            name = next(p.telescope.name for p in problem.parts
                        if p.offset <= i < p.offset + len(p))
            pruned[name] = pruned.get(name, 0) + 1
    keep = set(levels)
    return [e for e in exposures if e.candidate in keep], pruned


def fill_idle_detection(problem, assignment: dict, by_rate: bool = True) -> dict:
    """Give idle block capacity to the rows that add most detection probability.

    Like :func:`.solver.fill_idle`, with values under the detection objective:
    a row's gain is what its depth in the earliest blocks with room adds to the
    pixels it covers, over the best depth already planned there; one exposure
    time per field; the telescope's threshold applies. Rows are taken by gain per
    second of telescope time (``by_rate``: right when time is short, a wide map)
    or by gain alone (right when time is plenty, a compact map: the deepest
    exposure of each field first).
    """
    import heapq

    from .problem import BlockUse
    from .value import candidate_pixels

    det = problem.detection
    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    out = dict(assignment)
    best = np.full(len(prob), -1, np.int64)
    for part, lev in zip(problem.parts, det.level, strict=True):
        for (i, v), b in assignment.items():
            if v == 0 and part.offset <= i < part.offset + len(part):
                p = pixels[i]
                best[p] = np.maximum(best[p], lev[i - part.offset, b])
    for part, lev in zip(problem.parts, det.level, strict=True):
        nv = len(part.filters)
        use = BlockUse(part)
        taken: set[int] = set()
        keys = part.field_key if part.field_key is not None else np.arange(len(part))
        for (i, v), b in assignment.items():
            k = i - part.offset
            if 0 <= k < len(part):
                use.add(k, v, b)
                taken.add(int(keys[k]))
        def gain(k: int, b: int, part=part, lev=lev) -> float:
            p = pixels[part.offset + k]
            lv = lev[k, b]
            if lv < 0:
                return 0.0
            up = best[p] < lv
            p = p[up]
            return float(det.pixel_value(p, prob, np.full(len(p), lv)).sum()
                         - det.pixel_value(p, prob, best[p]).sum())

        heap = []
        for k in range(len(part)):
            if int(keys[k]) in taken or not part.visible[k].any():
                continue
            b0 = int(np.flatnonzero(part.visible[k])[0])
            g = gain(k, b0) if lev[k].max() >= 0 else 0.0
            # per second of telescope time: a long exposure must earn its time
            heap.append((-(g / sum(part.cost_at(k, v) for v in range(nv)) if by_rate else g),
                         k))
        heapq.heapify(heap)
        n_fields = len(taken)
        while heap:
            if part.strategy.max_fields is not None and n_fields >= part.strategy.max_fields:
                break
            _, k = heapq.heappop(heap)
            if int(keys[k]) in taken:
                continue
            chain = part.earliest_chain(k, use)
            if not chain:
                continue
            g = gain(k, chain[0])
            rate = g / sum(part.cost_at(k, v) for v in range(nv)) if by_rate else g
            if heap and rate < -heap[0][0] - 1e-15:
                heapq.heappush(heap, (-rate, k))
                continue
            if g < part.threshold:
                continue
            for v, b in enumerate(chain):
                out[part.offset + k, v] = b
                use.add(k, v, b)
            p = pixels[part.offset + k]
            best[p] = np.maximum(best[p], lev[k, chain[0]])
            taken.add(int(keys[k]))
            n_fields += 1
    return out


def assignment_value(problem, assignment: dict) -> float:
    """Detection probability of a block assignment under the block model's depths
    (a field counts when all its visits are assigned)."""
    from .value import candidate_pixels

    det = problem.detection
    pixels = candidate_pixels(problem)
    visits: dict[int, int] = {}
    first: dict[int, int] = {}
    for (i, v), b in assignment.items():
        visits[i] = visits.get(i, 0) + 1
        if v == 0:
            first[i] = b
    levels = {}
    for part, lev in zip(problem.parts, det.level, strict=True):
        nv = len(part.filters)
        for i, b in first.items():
            if part.offset <= i < part.offset + len(part) and visits[i] == nv:
                levels[i] = int(lev[i - part.offset, b])
    return detection_probability(problem, levels, pixels)


def incumbent(problem, greedy_exposures) -> dict:
    """The best fast assignment under the detection objective: from scratch or from the
    greedy baseline, filled by detection per second or by detection alone.

    It is a feasible point of the block model (a complete warm start for the
    solver): the greedy baseline's fields the model does not admit are left out
    (:func:`.problem.model_feasible`) and the fill-in keeps to the model's
    constraints (:meth:`.problem.TelescopeProblem.earliest_chain`).
    """
    from .problem import model_feasible

    # the greedy plan is timed in continuous time: what of it the block model admits
    base = model_feasible(problem, {(e.candidate, e.visit): e.block for e in greedy_exposures})
    options = [fill_idle_detection(problem, start, by_rate)
               for start in ({}, base) for by_rate in (True, False)]
    return max(options, key=lambda a: assignment_value(problem, a))


#: Largest number of block variables (field rows × visible blocks × visits) of a
#: detection model the solver gets whole; beyond it, a working set of rows
#: (:func:`working_set`). S190425z's four telescopes have ~61 000 and SCIP did
#: not reach its root LP within 120 s at load 15; MS190227n's ~9 000 solve.
MAX_BLOCK_VARIABLES = 20000
#: Block variables of the working set: on S190425z (load 10-12) 8 000 solved to
#: the solver's tolerance in 8 s and raised the plan from 35.0 to 37.8 %; 14 000
#: and 20 000 did not improve the incumbent within 20 s.
WORKING_SET_VARIABLES = 8000


def reachable_total(problem) -> float:
    """Detection probability of every sky region at the deepest level that a
    usable row covering it reaches in some block: no plan of the block model
    detects more (the bound when the solver proves none)."""
    det = problem.detection
    group = _groups(problem)
    levels_of: dict[int, np.ndarray] = {}
    for part, lev in zip(problem.parts, det.level, strict=True):
        for k in np.flatnonzero(part.visible.any(axis=1)):
            g = int(group[part.offset + k])
            ls = lev[k][part.visible[k]]
            levels_of[g] = np.union1d(levels_of.get(g, np.zeros(0, np.int64)), ls[ls >= 0])
    levels_of = {g: lv for g, lv in levels_of.items() if len(lv)}
    if not levels_of:
        return 0.0
    return region_terms(problem, levels_of, group, tolerance=0.0)[3]


def working_set(problem, assignment: dict, max_variables: int = MAX_BLOCK_VARIABLES,
                size: int = WORKING_SET_VARIABLES) -> list[np.ndarray] | None:
    """Rows the solver works on when the whole block model is too large (None: all).

    None when the model has at most ``max_variables`` block variables. Else, per
    telescope, in proportion to its share of the block variables: the rows of
    ``assignment`` (the incumbent, so that the warm start stays feasible), then
    the others by what they alone would detect at their deepest block per second
    of telescope time, until ``size`` block variables. The
    solver then improves the incumbent within these rows; its bound is not one
    of the whole model, so the caller reports :func:`reachable_total` instead.
    """
    from .value import candidate_pixels

    det = problem.detection
    sizes = [int(part.visible.sum()) * len(part.filters) for part in problem.parts]
    total = sum(sizes)
    if total <= max_variables:
        return None
    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    chosen = {i for i, _ in assignment}
    keep = []
    for part, lev, n_part in zip(problem.parts, det.level, sizes, strict=True):
        nv = len(part.filters)
        mask = np.zeros(len(part), bool)
        budget = size * n_part / total
        per_row = part.visible.sum(axis=1) * nv
        rate = np.full(len(part), -np.inf)
        for k in np.flatnonzero(per_row > 0):
            p = pixels[part.offset + k]
            best = int(lev[k][part.visible[k]].max())
            alone = det.pixel_value(p, prob, np.full(len(p), best)).sum()
            rate[k] = alone / sum(part.cost_at(k, v) for v in range(nv))
        mine = [i - part.offset for i in chosen if part.offset <= i < part.offset + len(part)]
        mask[mine] = True
        used = float(per_row[mask].sum())
        for k in np.argsort(-rate, kind="stable"):
            if used >= budget or not np.isfinite(rate[k]):
                break
            if not mask[k]:
                mask[k] = True
                used += per_row[k]
        keep.append(mask)
    return keep


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

    from . import coverage as cv

    layers = distance_layers(moc)
    if layers is None:
        return None
    model = resolve_model(model)
    grid = cv.probability_grid(moc, order=order)
    shift = 2 * max(order - DISTANCE_ORDER, 0)
    t0 = _unix(event_time)
    best: dict[str, np.ndarray] = {}
    for o in observations:
        if o.limiting_magnitude is None or not np.isfinite(o.limiting_magnitude):
            continue
        try:
            tel = load_telescope(o.telescope)
            absolute = model.absolute_magnitude(o.filter, max(
                (_unix(o.obs_time) + 0.5 * o.exposure_time - t0) / 86400.0, 1e-3))
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
