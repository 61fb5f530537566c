"""Exact exposure times inside the blocks chosen by the optimiser.

Within a block, exposures are list-scheduled: each step takes the exposure that
can start earliest, given the slew and filter change from the previous one and
its release time (the field's previous visit plus the strategy's minimum gap),
which keeps filters grouped and slews short. Between two exposures a telescope spends
``overhead_per_exposure + max(readout, slew distance / slew_rate)`` plus
``filter_change_time`` when the filter changes. Every exposure starts and ends
inside its block; an exposure that would not fit is dropped (with the other
visits of its field) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem, TelescopeProblem

__all__ = ["Exposure", "sequence_plan", "transition_time", "angular_distance"]


@dataclass(frozen=True)
class Exposure:
    """One timed exposure: global candidate, visit number (from 0), start (Unix s)."""

    candidate: int
    visit: int
    start: float
    duration: float
    block: int


def angular_distance(ra1, dec1, ra2, dec2):
    """Great-circle distance (deg) between points given in degrees."""
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    c = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def transition_time(part: TelescopeProblem, k_from: int | None, k_to: int, f_from: str | None,
                    f_to: str) -> float:
    """Seconds between the end of one exposure and the start of the next."""
    tel = part.telescope
    if k_from is None:
        return 0.0
    dist = angular_distance(part.ra[k_from], part.dec[k_from], part.ra[k_to], part.dec[k_to])
    t = tel.overhead_per_exposure + max(tel.readout, float(dist) / max(tel.slew_rate, 1e-6))
    if f_from is not None and f_from != f_to:
        t += tel.filter_change_time
    return t


def _schedule_block(part: TelescopeProblem, items, start_b, end_b, last, timed_before):
    """List-schedule one block; returns [(k, v, t)] or None if something does not fit.

    Each step takes the exposure that can start earliest, given the transition
    from the previous one and its release time (previous visit + minimum gap).
    """
    last_k, last_f, last_end = last
    gap = part.strategy.min_gap
    done = dict(timed_before)
    rest = list(items)
    out = []
    while rest:
        best = None
        for k, v in rest:
            if v > 0:
                if (k, v - 1) not in done:
                    continue
                release = done[k, v - 1] + gap
            else:
                release = -np.inf
            f = part.filters[v]
            es = max(start_b, release, last_end + transition_time(part, last_k, k, last_f, f))
            if best is None or es < best[0]:
                best = (es, k, v)
        if best is None:
            return None
        es, k, v = best
        if es + part.exposures[v] > end_b + 1e-6:
            return None
        out.append((k, v, es))
        done[k, v] = es
        rest.remove((k, v))
        last_k, last_f, last_end = k, part.filters[v], es + part.exposures[v]
    return out


def sequence_part(part: TelescopeProblem, assignment: dict[tuple[int, int], int],
                  protected: set[int] | frozenset = frozenset()):
    """Time the visits of one telescope; returns (exposures, dropped candidates).

    When a block overflows, unprotected candidates are dropped first, then the
    least probable.
    """
    by_block: dict[int, list[tuple[int, int]]] = {}
    for (i, v), b in assignment.items():
        k = i - part.offset
        if 0 <= k < len(part):
            by_block.setdefault(b, []).append((k, v))
    dropped: set[int] = set()
    exposures: list[Exposure] = []
    timed: dict[tuple[int, int], float] = {}
    last = (None, None, -np.inf)
    for b in sorted(by_block):
        items = sorted(kv for kv in by_block[b] if part.offset + kv[0] not in dropped)
        start_b, end_b = part.blocks.start[b], part.blocks.end[b]
        while True:
            # visits whose earlier visit was dropped are not worth observing
            items = [(k, v) for k, v in items
                     if v == 0 or (k, v - 1) in timed or (k, v - 1) in items]
            res = _schedule_block(part, items, start_b, end_b, last, timed)
            if res is not None:
                break
            worst = min(items, key=lambda kv: (part.offset + kv[0] in protected,
                                               part.prob[kv[0]]))
            dropped.add(part.offset + worst[0])
            items = [kv for kv in items if kv[0] != worst[0]]
        for k, v, t in res:
            timed[k, v] = t
            exposures.append(Exposure(part.offset + k, v, float(t), part.exposures[v], b))
        if res:
            k, v, t = res[-1]
            last = (k, part.filters[v], t + part.exposures[v])
    if dropped:
        exposures = [e for e in exposures if e.candidate not in dropped]
    return exposures, dropped


def sequence_plan(problem: Problem, assignment: dict[tuple[int, int], int],
                  protected: set[int] | frozenset = frozenset()):
    """Time every telescope's visits.

    ``protected`` candidates (e.g. the optimiser's choice, as opposed to fields
    added to fill idle time) are the last to be dropped from an overflowing block.

    Returns
    -------
    exposures : list of Exposure
    dropped : set of int
        Global candidates removed because their block overflowed.
    """
    exposures: list[Exposure] = []
    dropped: set[int] = set()
    for part in problem.parts:
        e, d = sequence_part(part, assignment, protected)
        exposures.extend(e)
        dropped |= d
    return exposures, dropped


def completed_candidates(problem: Problem, exposures: list[Exposure]) -> set[int]:
    """Candidates whose every visit is in ``exposures``."""
    nvis = {}
    for part in problem.parts:
        for k in range(len(part)):
            nvis[part.offset + k] = len(part.filters)
    seen: dict[int, set[int]] = {}
    for e in exposures:
        seen.setdefault(e.candidate, set()).add(e.visit)
    return {i for i, vs in seen.items() if len(vs) == nvis[i]}
