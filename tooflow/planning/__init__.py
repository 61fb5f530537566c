"""Observation planning for a network of telescopes (OR-Tools).

Public entry points: :func:`plan_skymap` (sky map → :class:`Plan`),
:func:`load_telescope` / :func:`load_telescopes` (re-exported from the telescope
catalogue, :mod:`tooflow.telescopes`) and
:class:`Strategy` (how a program observes).
"""

from ..telescopes import (
    Footprint,
    Telescope,
    available_telescopes,
    load_telescope,
    load_telescopes,
)
from .planner import plan_skymap
from .problem import Target
from .result import Plan
from .strategy import Strategy, default_strategy

__all__ = [
    "Footprint",
    "Plan",
    "Strategy",
    "Target",
    "Telescope",
    "available_telescopes",
    "default_strategy",
    "load_telescope",
    "load_telescopes",
    "plan_skymap",
]
