"""GROWTH-India Telescope (Hanle) behind the generic JSON queue protocol.

Site and depth from the GROWTH ToO marshal's ``GROWTH-India.config``: r ≈ 21
mag in 600 s, 30 s overhead per exposure; SDSS-like g, r, i, z filters.
"""

from __future__ import annotations

from tooflow.facilities.base import Site
from tooflow.facilities.queue import JsonQueueFacility

__all__ = ["GrowthIndiaFacility", "HANLE"]

#: Indian Astronomical Observatory, Hanle.
HANLE = Site("Hanle", lat=32.779444, lon=78.964167, elevation=4500.0, airmass_limit=2.5)


class GrowthIndiaFacility(JsonQueueFacility):
    """GROWTH-India Telescope queue."""

    name = "GROWTH-India"
    default_site = HANLE
    filters = frozenset({"g", "r", "i", "z"})
    overhead = 30.0
    depth = {"g": 21.3, "r": 21.0, "i": 20.5, "z": 19.8}
    reference_exposure = 600.0
