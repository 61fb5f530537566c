"""Adapter for the telescope simulator service (:mod:`tooflow.simulator`).

The simulator speaks the generic JSON queue protocol and simulates any
telescope: planned observations for ``ZTF`` go to its ``ZTF`` queue, observed
from that facility's site with its depth and overheads (taken from the
registered adapter of that name unless ``config.site`` / ``config.extra`` say
otherwise). One call handles the observations of one telescope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tooflow.facilities.base import Facility, Site
from tooflow.facilities.http import FacilityError
from tooflow.facilities.queue import JsonQueueFacility
from tooflow.observations import PlannedObservation

__all__ = ["SimulatorFacility"]


class SimulatorFacility(JsonQueueFacility):
    """Any telescope, observed by the simulator service at ``config.url``."""

    name = "Simulator"

    def check_observations(self, observations: Sequence[PlannedObservation]) -> None:
        """All observations of one call must be for one telescope (any name)."""
        names = {o.telescope for o in observations}
        if len(names) > 1:
            raise FacilityError(f"simulator: one telescope per request, got {sorted(names)}")

    def _model(self, telescope: str) -> type[Facility] | None:
        from tooflow.facilities import FACILITIES

        for cls in FACILITIES:
            if cls.name.lower() == telescope.lower() and cls is not SimulatorFacility:
                return cls
        return None

    def telescope_of(self, request_key: str) -> str:
        """The telescope named in a request key (``[event:]telescope:where:filter:visit``),
        for keys the simulator does not know (e.g. after a restart)."""
        parts = request_key.split(":")
        return parts[-4] if len(parts) >= 4 and parts[-4] else self.name

    def site_for(self, telescope: str) -> Site:
        """``config.site``, else the site of the simulated facility."""
        site = self.config.site or getattr(self._model(telescope), "default_site", None)
        if site is None:
            raise FacilityError(f"simulator: no site for telescope {telescope!r}; "
                                "set 'site' in the simulator's configuration")
        return site

    def queue_for(self, telescope: str) -> str:
        """``config.queue_name``, else the simulated telescope's name."""
        return self.config.queue_name or telescope

    def instrument_for(self, telescope: str) -> dict[str, Any]:
        """Overhead, depth and reference exposure of the simulated facility."""
        model = self._model(telescope)
        extra = self.config.extra
        return {"overhead": float(extra.get("overhead", getattr(model, "overhead", 30.0))),
                "depth": dict(extra.get("depth", getattr(model, "depth", {}))),
                "reference_exposure": float(extra.get(
                    "reference_exposure", getattr(model, "reference_exposure", 60.0)))}
