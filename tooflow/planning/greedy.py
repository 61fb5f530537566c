"""Greedy baseline: each telescope takes its most probable visible field next.

This is what a simple scheduler does (and what the optimiser must beat): walk
through the night; when a field's next visit is due (minimum gap elapsed) and
still observable, take it (oldest first); otherwise start the most probable
visible field not yet observed. Telescopes do not coordinate, so overlapping
fields of two telescopes are both observed and the union counts them once.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem, TelescopeProblem
from .sequence import Exposure, transition_time

__all__ = ["greedy_part", "greedy_plan"]


def greedy_part(part: TelescopeProblem) -> list[Exposure]:
    """Greedy schedule of one telescope (times inside its blocks)."""
    nb = len(part.blocks)
    nv = len(part.filters)
    if nb == 0 or len(part) == 0:
        return []
    order = np.argsort(part.prob)[::-1]
    if part.baseline is not None:
        # exposure times to choose from: the baseline takes the strategy's own
        order = order[part.baseline[order]]
    max_gap = part.max_gap
    started: set[int] = set()
    pending: list[tuple[float, int, int]] = []  # (earliest start, local k, visit)
    last_start: dict[int, float] = {}
    out: list[Exposure] = []
    last_k, last_f, last_end = None, None, -np.inf
    n_fields = 0
    max_fields = part.strategy.max_fields
    b = 0
    t = part.blocks.start[0]
    ws_all = part.win_start if part.win_start is not None else np.tile(
        part.blocks.start, (len(part), 1))
    we_all = part.win_end if part.win_end is not None else np.tile(
        part.blocks.end, (len(part), 1))

    def timing(k: int, v: int, t: float, b: int):
        """Start and end if (k, v) can be taken at ``t`` in block ``b``, else None."""
        if not part.visible[k, b]:
            return None
        ts = max(t, ws_all[k, b],
                 last_end + transition_time(part, last_k, k, last_f, part.filters[v]))
        if v > 0:
            ts = max(ts, last_start[k] + part.strategy.min_gap)
        te = ts + part.exposure_at(k, v)
        if v > 0 and max_gap is not None and ts > last_start[k] + max_gap + 1e-6:
            return None
        if te <= we_all[k, b] + 1e-6:
            return ts, te
        # an exposure may run into the next block if the field stays visible there
        nxt = b + 1
        if (we_all[k, b] >= part.blocks.end[b] - 1e-6 and nxt < nb
                and part.blocks.start[nxt] == part.blocks.end[b] and part.visible[k, nxt]
                and ws_all[k, nxt] <= part.blocks.start[nxt] + 1e-6
                and te <= we_all[k, nxt] + 1e-6):
            return ts, te
        return None

    while b < nb:
        start_b, end_b = part.blocks.start[b], part.blocks.end[b]
        t = max(t, start_b)
        if t >= end_b:
            b += 1
            continue
        choice = None
        for idx, (due, k, v) in enumerate(pending):
            if due <= t + 60.0 and ws_all[k, b] <= t + 1e-6:
                tt = timing(k, v, t, b)
                if tt is not None and tt[0] < end_b:
                    choice = (k, v, idx, tt)
                    break
        if choice is None and (max_fields is None or n_fields < max_fields):
            for k in order:
                if k not in started and ws_all[k, b] <= t + 1e-6:
                    tt = timing(int(k), 0, t, b)
                    if tt is not None and tt[0] < end_b:
                        choice = (int(k), 0, None, tt)
                        break
        if choice is None:
            later = [due for due, k, v in pending if t < due < end_b]
            later += [w for w in ws_all[:, b] if t < w < end_b]
            t = min(later) if later else end_b
            if t >= end_b:
                b += 1
            continue
        k, v, idx, (ts, te) = choice
        f = part.filters[v]
        out.append(Exposure(part.offset + k, v, float(ts), part.exposure_at(k, v), b))
        last_start[k] = ts
        if idx is not None:
            pending.pop(idx)
        else:
            started.add(k)
            n_fields += 1
        if v + 1 < nv:
            pending.append((ts + part.strategy.min_gap, k, v + 1))
            pending.sort()
        last_k, last_f, last_end = k, f, te
        t = last_end
        while b < nb and t >= part.blocks.end[b]:
            b += 1
    return out


def greedy_plan(problem: Problem) -> list[Exposure]:
    """Greedy exposures of every telescope of the problem."""
    out: list[Exposure] = []
    for part in problem.parts:
        out.extend(greedy_part(part))
    return out
