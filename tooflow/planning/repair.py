"""Repair a timed plan: insert fields into the telescopes' idle time, in continuous time.

The optimiser assigns visits to time blocks; timing them (:mod:`.sequence`) can
drop a field whose block overflows, and the per-telescope threshold
(:mod:`.value`) removes fields after timing. Both leave telescope time idle and
the plan further from the solver's bound than the solver's own stop. This step
works on the timed exposures themselves: it takes the fields left out by what
they add to the union of the plan (lazily re-valued, as :func:`~.solver.fill_idle`
does), and inserts all visits of a field into the gaps between the telescope's
timed exposures where the field is observable (its visibility window in a
block), with the slew, readout, overhead and filter change on both sides, the
minimum gap between visits and, under a maximum gap, no later than that. A field
is inserted only when it adds at least its telescope's threshold, so the union
never decreases; fields that do not fit anywhere are skipped.
:func:`repair_and_prune` runs the repairs and the thresholds in their order.
"""

from __future__ import annotations

import bisect

import numpy as np

from .problem import Problem, TelescopeProblem
from .sequence import Exposure, completed_candidates, transition_time

__all__ = ["insert_detection", "insert_fields", "repair_and_prune", "swap_fields"]


def _timeline(part: TelescopeProblem, exposures: list[Exposure]) -> list[tuple]:
    """The telescope's exposures as (start, end, row, filter), in time order (what
    :func:`_place` fits a field around)."""
    return sorted((e.start, e.start + e.duration, e.candidate - part.offset,
                   part.filters[e.visit]) for e in exposures
                  if part.offset <= e.candidate < part.offset + len(part))


def _slots(part: TelescopeProblem, k: int, v: int, timeline: list, release: float,
           latest: float | None):
    """Earliest feasible start of visit ``v`` of candidate ``k`` in each gap of the
    telescope's timeline, in time order, from ``release`` on (and, when ``latest`` is
    given, starting no later than it).

    ``timeline`` is the sorted list of ``(start, end, k, filter)`` of the telescope's
    exposures. Yields ``(start, block)``.
    """
    dur = part.exposure_at(k, v)
    f = part.filters[v]
    starts = [t[0] for t in timeline]
    for b in np.flatnonzero(part.visible[k]):
        b = int(b)
        b0, b1 = part.blocks.start[b], part.blocks.end[b]
        if part.win_start is None:
            ws, we = b0, b1
        else:
            ws, we = part.win_start[k, b], part.win_end[k, b]
        lo, hi = max(ws, b0, release), min(we, b1)
        if lo + dur > hi + 1e-6:
            continue
        if latest is not None and lo > latest + 1e-6:
            return
        # gaps around the exposures overlapping [lo - one exposure, hi]
        j = max(bisect.bisect_left(starts, lo) - 1, 0)
        prev = timeline[j - 1] if j > 0 else None
        for idx in range(j, len(timeline) + 1):
            nxt = timeline[idx] if idx < len(timeline) else None
            es = lo
            if prev is not None:
                es = max(es, prev[1] + transition_time(part, prev[2], k, prev[3], f))
            if latest is not None and es > latest + 1e-6:
                return
            ok = es + dur <= hi + 1e-6
            if ok and nxt is not None:
                ok = es + dur + transition_time(part, k, nxt[2], f, nxt[3]) <= nxt[0] + 1e-6
            if ok:
                yield es, b
            if nxt is None or nxt[0] > hi:
                break
            prev = nxt


def _place(part: TelescopeProblem, k: int, timeline: list, v: int = 0,
           release: float = -np.inf, latest: float | None = None, placed=None):
    """Starts of all visits of ``k`` (visit 0 first, each later one at least
    ``min_gap`` after the previous one and at most ``max_gap``), or None."""
    placed = placed or []
    nv = len(part.filters)
    for es, b in _slots(part, k, v, timeline, release, latest):
        here = placed + [(v, es, b)]
        if v == nv - 1:
            return here
        item = (es, es + part.exposure_at(k, v), k, part.filters[v])
        trial = list(timeline)
        bisect.insort(trial, item)
        gap = part.max_gap
        rest = _place(part, k, trial, v + 1, es + part.strategy.min_gap,
                      None if gap is None else es + gap, here)
        if rest is not None:
            return rest
        if gap is None:
            return None  # a later visit 0 only releases the next visit later
    return None


def insert_fields(problem: Problem, exposures: list[Exposure]
                  ) -> tuple[list[Exposure], dict[str, int]]:
    """Insert left-out fields into idle telescope time (continuous time).

    Parameters
    ----------
    problem : Problem
        The planning problem (coverage objective: the union of sky probability, or
        galaxy weight for pointed targets).
    exposures : list of Exposure
        Timed exposures of completed fields.

    Returns
    -------
    exposures : list of Exposure
        The input exposures and those of the inserted fields.
    added : dict of str to int
        Number of fields inserted per telescope.
    """
    from .value import best_first, candidate_pixels, uncovered_gain

    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    done = completed_candidates(problem, exposures)
    covered = np.zeros(len(prob), bool)
    for i in done:
        covered[pixels[i]] = True
    out = list(exposures)
    added: dict[str, int] = {}
    for part in problem.parts:
        timeline = _timeline(part, exposures)
        mine = {i - part.offset for i in done if part.offset <= i < part.offset + len(part)}
        keys = (set() if part.field_key is None
                else {int(part.field_key[k]) for k in mine})
        n_fields = len(mine)

        def gain(k: int, part=part) -> float:
            return uncovered_gain(part, k, pixels, prob, covered)

        rows = [k for k in range(len(part)) if k not in mine and part.visible[k].any()]
        # ends where the best adds less than the threshold, or nothing
        for k in best_first(rows, gain, part.threshold, positive=True):
            if part.strategy.max_fields is not None and n_fields >= part.strategy.max_fields:
                break
            if part.field_key is not None and int(part.field_key[k]) in keys:
                continue
            visits = _place(part, k, timeline)
            if visits is None:
                continue
            for v, es, b in visits:
                dur = part.exposure_at(k, v)
                bisect.insort(timeline, (es, es + dur, k, part.filters[v]))
                out.append(Exposure(part.offset + k, v, float(es), dur, b))
            covered[pixels[part.offset + k]] = True
            if part.field_key is not None:
                keys.add(int(part.field_key[k]))
            n_fields += 1
            added[part.telescope.name] = added.get(part.telescope.name, 0) + 1
    return out, added


def swap_fields(problem: Problem, exposures: list[Exposure], wanted
                ) -> tuple[list[Exposure], int]:
    """Put wanted fields back in place of planned fields that add less.

    For each wanted candidate (e.g. the optimiser's fields that timing dropped),
    most valuable first: when it does not fit in the timed plan as it is, the
    planned fields of its telescope that add less than it would are taken out one
    at a time (the least worth first), and it is inserted in the time one of them
    frees (:func:`insert_fields`'s rules); the swap is kept when the union grows.

    Returns
    -------
    exposures : list of Exposure
    swapped : int
        Number of wanted fields put back.
    """
    from .value import candidate_pixels

    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    out = list(exposures)
    done = completed_candidates(problem, out)
    count = np.zeros(len(prob), np.int32)
    for i in done:
        count[pixels[i]] += 1

    def gain(i: int) -> float:
        p = pixels[i]
        return float(prob[p[count[p] == 0]].sum())

    def worth(i: int) -> float:
        p = pixels[i]
        return float(prob[p[count[p] == 1]].sum())

    swapped = 0
    for i in sorted(set(wanted) - done, key=gain, reverse=True):
        part = next(p for p in problem.parts if p.offset <= i < p.offset + len(p))
        if part.pointed or part.field_key is not None:
            continue
        k = i - part.offset
        g = gain(i)
        if g < part.threshold or g <= 0:
            continue
        mine = [e for e in out if part.offset <= e.candidate < part.offset + len(part)]
        timeline = _timeline(part, mine)
        visits = _place(part, k, timeline)
        victim = None
        if visits is None:
            # the fields sharing a block where i is observable, least worth first
            blocks = set(np.flatnonzero(part.visible[k]).tolist())
            near = {e.candidate for e in mine if e.block in blocks}
            for j in sorted(near, key=worth):
                count[pixels[j]] -= 1
                net = gain(i) - worth_without(j, count, pixels, prob)
                if net <= 1e-12:
                    count[pixels[j]] += 1
                    break  # the rest are worth more
                rest = [t for t in timeline if t[2] != j - part.offset]
                visits = _place(part, k, rest)
                count[pixels[j]] += 1
                if visits is not None:
                    victim = j
                    break
        if visits is None:
            continue
        if victim is not None:
            out = [e for e in out if e.candidate != victim]
            count[pixels[victim]] -= 1
        for v, es, b in visits:
            out.append(Exposure(i, v, float(es), part.exposure_at(k, v), b))
        count[pixels[i]] += 1
        swapped += 1
    return out, swapped


def worth_without(j: int, count: np.ndarray, pixels, prob: np.ndarray) -> float:
    """What candidate ``j`` adds when ``count`` (coverage counts) already excludes it."""
    p = pixels[j]
    return float(prob[p[count[p] == 0]].sum())


def insert_detection(problem: Problem, exposures: list[Exposure], wanted
                     ) -> tuple[list[Exposure], dict[int, str]]:
    """Put the optimiser's rows that timing dropped back into idle time (detection objective).

    Each wanted candidate (a field at one exposure time) not in the timed plan,
    the most probable first, is placed as :func:`insert_fields` places a field
    (visibility window, slew, readout, overhead, filter change, visit gaps), and
    valued with the detection scoring at the times it would be observed (the
    limiting magnitude of each exposure at its own middle time): it is kept when
    it adds at least its telescope's threshold to the plan's detection
    probability. A row whose field is already in the plan (at another exposure
    time) is not added.

    Returns
    -------
    exposures : list of Exposure
        The input exposures and those of the rows put back.
    outcome : dict of int to str
        Per wanted candidate not in the timed plan: ``"put back"``, ``"no room"``
        (no idle time where it is observable), ``"below threshold"`` or
        ``"field planned"``.
    """
    from .detection import detection_probability, exposure_levels
    from .value import candidate_pixels

    pixels = candidate_pixels(problem)
    out = list(exposures)
    done = completed_candidates(problem, out)
    levels = {i: lv for i, lv in exposure_levels(problem, out).items() if i in done}
    total = detection_probability(problem, levels, pixels)
    outcome: dict[int, str] = {}
    todo = sorted(set(wanted) - done, key=lambda i: -float(problem.grid.prob[pixels[i]].sum()))
    for i in todo:
        part = next(p for p in problem.parts if p.offset <= i < p.offset + len(p))
        k = i - part.offset
        mine = [e for e in out if part.offset <= e.candidate < part.offset + len(part)]
        if part.field_key is not None:
            keys = {int(part.field_key[e.candidate - part.offset]) for e in mine}
            if int(part.field_key[k]) in keys:
                outcome[i] = "field planned"
                continue
        visits = _place(part, k, _timeline(part, mine))
        if visits is None:
            outcome[i] = "no room"
            continue
        new = [Exposure(i, v, float(es), part.exposure_at(k, v), b) for v, es, b in visits]
        lv = exposure_levels(problem, new).get(i, -1)
        trial = {**levels, i: lv}
        value = detection_probability(problem, trial, pixels)
        if lv < 0 or value - total < max(part.threshold, 1e-12):
            outcome[i] = "below threshold"
            continue
        out += new
        levels, total = trial, value
        outcome[i] = "put back"
    return out, outcome


def repair_and_prune(problem: Problem, exposures: list[Exposure], prune, *, repair: bool,
                      wanted=frozenset(), why: dict | None = None
                      ) -> tuple[list[Exposure], dict[str, int], float | None]:
    """The timed plan with timing's drops put back and the thresholds applied.

    With ``repair`` (coverage objective): fields left out by timing go back into
    idle telescope time (:func:`~.repair.insert_fields`, continuous time), the
    optimiser's fields timing dropped (``wanted``) take the place of planned fields
    that add less (:func:`~.repair.swap_fields`), the fields below their threshold
    are removed, and the time that frees is filled again the same way (kept only
    when the plan covers more). Without it, under the detection objective, the
    ``wanted`` rows go back into idle time when they add their threshold
    (:func:`~.repair.insert_detection`; ``why`` receives each one's outcome).
    Returns the
    exposures, the number of fields removed by the thresholds per telescope, and
    the coverage before the thresholds (None without ``repair``).
    """
    if not repair:
        if wanted and problem.objective == "detection":
            # the optimiser's rows timing dropped, put back into idle time when they
            # still add their threshold of detection probability (repair.insert_detection)
            exposures, outcome = insert_detection(problem, exposures, wanted)
            if why is not None:
                why.update(outcome)
        exposures, pruned = prune(problem, exposures)
        return exposures, pruned, None
    exposures, _ = insert_fields(problem, exposures)
    exposures, _ = swap_fields(problem, exposures, wanted)
    before = problem.union_probability(completed_candidates(problem, exposures))
    exposures, pruned = prune(problem, exposures)
    more, added = insert_fields(problem, exposures)
    if added:
        more, pruned_more = prune(problem, more)
        if (problem.union_probability(completed_candidates(problem, more))
                > problem.union_probability(completed_candidates(problem, exposures)) + 1e-12):
            exposures = more
            for name, n in pruned_more.items():
                pruned[name] = pruned.get(name, 0) + n
    return exposures, pruned, before
