"""Fast assignments under the detection objective: pruning fields below their
telescope's threshold, filling idle block capacity and the solver's incumbent."""

from __future__ import annotations

import numpy as np

from .scoring import detection_probability, exposure_levels, marginal_values


def prune_detection(problem, exposures, pixels=None):
    """Drop fields that add less than their telescope's threshold to the detection
    probability, one at a time (least worth relative to its threshold first)."""
    from ..sequence import completed_candidates
    from ..value import candidate_pixels, thresholds

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

    from ..problem import BlockUse
    from ..value import candidate_pixels

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
    from ..value import candidate_pixels

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
    from ..problem import model_feasible

    # the greedy plan is timed in continuous time: what of it the block model admits
    base = model_feasible(problem, {(e.candidate, e.visit): e.block for e in greedy_exposures})
    options = [fill_idle_detection(problem, start, by_rate)
               for start in ({}, base) for by_rate in (True, False)]
    return max(options, key=lambda a: assignment_value(problem, a))
