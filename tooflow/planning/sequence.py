"""Exact exposure times inside the blocks chosen by the optimiser.

Within a block, exposures are list-scheduled: each step takes the exposure that
can start earliest, given the slew and filter change from the previous one and
its release time (the field's previous visit plus the strategy's minimum gap),
which keeps filters grouped and slews short. Between two exposures a telescope spends
``overhead_per_exposure + max(readout, slew distance / slew_rate)`` plus
``filter_change_time`` when the filter changes: the catalogue's
:class:`~tooflow.telescopes.timing.ExposureTiming`, which the simulator observes with
too. Every exposure starts and ends inside its block; an exposure that would not fit
is dropped (with the other visits of its field) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..telescopes.timing import angular_distance
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


def transition_time(part: TelescopeProblem, k_from: int | None, k_to: int, f_from: str | None,
                    f_to: str) -> float:
    """Seconds between the end of one exposure and the start of the next
    (:meth:`~tooflow.telescopes.timing.ExposureTiming.dead_time` of the telescope)."""
    if k_from is None:
        return 0.0
    dist = angular_distance(part.ra[k_from], part.dec[k_from], part.ra[k_to], part.dec[k_to])
    return part.telescope.timing.dead_time(float(dist),
                                           f_from is not None and f_from != f_to)


def _window(part: TelescopeProblem, k: int, b: int) -> tuple[float, float]:
    if part.win_start is None:
        return part.blocks.start[b], part.blocks.end[b]
    return part.win_start[k, b], part.win_end[k, b]


def _schedule_block(part: TelescopeProblem, b: int, items, last, timed_before):
    """List-schedule one block.

    Returns ``(timed, None)`` with ``[(k, v, t)]`` on success, or ``(None, k)`` when
    candidate ``k`` cannot be observed inside its visibility window, or
    ``(None, None)`` when the block overflows.

    Each step considers the exposures that can start within a minute of the
    earliest possible start (given the transition from the previous exposure, the
    release time = previous visit + minimum gap, and the field's visibility window)
    and takes the one whose window closes first.
    """
    last_k, last_f, last_end = last
    gap = part.strategy.min_gap
    end_b = part.blocks.end[b]
    done = dict(timed_before)
    rest = list(items)
    out = []
    while rest:
        options = []
        for k, v in rest:
            if v > 0:
                if (k, v - 1) not in done:
                    continue
                release = done[k, v - 1] + gap
            else:
                release = -np.inf
            ws, we = _window(part, k, b)
            f = part.filters[v]
            es = max(ws, release, last_end + transition_time(part, last_k, k, last_f, f))
            dur = part.exposure_at(k, v)
            if es + dur > min(we, end_b) + 1e-6:
                if es + dur > we + 1e-6 and we < end_b - 1e-6:
                    return None, k
                return None, None
            options.append((es, we, k, v))
        if not options:
            return None, None
        t_min = min(o[0] for o in options)
        es, we, k, v = min((o for o in options if o[0] <= t_min + 60.0),
                           key=lambda o: (o[1], o[0]))
        out.append((k, v, es))
        done[k, v] = es
        rest.remove((k, v))
        last_k, last_f, last_end = k, part.filters[v], es + part.exposure_at(k, v)
    return out, None


def sequence_part(part: TelescopeProblem, assignment: dict[tuple[int, int], int],
                  protected: set[int] | frozenset = frozenset()):
    """Time the visits of one telescope; returns (exposures, dropped candidates).

    When a block overflows, the last visit released latest is moved to a later
    block with spare capacity where the field is visible; if none can move,
    unprotected candidates are dropped first, then the least probable.
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
    nv = len(part.filters)
    load = np.zeros(len(part.blocks))
    for b, kvs in by_block.items():
        load[b] += sum(part.cost_at(k, v) for k, v in kvs)
    max_gap = part.max_gap

    def spill(k: int, v: int, b: int) -> bool:
        """Move a last visit that does not fit in block b to a later block with room
        (no later than ``max_gap`` after the previous visit)."""
        if v != nv - 1:
            return False
        c = part.cost_at(k, v)
        for b2 in range(b + 1, len(part.blocks)):
            if (max_gap is not None and v > 0 and (k, v - 1) in timed
                    and part.blocks.end[b2] > timed[k, v - 1] + max_gap + 1e-6):
                break
            if part.visible[k, b2] and load[b2] + c <= part.capacity[b2] + 1e-9:
                by_block.setdefault(b2, []).append((k, v))
                load[b2] += c
                load[b] -= c
                return True
        return False

    for b in range(len(part.blocks)):
        if b not in by_block:
            continue
        items = sorted(kv for kv in by_block[b] if part.offset + kv[0] not in dropped)
        while True:
            # visits whose earlier visit was dropped are not worth observing
            items = [(k, v) for k, v in items
                     if v == 0 or (k, v - 1) in timed or (k, v - 1) in items]
            res, failed = _schedule_block(part, b, items, last, timed)
            if res is not None:
                break
            if failed is not None:
                worst = next(kv for kv in items if kv[0] == failed)
            else:
                # prefer moving the last visit released latest to a later block
                last_visits = [kv for kv in items if kv[1] == nv - 1 and kv[1] > 0]
                if last_visits:
                    late = max(last_visits, key=lambda kv: timed.get((kv[0], kv[1] - 1), 0.0))
                    if spill(*late, b):
                        items = [kv for kv in items if kv != late]
                        continue
                worst = min(items, key=lambda kv: (part.offset + kv[0] in protected,
                                                   part.prob[kv[0]]))
            if spill(*worst, b):
                items = [kv for kv in items if kv != worst]
                continue
            dropped.add(part.offset + worst[0])
            items = [kv for kv in items if kv[0] != worst[0]]
        for k, v, t in res:
            timed[k, v] = t
            exposures.append(Exposure(part.offset + k, v, float(t), part.exposure_at(k, v), b))
        if res:
            k, v, t = res[-1]
            last = (k, part.filters[v], t + part.exposure_at(k, v))
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
