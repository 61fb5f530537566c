"""Per-program observing strategy for one telescope."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..telescopes import Telescope

__all__ = ["Strategy", "default_strategy", "resolve_strategies", "visit_gap", "DEFAULT_VISITS",
           "DETECTION_MAX_GAP"]

#: Default visit filters per telescope (a field counts when all its visits are done).
DEFAULT_VISITS = {
    "ZTF": ["g", "r"],
    "DECam": ["i"],
    "Gattini": ["J"],
    "GROWTH-India": ["r"],
    "KPED": ["r"],
}
#: Default ``max_gap`` beyond ``min_gap`` between consecutive visits of a field
#: under the detection objective (s): a kilonova fades while a second visit waits.
DETECTION_MAX_GAP = 3600.0


@dataclass
class Strategy:
    """How a telescope observes for a program.

    Attributes
    ----------
    filters : list of str
        One visit per entry, in order (``["g", "r"]``: g first, then r).
    exposure_time : dict of str to float
        Exposure per filter (s); missing filters use the telescope's default.
    min_gap : float
        Minimum time between the starts of consecutive visits of a field (s).
    max_fields : int or None
        Maximum number of fields (or targets) per plan.
    block_minutes : float or None
        Length of the planner's time blocks (min). None: 15 min when a field has
        several visits (so that gaps are respected finely), 30 min otherwise.
    min_probability : float
        Fields (targets) with less probability inside them are never planned.
    min_marginal : float or None
        Least a field (all its visits) must add to the plan's objective to be
        scheduled, as a fraction of the probability (None: the telescope's
        ``min_marginal_probability``). Fill-in fields are held to it too.
    mode : str
        ``tiling`` (field grid), ``galaxies`` (pointed galaxy targets) or
        ``pointed`` (one pointing on a source position).
    unavailable : list of (datetime, datetime)
        Periods when the telescope cannot observe for this program.
    exposure_options : list of float or None
        Exposure times (s) the ``detection`` objective chooses from for this
        telescope (None: tooflow's defaults per telescope, see
        :data:`~tooflow.planning.detection.DEFAULT_EXPOSURE_OPTIONS`, unless
        ``exposure_time`` fixes the visits' exposure).
    secondary_grid : bool or None
        Also tile with the telescope's secondary field grid (ZTF: IDs ≥ 1000, shifted
        to fill the primary grid's chip gaps). None: yes under the ``detection``
        objective, no under ``coverage``.
    max_gap : float or None
        Longest time between the starts of consecutive visits of a field (s).
        None: no limit under ``coverage``; ``min_gap`` + 1 h under ``detection``
        (the counterpart fades while the second visit waits).
    """

    filters: list[str] = field(default_factory=lambda: ["r"])
    exposure_time: dict[str, float] = field(default_factory=dict)
    min_gap: float = 1800.0
    max_fields: int | None = None
    block_minutes: float | None = None
    min_probability: float = 1e-4
    min_marginal: float | None = None
    mode: str = "tiling"
    unavailable: list = field(default_factory=list)
    exposure_options: list[float] | None = None
    max_gap: float | None = None
    secondary_grid: bool | None = None

    @property
    def block_length(self) -> float:
        """Block length in minutes (see ``block_minutes``)."""
        if self.block_minutes is not None:
            return float(self.block_minutes)
        return 15.0 if len(self.filters) > 1 else 30.0

    def marginal_threshold(self, tel: Telescope) -> float:
        """The least a field must add to be scheduled (see ``min_marginal``)."""
        return float(tel.min_marginal if self.min_marginal is None else self.min_marginal)

    def exposure(self, tel: Telescope, filt: str) -> float:
        """Exposure time (s) of a visit in ``filt`` on ``tel``."""
        if filt in self.exposure_time:
            return float(self.exposure_time[filt])
        if filt in tel.exposure_time:
            return float(tel.exposure_time[filt])
        raise ValueError(f"{tel.name}: no exposure time for filter {filt!r}")


def default_strategy(tel: Telescope) -> Strategy:
    """The strategy used when a program says nothing about this telescope."""
    visits = DEFAULT_VISITS.get(tel.name, tel.filters[:1])
    mode = "tiling" if tel.has_grid else "galaxies"
    return Strategy(filters=list(visits), mode=mode)


def visit_gap(strategy: Strategy) -> float:
    """Longest time (s) between consecutive visits of a field under the detection objective."""
    if strategy.max_gap is not None:
        return float(strategy.max_gap)
    return float(strategy.min_gap) + DETECTION_MAX_GAP


def resolve_strategies(
    telescopes: list[Telescope], strategy: Strategy | dict | None
) -> dict[str, Strategy]:
    """One :class:`Strategy` per telescope from a shared one, a mapping or defaults."""
    out = {}
    for tel in telescopes:
        if isinstance(strategy, Strategy):
            s = strategy
        elif isinstance(strategy, dict) and tel.name in strategy:
            s = strategy[tel.name]
            if isinstance(s, dict):
                s = Strategy(**s)
        else:
            s = default_strategy(tel)
        for f in s.filters:
            s.exposure(tel, f)  # raises a clear error for an unknown filter
        out[tel.name] = s
    return out
