"""Mixed-integer model of the network plan, solved with OR-Tools.

Formulation (time blocks rather than exposure slots):

* ``x[i, v, b]`` (binary): visit ``v`` of candidate ``i`` happens in block ``b``
  of its telescope; only blocks where ``i`` is observable for at least one visit
  get a variable.
* each visit happens at most once and all visits of a field happen together:
  ``sum_b x[i, v, b] = sum_b x[i, 0, b] <= 1``;
* visit order and minimum gap, as cumulative sums: visits ``v`` by block ``b``
  ≤ visits ``v-1`` by the last block that still leaves the gap (and, under a
  maximum gap, visits ``v-1`` by ``b`` ≤ visits ``v`` by the last block within
  it); the cumulative sums are continuous variables chained block by block, so
  each of these rows has two terms;
* block capacity: ``sum cost_v x[i, v, b] <= capacity_b`` per telescope block
  (exposure, readout, overhead and a typical slew per visit; filter changes and a
  long slew per block are reserved);
* fields that set (rise) inside a block: the visits whose visibility window
  closes by time ``e`` fit between the block start and ``e`` (symmetrically for
  rising fields);
* optional maximum number of fields per telescope;
* union coverage: ``y_r <= sum_{i covers r} sum_b x[i, 0, b]``, ``0 <= y_r <= 1``,
  objective ``max sum_r p_r y_r`` over sky regions (pixels grouped by the set of
  candidates covering them), so overlaps count once;
* optionally a tie-break ``epsilon * sum_i p_i z_i`` (own probability of each
  completed field; off by default as it slows the solver). Instead,
  :func:`fill_idle` afterwards gives idle telescope time to the fields left out
  that add most to the union, as long as they add at least the telescope's
  threshold (this never lowers the union, and never spends time on sky already
  covered).

Why a MIP solved by SCIP through ``pywraplp`` rather than a dense time-indexed
CP-SAT model: the block model has tens of thousands of binaries instead of
hundreds of thousands, its LP relaxation is nearly integral (block assignment is
a transportation problem; only the union objective makes it fractional), and
SCIP's LP-based branch and bound proves small gaps quickly on one core while
reporting a bound. CP-SAT (also through ``pywraplp``, solver ``SAT``) and HiGHS
can be selected with ``solver=``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .problem import BlockUse, Problem

__all__ = ["Solution", "solve", "fill_idle"]


@dataclass
class Solution:
    """Result of the optimiser.

    Attributes
    ----------
    assignment : dict
        ``(global candidate, visit) -> block index`` of every scheduled visit.
    objective : float
        Union probability of completed fields, as the model counts it.
    bound : float
        Solver's proven upper bound on the objective.
    status : str
        ``OPTIMAL``, ``FEASIBLE`` (time limit hit), ``INFEASIBLE``...
    solve_time : float
        Solver wall time (s).
    """

    assignment: dict[tuple[int, int], int]
    objective: float
    bound: float
    status: str
    solve_time: float
    n_variables: int = 0
    n_constraints: int = 0
    #: True when the solver proved no bound below ``total`` (e.g. stopped before its
    #: root LP): the bound is then what all the candidates together could reach
    bound_is_total: bool = False

    @property
    def gap(self) -> float:
        """Relative gap ``(bound - objective) / bound`` (0 when bound is 0)."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.objective) / self.bound)


def solve(
    problem: Problem,
    time_limit: float = 20.0,
    solver: str = "SCIP",
    threads: int = 1,
    relative_gap: float = 0.005,
    region_tolerance: float = 1e-4,
    epsilon: float = 0.0,
    hint: dict[tuple[int, int], int] | None = None,
) -> Solution:
    """Solve the block-assignment MIP.

    Parameters
    ----------
    problem : Problem
    time_limit : float
        Seconds.
    solver : str
        ``SCIP`` (default), ``SAT`` (CP-SAT), ``HIGHS`` or ``CBC``.
    threads : int
        Solver threads (SCIP uses one).
    relative_gap : float
        Stop when the proven gap is below this.
    region_tolerance : float
        Coverage: total probability of the smallest sky regions left out of the
        model (their probability is added to the bound). The detection objective
        leaves out its smallest terms instead (:data:`.detection.TERM_TOLERANCE`).
    hint : dict, optional
        A feasible assignment (:func:`.problem.model_feasible`, the detection incumbent)
        to start from; it is completed to every variable of the model, else SCIP
        ignores it.
    """
    from ortools.linear_solver import pywraplp

    t0 = time.perf_counter()
    s = pywraplp.Solver.CreateSolver(solver)
    if s is None:
        raise RuntimeError(f"OR-Tools solver {solver!r} is not available")
    inf = s.infinity()
    x: dict[tuple[int, int, int], object] = {}
    first_visit: dict[int, list] = {}
    first_blocks: dict[int, list[tuple[int, object]]] = {}
    # continuous variables as sums of others, in the order they can be computed
    # (a complete warm start, :func:`_complete_hint`)
    derived: list[tuple[object, list]] = []
    for part in problem.parts:
        xp: dict[tuple[int, int, int], object] = {}
        nv = len(part.filters)
        preds = [None] + [part.predecessors(v) for v in range(1, nv)]
        succs = [None] + [part.successors(v) for v in range(1, nv)]
        for k in range(len(part)):
            i = part.offset + k
            blocks = np.flatnonzero(part.visible[k])
            allowed = [blocks]
            for v in range(1, nv):
                prev = allowed[-1]
                if len(prev) == 0:
                    allowed.append(prev)
                    continue
                ok = preds[v][blocks] >= prev.min()
                allowed.append(blocks[ok])
            if any(len(a) == 0 for a in allowed):
                continue
            # a first visit is useless if no later visit can follow it
            for v in range(nv - 1, 0, -1):
                last = allowed[v].max()
                allowed[v - 1] = allowed[v - 1][allowed[v - 1] <= preds[v][last]]
            if any(len(a) == 0 for a in allowed):
                continue
            for v in range(nv):
                for b in allowed[v]:
                    xp[i, v, int(b)] = s.BoolVar(f"x_{i}_{v}_{b}")
            first_visit[i] = [xp[i, 0, int(b)] for b in allowed[0]]
            first_blocks[i] = [(int(b), xp[i, 0, int(b)]) for b in allowed[0]]
            _row(s, [(x0, 1.0) for x0 in first_visit[i]], -inf, 1.0)
            if nv == 1:
                continue
            # cumulative visits: cum[v][j] = Σ x[i, v, b] over the first j+1 allowed
            # blocks (continuous, a chain), so that order and gaps are two-term rows
            # (the sums written out had O(blocks²) terms per field: 1.6 of the 1.8
            # million non-zeros of S190425z's four-telescope detection model)
            cum = []
            for v in range(nv):
                chain = [xp[i, v, int(allowed[v][0])]]
                for b in allowed[v][1:]:
                    c = s.NumVar(0.0, 1.0, "")
                    _row(s, [(c, 1.0), (chain[-1], -1.0), (xp[i, v, int(b)], -1.0)], 0.0, 0.0)
                    derived.append((c, [chain[-1], xp[i, v, int(b)]]))
                    chain.append(c)
                cum.append(chain)

            def by(v: int, lim: int, allowed=allowed, cum=cum):
                """Visits v in blocks ≤ lim (None: no allowed block)."""
                j = int(np.searchsorted(allowed[v], lim, side="right")) - 1
                return cum[v][j] if j >= 0 else None

            for v in range(1, nv):
                # all visits or none
                _row(s, [(cum[v][-1], 1.0), (cum[0][-1], -1.0)], 0.0, 0.0)
                for j, b in enumerate(allowed[v]):
                    # visit v by block b → visit v-1 by the last block leaving the gap
                    rhs = by(v - 1, preds[v][b])
                    _row(s, [(cum[v][j], 1.0)] + ([(rhs, -1.0)] if rhs is not None else []),
                         -inf, 0.0)
                if succs[v] is not None:
                    # at most max_gap later: visit v-1 by block b → visit v by succ[b]
                    for j, b in enumerate(allowed[v - 1]):
                        rhs = by(v, succs[v][b])
                        _row(s, [(cum[v - 1][j], 1.0)]
                             + ([(rhs, -1.0)] if rhs is not None else []), -inf, 0.0)
        x.update(xp)
        # one exposure time per field: rows of the same field exclude each other
        if part.field_key is not None:
            rows_of: dict[int, list] = {}
            for k in range(len(part)):
                rows_of.setdefault(int(part.field_key[k]), []).extend(
                    first_visit.get(part.offset + k, []))
            for terms in rows_of.values():
                if len(terms) > 1:
                    _row(s, [(t, 1.0) for t in terms], -inf, 1.0)
        # capacity per block
        per_block: dict[int, list] = {}
        for (i, v, b), var in xp.items():
            per_block.setdefault(b, []).append((var, part.cost_at(i - part.offset, v)))
        for b, terms in per_block.items():
            _row(s, terms, -inf, float(part.capacity[b]))
        # fields setting (rising) during a block must fit before (after) that time
        if part.win_start is not None:
            for b in per_block:
                start_b, end_b = part.blocks.start[b], part.blocks.end[b]
                items = [(i - part.offset, v, var) for (i, v, bb), var in xp.items() if bb == b]
                ends = sorted({part.win_end[k, b] for k, _, _ in items
                               if part.win_end[k, b] < end_b - 1e-6})
                for e in ends:
                    terms = [(var, part.cost_at(k, v)) for k, v, var in items
                             if part.win_end[k, b] <= e]
                    _row(s, terms, -inf, float(e - start_b))
                starts = sorted({part.win_start[k, b] for k, _, _ in items
                                 if part.win_start[k, b] > start_b + 1e-6})
                for a in starts:
                    terms = [(var, part.cost_at(k, v)) for k, v, var in items
                             if part.win_start[k, b] >= a]
                    _row(s, terms, -inf, float(end_b - a))
        if part.strategy.max_fields is not None:
            terms = [v for i in range(part.offset, part.offset + len(part))
                     for v in first_visit.get(i, [])]
            if terms:
                s.Add(sum(terms) <= part.strategy.max_fields)
    objective = s.Objective()
    if problem.objective == "detection" and problem.detection is not None:
        from .detection import add_detection_objective

        skipped, total, more = add_detection_objective(s, objective, problem, first_blocks)
        derived += more
        return _finish(s, objective, x, skipped, total, hint, time_limit, threads,
                       relative_gap, t0, derived, probing=False)
    # union coverage
    mat = problem.regions.matrix
    weight = problem.regions.weight
    # the smallest regions, together at most region_tolerance of probability, are
    # left out of the model (they are still counted in the plan's objective)
    ws = np.sort(weight)
    cut = ws[np.searchsorted(np.cumsum(ws), region_tolerance, side="right") - 1] if len(
        ws) and ws[0] <= region_tolerance else -1.0
    skipped = float(weight[weight <= cut].sum()) if cut >= 0 else 0.0
    for r in range(mat.shape[0]):
        if weight[r] <= cut:
            continue
        cols = mat.indices[mat.indptr[r]:mat.indptr[r + 1]]
        terms = [var for c in cols for var in first_visit.get(int(c), [])]
        if not terms or weight[r] <= 0:
            continue
        y = s.NumVar(0.0, 1.0, f"y_{r}")
        ct = s.Constraint(-inf, 0.0)
        ct.SetCoefficient(y, 1.0)
        for var in terms:
            ct.SetCoefficient(var, -1.0)
        objective.SetCoefficient(y, float(weight[r]))
        derived.append((y, terms))
    if epsilon > 0:
        for part in problem.parts:
            for k in range(len(part)):
                for var in first_visit.get(part.offset + k, []):
                    objective.SetCoefficient(var, epsilon * float(part.prob[k]))
    return _finish(s, objective, x, skipped, float(weight.sum()), hint, time_limit, threads,
                   relative_gap, t0, derived)


def _row(s, terms, lb: float, ub: float) -> None:
    """``lb ≤ Σ coef · var ≤ ub`` through the solver's coefficient API (the natural
    API's expression sums cost seconds on models of 10⁵ variables)."""
    ct = s.Constraint(lb, ub)
    for var, coef in terms:
        ct.SetCoefficient(var, coef)


def _complete_hint(x, hint, derived) -> tuple[list, list]:
    """Every variable's value in the solution a block assignment ``hint`` stands for.

    Binaries: 1 where the hint puts a visit, else 0; the continuous variables
    (``derived``, in dependency order) at ``min(1, Σ of what they sum)``, their
    best value. A partial hint is discarded by SCIP when most variables are
    unknown (measured: a hint of the binaries alone was ignored), so the
    solver starts from the whole incumbent or from nothing.
    """
    value = {var.index(): 0.0 for var in x.values()}
    for (i, v), b in hint.items():
        if (i, v, b) in x:
            value[x[i, v, b].index()] = 1.0
    for var, terms in derived:
        value[var.index()] = min(1.0, sum(value[t.index()] for t in terms))
    variables = list(x.values()) + [var for var, _ in derived]
    return variables, [value[var.index()] for var in variables]


def _finish(s, objective, x, skipped: float, total: float, hint, time_limit: float,
            threads: int, relative_gap: float, t0: float, derived=(),
            probing: bool = True) -> Solution:
    """Solve the built model; the bound includes ``skipped`` and is at most ``total``."""
    from ortools.linear_solver import pywraplp

    objective.SetMaximization()
    if hint and any(key in x for key in ((i, v, b) for (i, v), b in hint.items())):
        s.SetHint(*_complete_hint(x, hint, derived))
    if not probing and "SCIP" in s.SolverVersion():
        # SCIP's probing in presolve took all of a 120 s limit on S190425z's four-telescope
        # detection model (160 000 variables) without reaching the root LP; the
        # solver's own probing during the search stays
        s.SetSolverSpecificParametersAsString("propagating/probing/maxprerounds = 0\n")
    s.SetTimeLimit(int(max(time_limit - (time.perf_counter() - t0), 1.0) * 1000))
    if threads > 1:
        s.SetNumThreads(threads)
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, relative_gap)
    status = s.Solve(params)
    names = {
        pywraplp.Solver.OPTIMAL: "OPTIMAL",
        pywraplp.Solver.FEASIBLE: "FEASIBLE",
        pywraplp.Solver.INFEASIBLE: "INFEASIBLE",
        pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
        pywraplp.Solver.ABNORMAL: "ABNORMAL",
        pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
    }
    elapsed = time.perf_counter() - t0
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return Solution({}, 0.0, float(total), names.get(status, str(status)), elapsed,
                        s.NumVariables(), s.NumConstraints(), bound_is_total=True)
    assignment = {(i, v): b for (i, v, b), var in x.items() if var.solution_value() > 0.5}
    obj = objective.Value()  # includes the epsilon tie-break: recomputed by the caller
    try:
        bound = objective.BestBound()
    except Exception:  # noqa: BLE001 - LP-only backends
        bound = obj
    bound += skipped
    # no plan covers more than all the candidates together: at a time limit before
    # the root LP is solved, SCIP reports an infinite (1e20) bound
    is_total = bound >= total
    bound = min(bound, float(total))
    return Solution(assignment, float(obj), float(max(bound, obj)), names[status], elapsed,
                    s.NumVariables(), s.NumConstraints(), bound_is_total=is_total)


def fill_idle(problem: Problem, assignment: dict[tuple[int, int], int]) -> dict:
    """Add unscheduled candidates to blocks with spare capacity.

    Candidates are taken by decreasing marginal value (what they add to the union
    of everything already assigned, re-valued lazily as fields are added; a
    pointed target by its own worth), and only while that value reaches the
    telescope's threshold (:attr:`~.problem.TelescopeProblem.threshold`): idle
    time is not spent on sky already covered. Each gets the earliest chain of
    blocks that is visible, leaves the minimum gap between visits and fits in
    the blocks' remaining capacity (the model's constraints).

    Returns
    -------
    dict
        A new assignment ``(global candidate, visit) -> block``.
    """
    from .value import best_first, candidate_pixels, uncovered_gain

    out = dict(assignment)
    pixels = candidate_pixels(problem)
    prob = problem.grid.prob
    covered = np.zeros(len(prob), bool)
    for i in {i for i, _ in assignment}:
        covered[pixels[i]] = True
    for part in problem.parts:
        use = BlockUse(part)
        chosen = set()
        for (i, v), b in assignment.items():
            if part.offset <= i < part.offset + len(part):
                use.add(i - part.offset, v, b)
                chosen.add(i - part.offset)
        n_fields = len(chosen)

        def gain(k: int, part=part) -> float:
            return uncovered_gain(part, k, pixels, prob, covered)

        rows = [k for k in range(len(part)) if k not in chosen]
        for k in best_first(rows, gain, part.threshold):  # ends where the best adds too little
            if part.strategy.max_fields is not None and n_fields >= part.strategy.max_fields:
                break
            chain = part.earliest_chain(k, use)
            if not chain:
                continue
            for v, b in enumerate(chain):
                use.add(k, v, b)
                out[part.offset + int(k), v] = b
            covered[pixels[part.offset + k]] = True
            chosen.add(int(k))
            n_fields += 1
    return out
