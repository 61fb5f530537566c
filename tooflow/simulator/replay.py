"""A notice replayed as a fresh mock event, as LVK's mock data challenge re-issues its events.

A drill needs an event that happens *now*: the simulator observes from the
current time, and association asks for candidates first detected after the
event. :func:`replay_notice` takes an igwn.gwalert notice (JSON or Avro, the
Kafka formats) with its sky map and writes the same alert as a mock
superevent: an ``MS`` id of today's date, ``time_created`` now and the event
time a minute earlier, the map, classification and properties unchanged. A
mock event (``MS…``) never reaches a real queue unless a program says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import Any

__all__ = ["replay_notice", "mock_superevent_id"]


def mock_superevent_id(now: dt.datetime, salt: str = "") -> str:
    """``MS`` + ``yymmdd`` + three letters, stable for (now, salt).

    >>> mock_superevent_id(dt.datetime(2026, 12, 6, 12, 0), "x")
    'MS261206uub'
    """
    digest = int.from_bytes(hashlib.sha256(f"{now.isoformat()}:{salt}".encode()).digest()[:4],
                            "big")
    letters = ""
    for _ in range(3):
        digest, r = divmod(digest, 26)
        letters += chr(ord("a") + r)
    return f"MS{now:%y%m%d}{letters}"


def _record(payload: bytes) -> dict[str, Any]:
    if payload[:4] == b"Obj\x01":
        import fastavro

        record = next(fastavro.reader(io.BytesIO(payload)))
        event = record.get("event")
        if isinstance(event, dict) and isinstance(event.get("skymap"), bytes):
            import base64

            event["skymap"] = base64.b64encode(event["skymap"]).decode()
        return record
    try:
        record = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"not an igwn.gwalert notice (JSON or Avro): {exc}") from None
    if not isinstance(record, dict):
        raise ValueError("not an igwn.gwalert notice: the JSON is not an object")
    return record


def replay_notice(payload: bytes, *, now: dt.datetime | None = None,
                  superevent_id: str | None = None,
                  skymap: bytes | None = None) -> tuple[bytes, str]:
    """The notice as a fresh mock superevent (igwn.gwalert JSON).

    Parameters
    ----------
    payload : bytes
        An igwn.gwalert notice, JSON or Avro, with its sky map.
    now : datetime.datetime, optional
        The notice's creation time (default: the current time); the event
        happened one minute before.
    superevent_id : str, optional
        Default: :func:`mock_superevent_id`.
    skymap : bytes, optional
        Another sky map (FITS, flat or multi-order, with distance layers) to
        carry instead of the notice's own: a simulated event on that map.

    Returns
    -------
    (bytes, str)
        The JSON notice and its superevent id.

    Raises
    ------
    ValueError
        Not an igwn.gwalert notice with an event and a sky map.
    """
    record = _record(payload)
    event = record.get("event")
    if skymap is not None and isinstance(event, dict):
        import base64

        from tooflow.skymap.read import moc_to_bytes, read_skymap_bytes

        event["skymap"] = base64.b64encode(moc_to_bytes(read_skymap_bytes(skymap))).decode()
    if "superevent_id" not in record or not isinstance(event, dict) or not event.get("skymap"):
        raise ValueError("a drill replays an igwn.gwalert notice with its sky map "
                         "(superevent_id, event.skymap); this one has none")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    sid = superevent_id or mock_superevent_id(now, str(record["superevent_id"]))
    record["superevent_id"] = sid
    record["time_created"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["time"] = (now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    record["urls"] = {"gracedb": f"https://gracedb.ligo.org/superevents/{sid}/view/"}
    return json.dumps(record).encode(), sid
