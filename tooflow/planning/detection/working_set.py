"""Large detection models: the bound every region at its deepest reachable level
(:func:`reachable_total`) and the rows the solver works on (:func:`working_set`)."""

from __future__ import annotations

import numpy as np

from .objective import field_groups, region_terms

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
    group = field_groups(problem)
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
    from ..value import candidate_pixels

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
