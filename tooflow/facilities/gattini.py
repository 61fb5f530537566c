"""Gattini-IR (Palomar, J band) behind the generic JSON queue protocol.

Site and depth from the GROWTH ToO marshal's ``Gattini.config``: J ≈ 16.5 mag
in 40.5 s, 10 s overhead per exposure.
"""

from __future__ import annotations

from tooflow.facilities.base import Site
from tooflow.facilities.queue import JsonQueueFacility

__all__ = ["GattiniFacility", "PALOMAR"]

#: Palomar Observatory (shared with ZTF).
PALOMAR = Site("Palomar", lat=33.3563, lon=-116.8648, elevation=1742.0, airmass_limit=2.5)


class GattiniFacility(JsonQueueFacility):
    """Gattini-IR queue: J band only."""

    name = "Gattini"
    default_site = PALOMAR
    filters = frozenset({"J"})
    overhead = 10.0
    depth = {"J": 16.5}
    reference_exposure = 40.5
