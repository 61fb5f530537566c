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
    started: set[int] = set()
    pending: list[tuple[float, int, int]] = []  # (earliest start, local k, visit)
    last_start: dict[int, float] = {}
    out: list[Exposure] = []
    last_k, last_f, last_end = None, None, -np.inf
    n_fields = 0
    max_fields = part.strategy.max_fields
    b = 0
    t = part.blocks.start[0]
    while b < nb:
        start_b, end_b = part.blocks.start[b], part.blocks.end[b]
        t = max(t, start_b)
        choice = None
        for idx, (due, k, v) in enumerate(pending):
            if due <= t and part.visible[k, b]:
                choice = (k, v, idx)
                break
        if choice is None and (max_fields is None or n_fields < max_fields):
            for k in order:
                if k not in started and part.visible[k, b]:
                    choice = (int(k), 0, None)
                    break
        if choice is None:
            nxt = [due for due, k, v in pending if due > t and due < end_b]
            if nxt:
                t = min(nxt)
            else:
                b += 1
                if b < nb:
                    t = part.blocks.start[b]
            continue
        k, v, idx = choice
        f = part.filters[v]
        ts = max(t, last_end + transition_time(part, last_k, k, last_f, f))
        if v > 0:
            ts = max(ts, last_start[k] + part.strategy.min_gap)
        te = ts + part.exposures[v]
        fits = te <= end_b or (
            b + 1 < nb and part.blocks.start[b + 1] == end_b and te <= part.blocks.end[b + 1]
            and part.visible[k, b + 1]
        )
        if not fits:
            b += 1
            if b < nb:
                t = part.blocks.start[b]
            continue
        out.append(Exposure(part.offset + k, v, float(ts), part.exposures[v], b))
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
