"""KPED (Kitt Peak EMCCD Demonstrator) behind the generic JSON queue protocol.

Each target also carries the fields of the KPED scheduler's own request
(``name``, ``epoch``, ``exposure_counts``, ``priority``, ``program_pi``, filter
names ``gs``/``rs``/``uj``...). Site and depth from the GROWTH ToO marshal's
``KPED.config``: r ≈ 23.3 mag in 300 s, 10 s overhead.
"""

from __future__ import annotations

from typing import Any

from tooflow.facilities.base import Site
from tooflow.facilities.http import FacilityError
from tooflow.facilities.queue import JsonQueueFacility
from tooflow.observations import PlannedObservation

__all__ = ["KPEDFacility", "KITT_PEAK", "KPED_FILTERS"]

#: Kitt Peak National Observatory.
KITT_PEAK = Site("Kitt Peak", lat=31.9599, lon=-111.5997, elevation=2096.0, airmass_limit=2.5)

#: tooflow filter name → KPED filter-wheel name (SDSS g/r, Johnson U B V R I).
KPED_FILTERS = {"g": "gs", "r": "rs", "U": "uj", "B": "bj", "V": "vj", "R": "rj", "I": "ij"}


class KPEDFacility(JsonQueueFacility):
    """KPED queue."""

    name = "KPED"
    default_site = KITT_PEAK
    filters = frozenset(KPED_FILTERS)
    overhead = 10.0
    depth = {"gs": 23.5, "rs": 23.3, "uj": 21.5, "bj": 22.8, "vj": 23.0, "rj": 23.0,
             "ij": 22.5}
    reference_exposure = 300.0

    def target(self, obs: PlannedObservation) -> dict[str, Any]:
        """Generic target plus the KPED scheduler's fields."""
        if obs.filter not in KPED_FILTERS:
            raise FacilityError(f"KPED has no filter {obs.filter!r} "
                                f"(has {', '.join(KPED_FILTERS)}): {obs.request_key}")
        return {**super().target(obs), "filter": KPED_FILTERS[obs.filter],
                "name": obs.target or obs.request_key, "epoch": 2000, "exposure_counts": 1,
                "priority": 1, "program_pi": self.config.user}
