"""GROWTH-India Telescope (Hanle) behind the generic JSON queue protocol.

Site, filters, overhead and depths come from the telescope catalogue
(``tooflow/telescopes/data/GROWTH-India.yaml``: r ≈ 21 mag in 600 s, 30 s overhead).
"""

from __future__ import annotations

from tooflow.facilities.queue import JsonQueueFacility

__all__ = ["GrowthIndiaFacility"]


class GrowthIndiaFacility(JsonQueueFacility):
    """GROWTH-India Telescope queue."""

    name = "GROWTH-India"
