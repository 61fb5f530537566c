"""How long a telescope takes between two exposures: the one model of an exposure's duration.

Between the end of one exposure and the start of the next a telescope spends
its per-exposure overhead, then the longer of the readout and the slew (the
camera reads out while the telescope moves), plus a filter change when the
filter changes::

    dead time = overhead + max(readout, slew distance / slew rate) [+ filter change]

The planner times its exposures with it (:mod:`tooflow.planning.sequence`,
the greedy baseline, the optimiser's cost of a visit) and the simulator
observes with it (:mod:`tooflow.simulator.engine`), so a plan observed by the
simulator ends when the plan says it does. The numbers are the telescope
catalogue's (``tooflow/telescopes/data/<name>.yaml``: ``overhead_per_exposure``,
``readout``, ``slew_rate``, ``filter_change_time``); :attr:`Telescope.timing
<tooflow.telescopes.catalogue.Telescope.timing>` gives them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ExposureTiming", "angular_distance"]


def angular_distance(ra1, dec1, ra2, dec2):
    """Great-circle distance (deg) between points given in degrees (scalars or arrays)."""
    import numpy as np

    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    c = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def _distance(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """:func:`angular_distance` of two scalar positions, without numpy's per-call cost."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


@dataclass(frozen=True)
class ExposureTiming:
    """A telescope's time between exposures (seconds; slew rate in deg/s).

    Attributes
    ----------
    overhead : float
        Per exposure, whatever comes next (``overhead_per_exposure``).
    readout : float
        Camera readout; overlaps the slew.
    slew_rate : float
        Degrees per second (``inf``: pointing changes cost nothing beyond the readout).
    filter_change : float
        When the next exposure uses another filter.
    """

    overhead: float = 0.0
    readout: float = 0.0
    slew_rate: float = 1.0
    filter_change: float = 0.0

    def dead_time(self, slew: float, filter_changed: bool = False) -> float:
        """Seconds from the end of one exposure to the start of the next.

        Parameters
        ----------
        slew : float
            Distance between the two pointings, degrees.
        filter_changed : bool
            Whether the next exposure uses another filter.

        Examples
        --------
        >>> ExposureTiming(overhead=10, readout=10, slew_rate=2.6).dead_time(7.0)
        20.0
        >>> ExposureTiming(overhead=28, readout=28, slew_rate=0.3,
        ...                filter_change=8).dead_time(12.0, filter_changed=True)
        76.0
        """
        move = 0.0 if math.isinf(self.slew_rate) else float(slew) / max(self.slew_rate, 1e-6)
        return (self.overhead + max(self.readout, move)
                + (self.filter_change if filter_changed else 0.0))

    def between(self, previous: tuple[float, float, str] | None, ra: float, dec: float,
                filter_name: str) -> float:
        """:meth:`dead_time` after the exposure ``previous`` = ``(ra, dec, filter)``
        (None: nothing before it, no dead time)."""
        if previous is None:
            return 0.0
        pra, pdec, pfilter = previous
        return self.dead_time(_distance(pra, pdec, ra, dec), pfilter != filter_name)
