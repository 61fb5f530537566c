"""Telescope queues behind one interface (:class:`~tooflow.facilities.base.Facility`).

One module per facility; :data:`FACILITIES` registers them and
:func:`get_facility` builds one by name from its configuration. Which queue a
telescope's observations go to, as the configuration says (the simulator by
default): :mod:`tooflow.facilities.routing`.
"""

from __future__ import annotations

from typing import Any

from tooflow.facilities.base import Facility, FacilityConfig, Site
from tooflow.facilities.decam import DECamFacility
from tooflow.facilities.gattini import GattiniFacility
from tooflow.facilities.growth_india import GrowthIndiaFacility
from tooflow.facilities.http import FacilityError, FacilityHTTPError, FacilityUnavailable
from tooflow.facilities.kped import KPEDFacility
from tooflow.facilities.simulator import SimulatorFacility
from tooflow.facilities.ztf import ZTFFacility

__all__ = ["FACILITIES", "Facility", "FacilityConfig", "FacilityError", "FacilityHTTPError",
           "FacilityUnavailable", "Site", "get_facility", "facility_class", "facility_names"]

#: Every adapter, like SkyPortal's ``APIS`` tuple.
FACILITIES: tuple[type[Facility], ...] = (
    ZTFFacility, DECamFacility, KPEDFacility, GattiniFacility, GrowthIndiaFacility,
    SimulatorFacility,
)


def facility_names() -> list[str]:
    """Registered facility names."""
    return [cls.name for cls in FACILITIES]


def facility_class(name: str) -> type[Facility]:
    """The adapter registered as ``name`` (case-insensitive).

    Raises
    ------
    KeyError
        For an unknown name, listing the known ones.
    """
    for cls in FACILITIES:
        if cls.name.lower() == name.lower():
            return cls
    raise KeyError(f"unknown facility {name!r}; known: {', '.join(facility_names())}")


def get_facility(name: str, config: FacilityConfig | dict[str, Any] | None = None,
                 ) -> Facility:
    """Build the adapter registered as ``name`` (case-insensitive).

    Parameters
    ----------
    name : str
        ``ZTF``, ``DECam``, ``KPED``, ``Gattini``, ``GROWTH-India`` or ``Simulator``.
    config : FacilityConfig or dict, optional
        Endpoint, credentials (environment variable names), retry policy.

    Raises
    ------
    KeyError
        For an unknown name, listing the known ones.
    """
    cls = facility_class(name)
    if not isinstance(config, FacilityConfig):
        config = FacilityConfig.from_mapping(config)
    return cls(config)
