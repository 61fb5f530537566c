"""What each field adds to a plan: marginal values and the per-telescope threshold.

A field (all its visits) is worth what it adds to the plan's objective, the
union of everything planned: the probability of the sky (or the galaxy weight)
that no other planned field covers. A field worth less than its telescope's
threshold (:meth:`~tooflow.planning.Strategy.marginal_threshold`) is not
scheduled, fill-in included: a DECam field that adds 0.0 % or hours of
GROWTH-India exposures on sky ZTF already covers cost telescope time for nothing.

Pointed targets (a source position, galaxies) are judged on their own worth
(their weight, else the probability inside the footprint): pointing several
telescopes at one source is the program's choice. They still count in the union
that grid fields are judged against.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .problem import Problem
from .sequence import Exposure, completed_candidates

__all__ = ["best_first", "candidate_pixels", "prune_low_value", "thresholds",
           "uncovered_gain"]


def candidate_pixels(problem: Problem) -> list[np.ndarray]:
    """The atoms (sky pixels or galaxies) each global candidate covers."""
    fidx, pix = problem.incidence
    order = np.argsort(fidx, kind="stable")
    bounds = np.searchsorted(fidx[order], np.arange(problem.n_candidates + 1))
    return [pix[order[bounds[i]:bounds[i + 1]]] for i in range(problem.n_candidates)]


def uncovered_gain(part, k: int, pixels: list[np.ndarray], prob: np.ndarray,
                   covered: np.ndarray) -> float:
    """What row ``k`` of a telescope's part adds to the covered probability.

    Parameters
    ----------
    part : tooflow.planning.problem.TelescopeProblem
        The telescope's candidates.
    k : int
        Row within the part.
    pixels : list of numpy.ndarray
        The atoms each global candidate covers (:func:`candidate_pixels`).
    prob : numpy.ndarray
        Probability per atom.
    covered : numpy.ndarray of bool
        Atoms already covered.

    Returns
    -------
    float
        A pointed target's own value, else the probability of its atoms not yet covered.
    """
    if part.pointed:
        return part.value(k)
    p = pixels[part.offset + k]
    return float(prob[p[~covered[p]]].sum())


def best_first(rows: Iterable[int], gain: Callable[[int], float], threshold: float, *,
               positive: bool = False) -> Iterator[int]:
    """Rows by decreasing gain, re-valued lazily, while the best reaches ``threshold``.

    The fill-in loops' order (:func:`~.solver.fill_idle` into the blocks,
    :func:`~.repair.insert_fields` into timed idle time). A row's gain (what it
    adds to the union so far) only falls as the caller takes rows, so a row whose
    fresh gain is still at least every other row's last value is the best now:
    rows are re-valued when they come up, not all after each take.

    Parameters
    ----------
    rows : iterable of int
        Rows of a telescope's part, valued once up front.
    gain : callable
        ``gain(k)``: what row ``k`` adds now; it must see what the caller took.
    threshold : float
        The stop rule: the rows end at the first best row worth less (none after
        it is worth more).
    positive : bool
        Also end at the first best row worth nothing (a threshold of 0 still
        takes no row that adds nothing).

    Yields
    ------
    int
        The best row left; the caller takes it or skips it (no room for it).
    """
    heap = [(-gain(k), int(k)) for k in rows]
    heapq.heapify(heap)
    while heap:
        _, k = heapq.heappop(heap)
        g = gain(k)
        if heap and g < -heap[0][0] - 1e-15:
            heapq.heappush(heap, (-g, k))  # re-valued lower: try the next first
            continue
        if g < threshold or (positive and g <= 0):
            return
        yield k


def thresholds(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per global candidate: threshold, pointed flag and own worth (pointed targets)."""
    n = problem.n_candidates
    th, pointed, own = np.zeros(n), np.zeros(n, bool), np.zeros(n)
    for part in problem.parts:
        sl = slice(part.offset, part.offset + len(part))
        th[sl] = part.threshold
        if part.pointed:
            pointed[sl] = True
            own[sl] = [part.value(k) for k in range(len(part))]
    return th, pointed, own


def prune_low_value(problem: Problem, exposures: list[Exposure]
                    ) -> tuple[list[Exposure], dict[str, int]]:
    """Drop the fields that add less than their telescope's threshold.

    Fields are removed one at a time, the least worth (relative to its
    threshold) first, and the others re-valued after each removal: of two
    fields covering the same sky, one is kept.

    Returns
    -------
    exposures : list of Exposure
        The exposures of the fields kept.
    pruned : dict of str to int
        Number of fields removed per telescope.
    """
    done = completed_candidates(problem, exposures)
    if not done:
        return exposures, {}
    th, pointed, own = thresholds(problem)
    prob = problem.grid.prob
    pixels = candidate_pixels(problem)
    count = np.zeros(len(prob), np.int64)
    owner_sum = np.zeros(len(prob), np.int64)
    for i in done:
        np.add.at(count, pixels[i], 1)
        np.add.at(owner_sum, pixels[i], i)
    value = np.zeros(problem.n_candidates)
    for i in done:
        p = pixels[i]
        value[i] = own[i] if pointed[i] else float(prob[p[count[p] == 1]].sum())
    alive = np.zeros(problem.n_candidates, bool)
    alive[list(done)] = True
    pruned: dict[str, int] = {}
    while True:
        below = np.flatnonzero(alive & (value < th - 1e-12))
        if len(below) == 0:
            break
        rel = value[below] / np.maximum(th[below], 1e-12)
        i = int(below[np.lexsort((-th[below], rel))[0]])
        alive[i] = False
        p = pixels[i]
        np.add.at(count, p, -1)
        np.add.at(owner_sum, p, -i)
        alone = p[count[p] == 1]
        owners = owner_sum[alone]
        grid_owner = ~pointed[owners]
        np.add.at(value, owners[grid_owner], prob[alone[grid_owner]])
        name = next(part.telescope.name for part in problem.parts
                    if part.offset <= i < part.offset + len(part))
        pruned[name] = pruned.get(name, 0) + 1
    return [e for e in exposures if alive[e.candidate]], pruned
