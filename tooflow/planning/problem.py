"""The planning problem: candidate fields, their blocks, costs and sky regions.

Built once per plan and shared by the optimiser (:mod:`.solver`), the greedy
baseline (:mod:`.greedy`) and the sequencer (:mod:`.sequence`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..telescopes import Telescope
from . import coverage as cv
from .strategy import Strategy, visit_gap
from .visibility import Blocks, field_visibility, observing_blocks

__all__ = ["BlockUse", "TelescopeProblem", "Problem", "build_problem", "Target",
           "model_feasible"]


@dataclass
class Target:
    """A pointed target (galaxy, source position) instead of a grid field."""

    name: str
    ra: float
    dec: float
    weight: float = 0.0


@dataclass
class TelescopeProblem:
    """Candidates of one telescope.

    Attributes
    ----------
    field_ids : numpy.ndarray
        Grid field ids (or -1 for pointed targets).
    names : list of str or None
        Target names (pointed mode).
    ra, dec : numpy.ndarray
        Pointing centres (deg).
    prob : numpy.ndarray
        Probability inside each candidate's footprint (not de-duplicated).
    offset : int
        Index of this telescope's first candidate in the global numbering.
    blocks : Blocks
    visible : numpy.ndarray
        (n_candidates × n_blocks) bool: observable for at least one visit's time
        inside the block.
    win_start, win_end : numpy.ndarray
        (n_candidates × n_blocks) Unix times: the part of each block during which
        the candidate is observable (the whole block for most; a field setting or
        rising during the block gets part of it). Every exposure lies inside.
    filters, exposures : list
        Visits: filter and exposure (s) of each.
    cost : numpy.ndarray
        Time a visit takes in a block, exposure + overheads + typical slew (s).
    capacity : numpy.ndarray
        Usable seconds in each block (filter changes and a long slew removed).
    weights : numpy.ndarray or None
        Target weights (pointed mode: galaxy scores; 0 for a source position).
    points : tuple of numpy.ndarray or None
        RA, Dec of every target considered, visible in the window or not (to
        tell when they next become observable).
    texp : numpy.ndarray or None
        Per candidate, the exposure time (s) of each of its visits when the
        planner chooses exposure times (``detection`` objective): a candidate is
        then a (field, exposure time) row and rows of one field share its
        ``field_key``. None: every visit has the strategy's exposure.
    field_key : numpy.ndarray or None
        Per candidate, which field it is (rows with equal keys exclude each other).
    baseline : numpy.ndarray or None
        Rows with the strategy's own exposure time (what the greedy baseline uses).
    """

    telescope: Telescope
    strategy: Strategy
    field_ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    prob: np.ndarray
    offset: int
    blocks: Blocks
    visible: np.ndarray
    filters: list[str]
    exposures: list[float]
    cost: np.ndarray
    capacity: np.ndarray
    names: list[str] | None = None
    win_start: np.ndarray | None = None
    win_end: np.ndarray | None = None
    weights: np.ndarray | None = None
    points: tuple[np.ndarray, np.ndarray] | None = None
    texp: np.ndarray | None = None
    field_key: np.ndarray | None = None
    baseline: np.ndarray | None = None
    _links: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def exposure_at(self, k: int, v: int) -> float:
        """Exposure time (s) of visit ``v`` of candidate ``k``."""
        if self.texp is None:
            return float(self.exposures[v])
        return float(self.texp[k])

    def cost_at(self, k: int, v: int) -> float:
        """Time (s) visit ``v`` of candidate ``k`` takes in a block (exposure + overheads)."""
        if self.texp is None:
            return float(self.cost[v])
        return float(self.cost[v] - self.exposures[v] + self.texp[k])

    def row_exposures(self) -> np.ndarray:
        """Exposure time (s) of every candidate (its first visit's)."""
        if self.texp is None:
            return np.full(len(self), float(self.exposures[0]) if self.exposures else 0.0)
        return np.asarray(self.texp, float)

    def successors(self, v: int) -> np.ndarray | None:
        """For visit ``v`` ≥ 1 under a ``max_gap``: last block index allowed for visit v,
        per block of visit v-1 (None without a maximum gap).

        ``succ[b] = k``: a visit v-1 in block b needs visit v in a block ≤ k, whose
        end is at most ``max_gap`` after block b starts (so any two times in the
        two blocks are at most ``max_gap`` apart).
        """
        gap = self.max_gap
        if gap is None:
            return None
        return np.searchsorted(self.blocks.end, self.blocks.start + gap + 1e-6,
                               side="right") - 1

    @property
    def max_gap(self) -> float | None:
        """Longest gap between consecutive visits (s), or None."""
        if self.strategy.max_gap is not None:
            return float(self.strategy.max_gap)
        if self.texp is not None or self.field_key is not None:
            return visit_gap(self.strategy)
        return None

    @property
    def threshold(self) -> float:
        """The least a field must add to the objective to be scheduled."""
        return self.strategy.marginal_threshold(self.telescope)

    @property
    def pointed(self) -> bool:
        """True for pointed targets (galaxies, a source position), not grid fields."""
        return self.names is not None

    def value(self, k: int) -> float:
        """Worth of a pointed target on its own: its weight, else its probability."""
        if self.weights is not None and self.weights[k] > 0:
            return float(self.weights[k])
        return float(self.prob[k])

    def __len__(self) -> int:
        return len(self.ra)

    def earliest_chain(self, k: int, use: BlockUse) -> list[int]:
        """Earliest block of every visit of candidate ``k`` that the block model allows.

        Each visit goes to the first block where the candidate is visible and
        that still has room for it (:meth:`BlockUse.fits`: capacity, and the
        windows of fields setting or rising inside the block), after the previous
        visit by the minimum gap (:meth:`predecessors`) and within the maximum gap
        (:meth:`successors`). The greedy fill-ins of both objectives
        (:func:`.solver.fill_idle`, :func:`.detection.fill_idle_detection`) share it.

        Returns
        -------
        list of int
            One block per visit, or ``[]`` when some visit finds no block.
        """
        nv = len(self.filters)
        if self._links is None:
            self._links = ([None] + [self.predecessors(v) for v in range(1, nv)],
                           [None] + [self.successors(v) for v in range(1, nv)])
        preds, succs = self._links
        extra = np.zeros(len(self.blocks))
        chain: list[int] = []
        for v in range(nv):
            cost = self.cost_at(k, v)
            ok = self.visible[k] & (use.used + extra + cost <= self.capacity + 1e-9)
            if v > 0:
                ok &= preds[v] >= chain[-1]
                if succs[v] is not None:
                    ok[succs[v][chain[-1]] + 1:] = False
            b = next((int(b) for b in np.flatnonzero(ok) if use.fits(k, v, int(b))), None)
            if b is None:
                return []
            chain.append(b)
            extra[b] += cost
        return chain

    def predecessors(self, v: int) -> np.ndarray:
        """For visit ``v`` ≥ 1: last block index allowed for visit v-1, per block.

        ``pred[b] = k`` means visit v may be in block b only if visit v-1 is in a
        block ≤ k (−1: none): block starts at least ``min_gap`` apart. With blocks
        of equal length the sequencer can then keep every pair at least
        ``min_gap`` apart (it releases visit v at the time of visit v-1 plus the
        gap, and drops what does not fit).
        """
        start, end = self.blocks.start, self.blocks.end
        need = start - self.strategy.min_gap + 1e-6
        by_start = np.searchsorted(start, need, side="right") - 1
        # short blocks (end of night): the latest earlier visit must still leave the
        # gap before this block ends
        slack = self.exposures[v] - self.exposures[v - 1]
        need_end = end - self.strategy.min_gap - slack + 1e-6
        by_end = np.searchsorted(end, need_end, side="right") - 1
        return np.minimum(by_start, by_end)


class BlockUse:
    """What a partial block assignment of one telescope takes in each block.

    The block model's capacity (``used`` seconds per block ≤ capacity) and its
    constraints for fields setting (rising) inside a block: the visits whose
    window closes by ``e`` fit between the block start and ``e`` (symmetrically
    after a rising field's window opens). A greedy assignment built through
    :meth:`fits` and :meth:`add` is a feasible point of the MIP, so it can warm
    start the solver.
    """

    def __init__(self, part: TelescopeProblem):
        self.part = part
        self.used = np.zeros(len(part.blocks))
        self.setting: dict[int, list[tuple[float, float]]] = {}
        self.rising: dict[int, list[tuple[float, float]]] = {}

    def fits(self, k: int, v: int, b: int) -> bool:
        """True if visit ``v`` of candidate ``k`` can be added to block ``b``."""
        part = self.part
        cost = part.cost_at(k, v)
        if not part.visible[k, b] or self.used[b] + cost > part.capacity[b] + 1e-9:
            return False
        if part.win_start is None:
            return True
        s0, e0 = part.blocks.start[b], part.blocks.end[b]
        we, ws = part.win_end[k, b], part.win_start[k, b]
        ends = self.setting.get(b, []) + ([(we, cost)] if we < e0 - 1e-6 else [])
        if any(sum(c for e2, c in ends if e2 <= e) > e - s0 + 1e-9 for e, _ in ends):
            return False
        starts = self.rising.get(b, []) + ([(ws, cost)] if ws > s0 + 1e-6 else [])
        return not any(sum(c for a2, c in starts if a2 >= a) > e0 - a + 1e-9
                       for a, _ in starts)

    def add(self, k: int, v: int, b: int) -> None:
        """Take visit ``v`` of candidate ``k`` into block ``b`` (unchecked)."""
        part = self.part
        cost = part.cost_at(k, v)
        self.used[b] += cost
        if part.win_start is None:
            return
        if part.win_end[k, b] < part.blocks.end[b] - 1e-6:
            self.setting.setdefault(b, []).append((float(part.win_end[k, b]), cost))
        if part.win_start[k, b] > part.blocks.start[b] + 1e-6:
            self.rising.setdefault(b, []).append((float(part.win_start[k, b]), cost))


@dataclass
class Problem:
    """All telescopes' candidates and the shared sky regions."""

    grid: cv.ProbabilityGrid
    parts: list[TelescopeProblem]
    regions: cv.Regions
    incidence: tuple[np.ndarray, np.ndarray]  # (global candidate index, pixel)
    start: dt.datetime
    end: dt.datetime
    notes: list[str] = field(default_factory=list)
    #: the detection objective's depths and tables (:mod:`.detection`), or None
    detection: object | None = None
    #: what the optimiser maximises: ``coverage`` or ``detection``
    objective: str = "coverage"

    @property
    def n_candidates(self) -> int:
        return sum(len(p) for p in self.parts)

    def union_probability(self, chosen) -> float:
        """Sky probability covered by the union of chosen global candidates."""
        return cv.covered_probability(*self.incidence, self.grid.prob, chosen)


def block_windows(tel: Telescope, ra, dec, blocks: Blocks, step: float = 300.0):
    """Observable part ``[win_start, win_end]`` of each block for each field (Unix s).

    Visibility is sampled at the block edges and every ``step`` seconds inside;
    the window is the longest run of consecutive visible samples (altitude and
    hour angle being single-peaked over a night, visibility between two visible
    samples is assured). Empty windows have ``win_end == win_start``.
    """
    n, nb = len(ra), len(blocks)
    ws = np.zeros((n, nb))
    we = np.zeros((n, nb))
    if n == 0 or nb == 0:
        return ws, we
    samples, owner = [], []
    for b in range(nb):
        k = max(1, int(np.ceil(blocks.duration[b] / step)))
        t = np.linspace(blocks.start[b], blocks.end[b], k + 1)
        samples.append(t)
        owner.append(np.full(len(t), b))
    times = np.concatenate(samples)
    owner = np.concatenate(owner)
    vis = field_visibility(tel, ra, dec, times)
    for b in range(nb):
        cols = np.flatnonzero(owner == b)
        t = times[cols]
        v = vis[:, cols]
        full = v.all(axis=1)
        ws[full, b], we[full, b] = t[0], t[-1]
        for i in np.flatnonzero(~full & v.any(axis=1)):
            best, run_start, best_len = None, None, -1
            for j, ok in enumerate(np.r_[v[i], False]):
                if ok and run_start is None:
                    run_start = j
                elif not ok and run_start is not None:
                    if j - 1 - run_start > best_len:
                        best, best_len = (run_start, j - 1), j - 1 - run_start
                    run_start = None
            ws[i, b], we[i, b] = t[best[0]], t[best[1]]
    return ws, we


def _visit_setup(tel: Telescope, strat: Strategy):
    filters = list(strat.filters)
    exposures = [strat.exposure(tel, f) for f in filters]
    # fields observed in one block are seldom all adjacent: budget a slew of two
    # field widths per exposure
    spacing = 2.0 * np.sqrt(max(tel.footprint.area, 1e-6))
    per = tel.timing.dead_time(spacing)
    cost = np.array(exposures) + per
    return filters, exposures, cost


def _capacity(tel: Telescope, strat: Strategy, blocks: Blocks) -> np.ndarray:
    n_filters = len(set(strat.filters))
    # the sequencer starts a block with the filter the previous block ended with,
    # so a block needs at most (n_filters - 1) filter changes
    lost = tel.filter_change_time * (n_filters - 1)
    lost += 15.0 / max(tel.slew_rate, 1e-6)  # allowance for one longer slew per block
    return np.maximum(blocks.duration - lost, 0.0)


def _exposure_rows(prob, capacity, per_visit, options, factor):
    """Rows (field index, exposure time): per option the most probable fields,
    as many as ``factor`` × what the telescope could observe at that exposure."""
    order = np.argsort(prob, kind="stable")[::-1]
    rows, texp = [], []
    for tau in sorted(options):
        n_obs = int(capacity.sum() // max((per_visit + tau).sum(), 1e-6))
        keep = min(len(order), max(50, int(factor * n_obs)))
        rows.append(order[:keep])
        texp.append(np.full(keep, float(tau)))
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    texp = np.concatenate(texp) if texp else np.zeros(0)
    srt = np.lexsort((texp, rows))  # rows of one field together, shortest first
    return rows[srt], texp[srt]


def _expand_incidence(fi, ip, rows):
    """Incidence pairs of rows, each row covering the pixels of its field ``rows[r]``."""
    order = np.argsort(fi, kind="stable")
    counts = np.bincount(fi, minlength=int(rows.max()) + 1 if len(rows) else 0)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    n = counts[rows]
    new_fi = np.repeat(np.arange(len(rows)), n)
    pos = np.repeat(starts[rows] - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(n.sum())
    return new_fi, ip[order][pos]


def build_problem(
    grid: cv.ProbabilityGrid,
    telescopes: list[Telescope],
    strategies: dict[str, Strategy],
    start: dt.datetime,
    end: dt.datetime,
    targets: dict[str, list[Target]] | None = None,
    prob_floor: float = 1e-5,
    candidate_factor: float = 2.0,
    max_candidates: int = 2000,
    members=None,
    exposure_options: dict[str, list[float]] | None = None,
) -> Problem:
    """Select candidates per telescope and compute blocks, visibility and regions.

    Parameters
    ----------
    grid : ProbabilityGrid
    telescopes : list of Telescope
    strategies : dict
        Strategy per telescope name.
    start, end : datetime.datetime
        Planning window (UTC).
    targets : dict, optional
        Pointed targets per telescope name (galaxy or pointed mode); telescopes
        without an entry tile their field grid.
    prob_floor : float
        Fields with less probability than this are not candidates.
    candidate_factor : float
        Keep at most this many times the number of fields the telescope could
        observe in the window (by probability), which bounds the model size.
    max_candidates : int
        Hard cap of candidates per telescope.
    members : callable, optional
        ``members(footprint, ra, dec) -> (field_index, atom)``: what each candidate
        covers, when the atoms are not the grid's sky pixels (e.g. galaxies, with
        ``grid.prob`` holding their weights). Default: sky pixels.
    exposure_options : dict, optional
        Per telescope name, exposure times (s) to choose from (``detection``
        objective): each candidate field becomes one row per exposure time
        (the most probable fields only, as many as the telescope could observe
        at that exposure time × ``candidate_factor``), rows of one field
        excluding each other.
    """
    parts: list[TelescopeProblem] = []
    all_fidx, all_pix = [], []
    notes: list[str] = []
    offset = 0
    targets = targets or {}
    for tel in telescopes:
        strat = strategies[tel.name]
        blocks = observing_blocks(tel, start, end, strat.block_length, strat.unavailable)
        filters, exposures, cost = _visit_setup(tel, strat)
        capacity = _capacity(tel, strat, blocks)
        opts = (exposure_options or {}).get(tel.name)
        per_visit = cost - np.asarray(exposures, float)
        cheapest = (per_visit + min(opts)).sum() if opts else cost.sum()
        max_obs = int(capacity.sum() // cheapest) if len(blocks) else 0
        if strat.max_fields is not None:
            max_obs = min(max_obs, strat.max_fields)
        names = None
        weights = None
        if tel.name in targets:
            tg = targets[tel.name]
            ids = np.full(len(tg), -1)
            # point sources land on a detector, not in a central chip gap
            pts = [tel.footprint.pointing_for(t.ra, t.dec) if members is None else (t.ra, t.dec)
                   for t in tg]
            ra = np.array([p[0] for p in pts], float).reshape(-1)
            dec = np.array([p[1] for p in pts], float).reshape(-1)
            names = [t.name for t in tg]
            weights = np.array([t.weight for t in tg], float)
        elif strat.secondary_grid and "max_id" in tel.grid_spec:
            # every grid of the telescope (ZTF's secondary grid fills the primary's
            # chip gaps), as real ToO programmes do
            ids, ra, dec = tel.every_grid_fields
        else:
            ids, ra, dec = tel.fields
        edges = np.union1d(blocks.start, blocks.end)

        def any_edge_visible(ix, tel=tel, ra=ra, dec=dec, edges=edges):
            if len(ix) == 0 or len(edges) == 0:
                return np.zeros(len(ix), bool)
            return field_visibility(tel, ra[ix], dec[ix], edges).any(axis=1)

        if len(ra) and max_obs > 0 and tel.name not in targets:
            idx = cv.prefilter_fields(grid, tel.footprint, ra, dec)
            idx = idx[any_edge_visible(idx)]
            keep_n = int(min(max_candidates, max(50, candidate_factor * max_obs)))
            if len(idx) > 3 * keep_n:
                # cheap estimate for very fine grids: density at centre x area
                import healpy as hp

                pix = hp.ang2pix(grid.nside, ra[idx], dec[idx], lonlat=True, nest=True)
                est = grid.prob[pix]
                idx = idx[np.argsort(est)[::-1][: 3 * keep_n]]
            fi, ip = cv.footprint_pixels(tel.footprint, ra[idx], dec[idx], grid.order)
            prob = np.bincount(fi, weights=grid.prob[ip], minlength=len(idx))
            order = np.argsort(prob)[::-1]
            floor = max(prob_floor, strat.min_probability)
            order = order[prob[order] >= floor][:keep_n]
            sel = idx[order]
            # keep the incidence of the selected fields (renumbered) for below
            pos = np.full(len(idx), -1)
            pos[order] = np.arange(len(order))
            m = pos[fi] >= 0
            cached = (pos[fi[m]], ip[m])
        elif len(ra) and max_obs > 0:
            sel = np.arange(len(ra))
            cached = None
        else:
            sel = np.zeros(0, int)
            cached = None
        win_start, win_end = block_windows(tel, ra[sel], dec[sel], blocks)
        visible = (win_end - win_start) >= float(cost.min()) - 1e-6
        ok = visible.any(axis=1)
        sel, visible = sel[ok], visible[ok]
        win_start, win_end = win_start[ok], win_end[ok]
        if cached is not None and ok.all():
            fi, ip = cached
        elif members is not None:
            fi, ip = members(tel.footprint, ra[sel], dec[sel])
        else:
            fi, ip = cv.footprint_pixels(tel.footprint, ra[sel], dec[sel], grid.order)
        prob = np.bincount(fi, weights=grid.prob[ip], minlength=len(sel))
        texp = field_key = baseline = None
        if opts:
            rows, texp = _exposure_rows(prob, capacity, per_visit, opts, candidate_factor)
            # a row is usable in a block when its window holds its cheapest visit
            span = (win_end - win_start)[rows]
            visible = span >= (per_visit.min() + texp)[:, None] - 1e-6
            ok = visible.any(axis=1)
            rows, texp, visible = rows[ok], texp[ok], visible[ok]
            fi, ip = _expand_incidence(fi, ip, rows)
            sel, win_start, win_end = sel[rows], win_start[rows], win_end[rows]
            prob, field_key = prob[rows], rows
            baseline = np.isclose(texp, exposures[0])
        all_fidx.append(fi + offset)
        all_pix.append(ip)
        part = TelescopeProblem(
            telescope=tel, strategy=strat, field_ids=np.asarray(ids)[sel], ra=ra[sel],
            dec=dec[sel], prob=prob, offset=offset, blocks=blocks, visible=visible,
            win_start=win_start, win_end=win_end,
            filters=filters, exposures=exposures, cost=cost, capacity=capacity,
            names=[names[i] for i in sel] if names is not None else None,
            weights=weights[sel] if weights is not None else None,
            points=(ra, dec) if names is not None else None,
            texp=texp, field_key=field_key, baseline=baseline,
        )
        notes.append(
            f"{tel.name}: {len(blocks)} blocks, {blocks.duration.sum() / 3600:.2f} h of night, "
            f"{len(sel)} visible candidates, up to {max_obs} fields"
        )
        parts.append(part)
        offset += len(sel)
    fidx = np.concatenate(all_fidx) if all_fidx else np.zeros(0, int)
    pix = np.concatenate(all_pix) if all_pix else np.zeros(0, int)
    regions = cv.build_regions(fidx, pix, grid.prob, offset)
    return Problem(grid=grid, parts=parts, regions=regions, incidence=(fidx, pix),
                   start=start, end=end, notes=notes)


def model_feasible(problem: Problem, assignment: dict[tuple[int, int], int]) -> dict:
    """The fields of a block assignment that the MIP's constraints admit, in order.

    A field (all its visits) is kept when every visit is in a block where it is
    visible, the visits keep the minimum and maximum gaps, it is the only row of
    its field, and its visits fit next to the fields kept before it
    (:class:`BlockUse`). The greedy baseline is timed in continuous
    time and may break the block model's capacity or windows; what this keeps
    is a feasible warm start for the solver.
    """
    by_cand: dict[int, dict[int, int]] = {}
    for (i, v), b in assignment.items():
        by_cand.setdefault(i, {})[v] = b
    out: dict[tuple[int, int], int] = {}
    for part in problem.parts:
        nv = len(part.filters)
        use = BlockUse(part)
        keys = part.field_key if part.field_key is not None else np.arange(len(part))
        taken: set[int] = set()
        preds = [None] + [part.predecessors(v) for v in range(1, nv)]
        succs = [None] + [part.successors(v) for v in range(1, nv)]
        n_fields = 0
        for i, visits in by_cand.items():
            k = i - part.offset
            if not 0 <= k < len(part) or sorted(visits) != list(range(nv)):
                continue
            chain = [visits[v] for v in range(nv)]
            if int(keys[k]) in taken or (part.strategy.max_fields is not None
                                         and n_fields >= part.strategy.max_fields):
                continue
            if any(preds[v][chain[v]] < chain[v - 1]
                   or (succs[v] is not None and chain[v] > succs[v][chain[v - 1]])
                   for v in range(1, nv)):
                continue
            if len(set(chain)) < nv or not all(use.fits(k, v, b) for v, b in enumerate(chain)):
                continue
            for v, b in enumerate(chain):
                use.add(k, v, b)
                out[i, v] = b
            taken.add(int(keys[k]))
            n_fields += 1
    return out
