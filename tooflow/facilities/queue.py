"""The generic JSON queue protocol, shared by the simulator and simple queues.

Wire protocol (the simulator implements it; see :mod:`tooflow.simulator.engine`
for the payload)::

    POST   /queues/{queue}/requests   → {"results": [request state, ...]}
    GET    /requests?keys=K&keys=K2   → {"requests": [request state, ...]}
    DELETE /requests/{key}            → request state (404: unknown key)
    GET    /executed?since=ISO        → {"executed": [observation, ...]}
    GET    /health                    → {"ok": true, ...}

A request state is ``{"request_key", "queue_id", "status", "detail", ...}``.
Submitting a key the queue already holds is answered with its current state
(``created: false``); HTTP 409 is treated the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field, NonNegativeFloat, PositiveFloat

from tooflow.facilities.base import Facility, FacilityExtra, validity_window
from tooflow.facilities.http import FacilityError, FacilityHTTPError
from tooflow.observations import ExecutedObservation, PlannedObservation, QueueRequest
from tooflow.telescopes import Site, Telescope, find_telescope

__all__ = ["JsonQueueFacility", "QueueExtra", "executed_from_json"]

#: A 5σ AB depth a queue may be told (mag): from a small telescope in the
#: infrared (Gattini J ≈ 16.5) to a 4-m in the optical (DECam r ≈ 24).
Depth = Annotated[float, Field(ge=10.0, le=30.0)]


class QueueExtra(FacilityExtra):
    """``extra`` of a telescope behind the JSON queue protocol (and of the simulator):
    the catalogue's instrument numbers this queue replaces (a key left out keeps
    the catalogue's, :mod:`tooflow.telescopes`)."""

    overhead: NonNegativeFloat | None = None
    """Seconds per exposure besides the exposure itself (catalogue:
    ``overhead_per_exposure``)."""
    reference_exposure: PositiveFloat | None = None
    """Seconds of exposure the depths are given for."""
    depth: dict[str, Depth] | None = None
    """5σ AB depth (mag) per filter of a ``reference_exposure`` at the zenith, dark sky."""


def executed_from_json(row: dict[str, Any], telescope: str) -> ExecutedObservation:
    """One executed-observation JSON object → :class:`ExecutedObservation`."""
    obs_time = dt.datetime.fromisoformat(str(row["obs_time"]).replace("Z", "+00:00"))
    if obs_time.tzinfo is None:
        obs_time = obs_time.replace(tzinfo=dt.UTC)
    lim = row.get("limiting_magnitude")
    return ExecutedObservation(
        telescope=row.get("telescope") or telescope, ra=float(row["ra"]), dec=float(row["dec"]),
        filter=str(row["filter"]), exposure_time=float(row["exposure_time"]), obs_time=obs_time,
        limiting_magnitude=None if lim is None else float(lim),
        field_id=None if row.get("field_id") is None else int(row["field_id"]),
        request_key=row.get("request_key"), target=row.get("target"))


class JsonQueueFacility(Facility):
    """A telescope behind the generic JSON queue protocol.

    Subclasses set :attr:`name`; the site, the filters, the overhead and the
    depths come from the telescope catalogue entry of that name
    (:mod:`tooflow.telescopes`). ``config.site`` replaces the site and
    ``config.extra`` (:class:`QueueExtra`) may override ``overhead`` (s),
    ``depth`` (mag per filter) and ``reference_exposure`` (s).
    """

    Extra = QueueExtra
    extra: QueueExtra

    @property
    def filters(self) -> frozenset[str]:
        """Filters the queue takes: the catalogue's, with a depth or planned (empty: any)."""
        tel = find_telescope(self.name)
        return frozenset(tel.filters) | frozenset(tel.zenith_dark) if tel else frozenset()

    def site_for(self, telescope: str) -> Site:
        """``config.site``, else the catalogue's site of ``telescope``."""
        tel = find_telescope(telescope)
        site = self.config.site or (tel.site if tel else None)
        if site is None:
            raise FacilityError(f"{self.name}: no site for telescope {telescope!r}: it is not "
                                "in the telescope catalogue; set 'site' in its configuration")
        return site

    def queue_for(self, telescope: str) -> str:
        """Queue to submit to: ``config.queue_name``, else the facility name."""
        return self.config.queue_name or self.name

    def depths_for(self, tel: Telescope) -> dict[str, float]:
        """Depth zero points by the queue's filter names (the catalogue's by default)."""
        return dict(tel.zenith_dark)

    def instrument_for(self, telescope: str) -> dict[str, Any]:
        """Overhead (s), depth per filter (mag) and their reference exposure (s):
        the catalogue's, unless ``config.extra`` says otherwise."""
        tel = find_telescope(telescope)
        out: dict[str, Any] = {}
        if tel is not None:
            out = {"overhead": tel.overhead_per_exposure, "depth": self.depths_for(tel),
                   "reference_exposure": tel.reference_exposure}
        out.update(self.extra.model_dump(include=set(QueueExtra.model_fields),
                                         exclude_none=True))
        return out

    def target(self, obs: PlannedObservation) -> dict[str, Any]:
        """One target entry of the payload."""
        if self.filters and obs.filter not in self.filters:
            raise FacilityError(f"{self.name} has no filter {obs.filter!r} "
                                f"(has {', '.join(sorted(self.filters))}): {obs.request_key}")
        return {"request_key": obs.request_key, "field_id": obs.field_id, "target": obs.target,
                "ra": obs.ra, "dec": obs.dec, "filter": obs.filter,
                "exposure_time": obs.exposure_time, "start_time": obs.start_time.isoformat(),
                "probability": obs.probability, "visit": obs.visit}

    def build_request(self, observations: Sequence[PlannedObservation], *, event_id: str,
                      program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
                      ) -> dict[str, Any]:
        """The JSON queue payload (see :mod:`tooflow.simulator.engine`)."""
        self.check_observations(observations)
        if not observations:
            raise FacilityError(f"{self.name}: nothing to submit")
        telescope = observations[0].telescope
        start, end = validity_window(observations, window)
        return {
            "queue_name": self.queue_for(telescope), "telescope": telescope,
            "event_id": event_id, "program": program or self.config.program,
            "user": self.config.user,
            "validity_window": {"start": start.isoformat(), "end": end.isoformat()},
            "site": self.site_for(telescope).as_dict(),
            "instrument": self.instrument_for(telescope),
            "targets": [self.target(o) for o in observations],
        }

    def telescope_of(self, request_key: str) -> str:
        """Telescope of a request the queue cannot describe (an unknown key)."""
        return self.name

    def _queue_request(self, state: dict[str, Any], payload: dict[str, Any] | None = None,
                       ) -> QueueRequest:
        return QueueRequest(telescope=state.get("telescope")
                            or self.telescope_of(state["request_key"]),
                            request_key=state["request_key"],
                            queue_id=state.get("queue_id"), status=state["status"],
                            detail=state.get("detail", ""), payload=payload or {})

    def submit(self, observations: Sequence[PlannedObservation], *, event_id: str,
               program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
               ) -> list[QueueRequest]:
        """POST the payload; "already exists" (per key, or HTTP 409) counts as success."""
        payload = self.build_request(observations, event_id=event_id, program=program,
                                     window=window)
        path = f"/queues/{quote(payload['queue_name'], safe='')}/requests"
        response = self.client.request("POST", path, json=payload, ok=(200, 201, 409))
        by_key = {t["request_key"]: t for t in payload["targets"]}
        if response.status_code == 409:
            return [QueueRequest(**{**vars(q), "payload": by_key[q.request_key]})
                    for q in self.status(list(by_key))]
        results = response.json().get("results")
        if not isinstance(results, list):
            raise FacilityError(f"{self.name}: submit answer has no 'results' list")
        return [self._queue_request(r, by_key.get(r["request_key"])) for r in results]

    def status(self, keys: Sequence[str]) -> list[QueueRequest]:
        """GET the state of each key (``unknown`` for keys the queue never saw)."""
        if not keys:
            return []
        response = self.client.request("GET", "/requests", params={"keys": list(keys)})
        return [self._queue_request(r) for r in response.json()["requests"]]

    def cancel(self, keys: Sequence[str]) -> list[QueueRequest]:
        """DELETE each key; running or finished requests keep their state."""
        out = []
        for key in keys:
            try:
                response = self.client.request("DELETE", f"/requests/{quote(key, safe='')}")
            except FacilityHTTPError as exc:
                if exc.status != 404:
                    raise
                out.append(QueueRequest(self.telescope_of(key), key, None, "unknown",
                                        "no such request"))
                continue
            out.append(self._queue_request(response.json()))
        return out

    def executed(self, since: dt.datetime) -> list[ExecutedObservation]:
        """GET the exposures taken after ``since``."""
        response = self.client.request("GET", "/executed", params={"since": since.isoformat()})
        return [executed_from_json(row, self.name) for row in response.json()["executed"]]

    def health(self) -> dict[str, Any]:
        """GET /health; never raises (``ok: false`` with the error instead)."""
        try:
            report = self.client.request("GET", "/health").json()
        except FacilityError as exc:
            return {"ok": False, "facility": self.name, "error": str(exc)}
        return {**report, "facility": self.name, "ok": bool(report.get("ok", True))}
