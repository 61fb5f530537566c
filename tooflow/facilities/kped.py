"""KPED (Kitt Peak EMCCD Demonstrator) behind the generic JSON queue protocol.

Each target also carries the fields of the KPED scheduler's own request
(``name``, ``epoch``, ``exposure_counts``, ``priority``, ``program_pi``, filter
names ``gs``/``rs``/``uj``...) and ``band``, the filter's catalogue name. Site,
overhead and depths come from the telescope catalogue
(``tooflow/telescopes/data/KPED.yaml``: r ≈ 23.3 mag in 300 s, 10 s overhead).
"""

from __future__ import annotations

from typing import Any

from tooflow.facilities.http import FacilityError
from tooflow.facilities.queue import JsonQueueFacility
from tooflow.observations import PlannedObservation
from tooflow.telescopes import Telescope

__all__ = ["KPEDFacility", "KPED_FILTERS"]

#: tooflow filter name → KPED filter-wheel name (SDSS g/r, Johnson U B V R I).
KPED_FILTERS = {"g": "gs", "r": "rs", "U": "uj", "B": "bj", "V": "vj", "R": "rj", "I": "ij"}


class KPEDFacility(JsonQueueFacility):
    """KPED queue."""

    name = "KPED"
    filters = frozenset(KPED_FILTERS)

    def depths_for(self, tel: Telescope) -> dict[str, float]:
        """The catalogue's depths under the filter-wheel names (``rs``...)."""
        return {KPED_FILTERS[f]: v for f, v in tel.zenith_dark.items() if f in KPED_FILTERS}

    def target(self, obs: PlannedObservation) -> dict[str, Any]:
        """Generic target plus the KPED scheduler's fields."""
        if obs.filter not in KPED_FILTERS:
            raise FacilityError(f"KPED has no filter {obs.filter!r} "
                                f"(has {', '.join(KPED_FILTERS)}): {obs.request_key}")
        return {**super().target(obs), "filter": KPED_FILTERS[obs.filter], "band": obs.filter,
                "name": obs.target or obs.request_key, "epoch": 2000, "exposure_counts": 1,
                "priority": 1, "program_pi": self.config.user}
