"""Adapter for the telescope simulator service (:mod:`tooflow.simulator`).

The simulator speaks the generic JSON queue protocol and simulates any
telescope: planned observations for ``ZTF`` go to its ``ZTF`` queue, observed
from that telescope's site with its depths and overhead (from the telescope
catalogue, :mod:`tooflow.telescopes`, unless ``config.site`` / ``config.extra``
say otherwise). One call handles the observations of one telescope.
"""

from __future__ import annotations

from collections.abc import Sequence

from tooflow.facilities.http import FacilityError
from tooflow.facilities.queue import JsonQueueFacility
from tooflow.observations import PlannedObservation, base_request_key

__all__ = ["SimulatorFacility"]


class SimulatorFacility(JsonQueueFacility):
    """Any telescope, observed by the simulator service at ``config.url``."""

    name = "Simulator"
    filters: frozenset[str] = frozenset()  # any telescope's

    def check_observations(self, observations: Sequence[PlannedObservation]) -> None:
        """All observations of one call must be for one telescope (any name)."""
        names = {o.telescope for o in observations}
        if len(names) > 1:
            raise FacilityError(f"simulator: one telescope per request, got {sorted(names)}")

    def telescope_of(self, request_key: str) -> str:
        """The telescope named in a request key (``[event:]telescope:where:filter:visit``),
        for keys the simulator does not know (e.g. after a restart); a re-request's
        ``:rN`` is not part of it."""
        parts = base_request_key(request_key).split(":")
        return parts[-4] if len(parts) >= 4 and parts[-4] else self.name

    def queue_for(self, telescope: str) -> str:
        """``config.queue_name``, else the simulated telescope's name."""
        return self.config.queue_name or telescope
