"""The one telescope catalogue: sites, grids, footprints, filters, overheads, depths, limits.

Every telescope is described once, in ``tooflow/telescopes/data/<name>.yaml``
(each number citing its source); :func:`load_telescope` reads it. The planner
(:mod:`tooflow.planning`), the queue adapters (:mod:`tooflow.facilities`) and the
simulator (:mod:`tooflow.simulator`) all use this catalogue, and the depth of an
exposure comes from one model, :func:`limiting_magnitude`
(:mod:`tooflow.telescopes.depth`), and the time between two exposures from
another, :class:`ExposureTiming` (:mod:`tooflow.telescopes.timing`).
"""

from __future__ import annotations

from tooflow.telescopes.catalogue import (
    DATA_DIR,
    Footprint,
    Site,
    Telescope,
    available_telescopes,
    find_telescope,
    load_telescope,
    load_telescopes,
)
from tooflow.telescopes.depth import limiting_magnitude, sky_brightness
from tooflow.telescopes.timing import ExposureTiming, angular_distance

__all__ = [
    "DATA_DIR",
    "ExposureTiming",
    "Footprint",
    "Site",
    "Telescope",
    "angular_distance",
    "available_telescopes",
    "find_telescope",
    "limiting_magnitude",
    "load_telescope",
    "load_telescopes",
    "sky_brightness",
]
