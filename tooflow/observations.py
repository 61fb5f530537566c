"""Plain records passed between planning, facilities, the monitor and circulars.

They carry no database session and no Prefect state: the planner returns
:class:`PlannedObservation` objects, facility adapters take them and return
:class:`QueueRequest` / :class:`ExecutedObservation` objects, and Prefect tasks
store them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PlannedObservation", "QueueRequest", "ExecutedObservation"]


@dataclass(frozen=True)
class PlannedObservation:
    """One exposure the planner wants a telescope to take.

    Attributes
    ----------
    telescope : str
        Facility name as registered (``ZTF``, ``DECam``, ``KPED``, ``Gattini``,
        ``GROWTH-India``, ``Simulator``).
    field_id : int or None
        Field of the telescope's grid, or None for a pointed target.
    target : str or None
        Name of a pointed target (a galaxy, a source position).
    ra, dec : float
        Pointing centre, degrees ICRS.
    filter : str
        Filter name (``g``, ``r``, ``i``, ``J``...).
    exposure_time : float
        Seconds.
    start_time : datetime.datetime
        Planned start, UTC, timezone-aware.
    probability : float
        Sky-map probability inside the footprint (not de-duplicated).
    visit : int
        Visit number of this field in the plan, from 1.
    event_id : str or None
        The event the exposure is for; part of the request key, so that two
        events observing the same field never share a queue request.
    """

    telescope: str
    ra: float
    dec: float
    filter: str
    exposure_time: float
    start_time: dt.datetime
    probability: float = 0.0
    visit: int = 1
    field_id: int | None = None
    target: str | None = None
    event_id: str | None = None

    @property
    def request_key(self) -> str:
        """Stable idempotency key: the same planned exposure always has the same key.

        ``[event:]telescope:field-or-target:filter:visit`` — a re-plan of the same
        field, filter and visit for the same event gives the same key.
        """
        where = (f"f{self.field_id}" if self.field_id is not None
                 else self.target or f"{self.ra:.5f},{self.dec:.5f}")
        key = f"{self.telescope}:{where}:{self.filter}:{self.visit}"
        return f"{self.event_id}:{key}" if self.event_id else key


@dataclass
class QueueRequest:
    """What a facility's queue said about one submitted request."""

    telescope: str
    request_key: str
    queue_id: str | None
    status: str  # submitted, queued, executing, completed, cancelled, failed, rejected
    detail: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutedObservation:
    """An exposure a telescope actually took."""

    telescope: str
    ra: float
    dec: float
    filter: str
    exposure_time: float
    obs_time: dt.datetime
    limiting_magnitude: float | None = None
    field_id: int | None = None
    request_key: str | None = None
    target: str | None = None
