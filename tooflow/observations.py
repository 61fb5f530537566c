"""Plain records passed between planning, facilities, the monitor and circulars.

They carry no database session and no Prefect state: the planner returns
:class:`PlannedObservation` objects, facility adapters take them and return
:class:`QueueRequest` / :class:`ExecutedObservation` objects, and Prefect tasks
store them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PlannedObservation", "QueueRequest", "ExecutedObservation", "base_request_key",
           "request_attempt"]

#: The suffix of a re-request's key (``:r2``, ``:r3``…): a base key ends in its visit number.
_ATTEMPT = re.compile(r":r([0-9]+)$")


def base_request_key(key: str) -> str:
    """The planned exposure's key of a request key (a re-request's ``:rN`` removed).

    >>> base_request_key("S1:ZTF:f1:g:1:r2")
    'S1:ZTF:f1:g:1'
    """
    return _ATTEMPT.sub("", key)


def request_attempt(key: str) -> int:
    """Which request of its planned exposure a key is: 1, or N for a re-request ``:rN``.

    >>> request_attempt("S1:ZTF:f1:g:1"), request_attempt("S1:ZTF:f1:g:1:r2")
    (1, 2)
    """
    match = _ATTEMPT.search(key)
    return int(match.group(1)) if match else 1


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
    attempt : int
        Which request of this exposure it is: 1, or N ≥ 2 when a later plan
        requests again an exposure whose earlier request failed at the
        telescope (:func:`tooflow.stages.submit.submit_plan`); the key then
        ends in ``:rN``, a key no queue has seen.
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
    attempt: int = 1

    @property
    def request_key(self) -> str:
        """Stable idempotency key: the same planned exposure always has the same key.

        ``[event:]telescope:field-or-target:filter:visit`` — a re-plan of the same
        field, filter and visit for the same event gives the same key. A
        re-request (``attempt`` N ≥ 2) adds ``:rN``.
        """
        where = (f"f{self.field_id}" if self.field_id is not None
                 else self.target or f"{self.ra:.5f},{self.dec:.5f}")
        key = f"{self.telescope}:{where}:{self.filter}:{self.visit}"
        key = f"{self.event_id}:{key}" if self.event_id else key
        return f"{key}:r{self.attempt}" if self.attempt > 1 else key


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
