"""Scoring timed exposures under the detection objective: each completed candidate's
depth level, the union's detection probability and each candidate's marginal value."""

from __future__ import annotations

import numpy as np

from .depth import conditions, limiting_magnitude


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
    from ..value import candidate_pixels

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
