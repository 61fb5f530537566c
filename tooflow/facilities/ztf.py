"""ZTF: the ToO queue API of the ZTF scheduler and IRSA's exposure metadata.

Request format (as SkyPortal and the GROWTH ToO marshal send it)::

    PUT {url}/api/triggers/ztf
    {"queue_name": "ToO_...", "validity_window_mjd": [start, end],
     "queue_type": "list", "user": "...",
     "targets": [{"request_id", "program_id", "field_id", "ra", "dec",
                  "filter_id" (1=g, 2=r, 3=i), "exposure_time", "program_pi",
                  "subprogram_name", "request_key"}]}

``GET`` on the same URL lists the queues (``{"data": [{"queue_name",
"validity_window_mjd", "queue": [target, ...] or its JSON text}]}``) and
``DELETE`` with ``{"queue_name", "user"}`` removes a whole queue.

Idempotency: the queue name is derived from the event and program
(``ToO_<program>_<event>``), each target carries its tooflow ``request_key``
and a ``request_id`` derived from it (CRC-32), so re-sending the same plan
replaces the queue with identical content; an "already exists" answer
(HTTP 409) is success. Executed exposures come from IRSA's TAP service
(``config.tap_url``, table ``ztf.ztf_current_meta_sci``), read with pyvo;
IRSA credentials from the environment variables named by
``config.extra``'s ``tap_user_env`` / ``tap_password_env`` (:class:`ZTFExtra`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zlib
from collections.abc import Sequence
from typing import Any

from pydantic import field_validator

from tooflow.facilities.base import Facility, FacilityExtra, validity_window
from tooflow.facilities.http import FacilityError
from tooflow.facilities.tap import ZTF_COLUMNS, executed_from_tap, ztf_executed_query
from tooflow.observations import ExecutedObservation, PlannedObservation, QueueRequest

__all__ = ["ZTFFacility", "ZTFExtra", "ZTF_FILTER_IDS", "ZTF_PROGRAM_IDS", "ztf_queue_name",
           "ztf_request_id"]

#: ZTF filter ids.
ZTF_FILTER_IDS = {"g": 1, "r": 2, "i": 3}

#: ZTF program ids by name (as SkyPortal's form offers them).
ZTF_PROGRAM_IDS = {"Partnership": 2, "Caltech": 3}

_PATH = "/api/triggers/ztf"


def ztf_request_id(request_key: str) -> int:
    """A stable positive integer for a request key (CRC-32)."""
    return zlib.crc32(request_key.encode())


def ztf_queue_name(event_id: str, program: str) -> str:
    """Stable queue name for one event and program: ``ToO_<program>_<event>``."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{program}_{event_id}" if program else event_id)
    return f"ToO_{clean}"


def _mjd(t: dt.datetime) -> float:
    from astropy.time import Time

    return round(float(Time(t).mjd), 6)


class ZTFExtra(FacilityExtra):
    """``extra`` of the ZTF queue."""

    program_id: int = 2
    """ZTF program the exposures are charged to: 2 (Partnership) or 3 (Caltech), or
    its name."""
    program_pi: str = "Kulkarni"
    """PI sent with every target (``program_pi: <pi>/<user>``)."""
    tap_user_env: str = ""
    """Environment variable holding the IRSA TAP user name (empty: anonymous)."""
    tap_password_env: str = ""
    """Environment variable holding the IRSA TAP password."""

    @field_validator("program_id", mode="before")
    @classmethod
    def _program(cls, value: Any) -> int:
        ids = {**{str(v): v for v in ZTF_PROGRAM_IDS.values()}, **ZTF_PROGRAM_IDS}
        key = str(value).strip() if isinstance(value, int | str) and \
            not isinstance(value, bool) else None
        if key not in ids:
            raise ValueError("allowed: " + ", ".join(f"{v} ({k})"
                                                     for k, v in ZTF_PROGRAM_IDS.items()))
        return ids[key]


class ZTFFacility(Facility):
    """ZTF ToO queue. ``config.extra`` (:class:`ZTFExtra`): ``program_id`` (2 or 3, or
    its name), ``program_pi``, ``tap_user_env``, ``tap_password_env``."""

    name = "ZTF"
    Extra = ZTFExtra
    extra: ZTFExtra

    def build_request(self, observations: Sequence[PlannedObservation], *, event_id: str,
                      program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
                      ) -> dict[str, Any]:
        """The ZTF ToO queue JSON for these observations (pure)."""
        self.check_observations(observations)
        if not observations:
            raise FacilityError("ZTF: nothing to submit")
        program = program or self.config.program or "GW"
        start, end = validity_window(observations, window)
        program_id = self.extra.program_id
        pi = self.extra.program_pi
        targets = []
        for obs in observations:
            if obs.field_id is None:
                raise FacilityError(f"ZTF queue needs a field id: {obs.request_key}")
            if obs.filter not in ZTF_FILTER_IDS:
                raise FacilityError(f"ZTF has no filter {obs.filter!r} (g, r, i): "
                                    f"{obs.request_key}")
            targets.append({
                "request_id": ztf_request_id(obs.request_key), "program_id": program_id,
                "field_id": int(obs.field_id), "ra": obs.ra, "dec": obs.dec,
                "filter_id": ZTF_FILTER_IDS[obs.filter], "exposure_time": obs.exposure_time,
                "program_pi": f"{pi}/{self.config.user}",
                "subprogram_name": f"ToO_{program}", "request_key": obs.request_key})
        return {"queue_name": self.config.queue_name or ztf_queue_name(event_id, program),
                "validity_window_mjd": [_mjd(start), _mjd(end)], "queue_type": "list",
                "user": self.config.user, "targets": targets}

    def submit(self, observations: Sequence[PlannedObservation], *, event_id: str,
               program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
               ) -> list[QueueRequest]:
        """PUT the queue; 200/201 and 409 ("already exists") are success."""
        payload = self.build_request(observations, event_id=event_id, program=program,
                                     window=window)
        response = self.client.request("PUT", _PATH, json=payload, ok=(200, 201, 409))
        detail = "queue already exists" if response.status_code == 409 else ""
        return [QueueRequest(self.name, t["request_key"], payload["queue_name"], "submitted",
                             detail, t) for t in payload["targets"]]

    def _queues(self) -> list[dict[str, Any]]:
        data = self.client.request("GET", _PATH).json()
        queues = data.get("data") if isinstance(data, dict) else data
        if not isinstance(queues, list):
            raise FacilityError("ZTF: queue listing has no 'data' list")
        for q in queues:
            rows = q.get("queue") or []
            q["queue"] = json.loads(rows) if isinstance(rows, str) else rows
        return queues

    def _locate(self, keys: Sequence[str]) -> dict[str, str]:
        """request key → name of the ZTF queue holding it."""
        wanted = {ztf_request_id(k): k for k in keys}
        found: dict[str, str] = {}
        for q in self._queues():
            for row in q["queue"]:
                key = row.get("request_key") or wanted.get(row.get("request_id"))
                if key in keys:
                    found[key] = q["queue_name"]
        return found

    def status(self, keys: Sequence[str]) -> list[QueueRequest]:
        """``queued`` for keys still in a ZTF queue, ``unknown`` otherwise
        (executed, expired or never submitted: see :meth:`executed`)."""
        if not keys:
            return []
        where = self._locate(keys)
        return [QueueRequest(self.name, k, where[k], "queued") if k in where else
                QueueRequest(self.name, k, None, "unknown", "not in any ZTF queue")
                for k in keys]

    def cancel(self, keys: Sequence[str]) -> list[QueueRequest]:
        """Delete the queues holding these keys (ZTF deletes whole queues)."""
        where = self._locate(keys)
        for queue_name in sorted(set(where.values())):
            self.client.request("DELETE", _PATH,
                                json={"queue_name": queue_name, "user": self.config.user})
        return [QueueRequest(self.name, k, where[k], "cancelled", "queue deleted")
                if k in where else QueueRequest(self.name, k, None, "unknown",
                                                "not in any ZTF queue") for k in keys]

    def executed(self, since: dt.datetime) -> list[ExecutedObservation]:
        """ZTF exposures after ``since`` from the TAP service at ``config.tap_url``."""
        if not self.config.tap_url:
            raise FacilityError("ZTF: no TAP URL configured (config.tap_url)")
        auth = None
        if self.extra.tap_user_env:
            user = os.environ.get(self.extra.tap_user_env, "")
            password = os.environ.get(self.extra.tap_password_env, "") \
                if self.extra.tap_password_env else ""
            auth = (user, password) if user else None
        return executed_from_tap(self.config.tap_url, ztf_executed_query(since),
                                 columns=ZTF_COLUMNS, telescope=self.name,
                                 timeout=self.config.timeout, auth=auth,
                                 deadline=2 * self.config.deadline,
                                 transactions=self.client.transactions)

    def health(self) -> dict[str, Any]:
        """Lists the queues; ``ok: false`` with the error when that fails."""
        try:
            queues = self._queues()
        except FacilityError as exc:
            return {"ok": False, "facility": self.name, "error": str(exc)}
        return {"ok": True, "facility": self.name, "queues": len(queues)}
