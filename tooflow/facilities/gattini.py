"""Gattini-IR (Palomar, J band) behind the generic JSON queue protocol.

Site, filter, overhead and depth come from the telescope catalogue
(``tooflow/telescopes/data/Gattini.yaml``: J ≈ 16.5 mag in 40.5 s, 10 s overhead).
"""

from __future__ import annotations

from tooflow.facilities.queue import JsonQueueFacility

__all__ = ["GattiniFacility"]


class GattiniFacility(JsonQueueFacility):
    """Gattini-IR queue: J band only (the catalogue's filters)."""

    name = "Gattini"
