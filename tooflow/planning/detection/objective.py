"""The detection objective on a problem: :func:`attach_detection` (levels, F tables,
depths and region weights) and the MIP's staircase terms
(:func:`add_detection_objective`, on regions merged by :func:`region_terms`)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from tooflow.counterparts.distance import distance_modulus_cdf

from .depth import part_depths
from .inputs import (
    DISTANCE_ORDER,
    LEVEL_STEP,
    Detection,
    DetectionInputs,
    distance_layers_order,
)

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
    from ..value import candidate_pixels

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


def field_groups(problem) -> np.ndarray:
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
    group = field_groups(problem)
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
