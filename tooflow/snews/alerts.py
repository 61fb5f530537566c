"""Coincidence alerts in the two formats they leave in.

* :func:`snews_alert` — the SNEWS Coincidence System's alert (``snews_cs`` 3.0.1
  ``cs_alert_schema``), what ``snews_pt subscribe`` shows and saves: ``id``
  (``SNEWS_Coincidence_ALERT <time>`` for two detectors, ``...ALERT-UPDATE <time>``
  for more), ``alert_type`` (``snews_cs``'s: ``COINC_MSG``, ``COINC_MSG_STAGGERED``,
  ``UPDATE``, ``RETRACTION``), ``server_tag``, ``False Alarm Prob``,
  ``detector_names``, ``sent_time``, ``p_values``, ``neutrino_times``,
  ``p_values average``, ``sub list number`` (an int), plus tooflow's
  ``record_number``. It goes to the Kafka alert topic.
* :func:`gcn_alert` — the SNEWS 2.0 GCN JSON coincidence notice (draft schema
  ``gcn/notices/snews2/coincidence``), what tooflow's parser reads as a
  ``supernova`` notice from ``SNEWS``. It goes into the ToO pipeline.

The event is named by its ``trigger_time``: the initial neutrino time when the
group first alerted, kept for every later alert of the group, so that updates and
the retraction reach the same event.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .cache import CoincidenceAlert, format_ns

__all__ = ["GCN_SCHEMA", "alert_datetime", "gcn_alert", "payload_bytes", "snews_alert"]

#: ``$schema`` of the SNEWS 2.0 GCN coincidence notice (gcn-schema draft).
GCN_SCHEMA = "https://gcn.nasa.gov/schema/main/gcn/notices/snews2/coincidence.schema.json"

_GCN_TYPES = {"ALERT": "initial", "UPDATE": "update", "RETRACTION": "retraction"}


def alert_datetime(when: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` of an aware datetime (UTC)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def snews_alert(alert: CoincidenceAlert, *, sent: dt.datetime,
                server_tag: str = "tooflow") -> dict[str, Any]:
    """The alert in the SNEWS Coincidence System's format.

    Parameters
    ----------
    alert : CoincidenceAlert
        What the cache decided.
    sent : datetime.datetime
        When it is sent (UTC).
    server_tag : str
        Name of this coincidence server.

    Returns
    -------
    dict
        JSON-ready; ``alert_type`` is ``snews_cs``'s name of what changed the
        group (:attr:`~tooflow.snews.cache.CoincidenceAlert.snews_cs_type`),
        prefixed ``TEST `` in test mode as ``snews_cs`` does (``FIREDRILL `` in
        fire-drill mode: ``snews_cs`` tells drills by their topic only).
    """
    stamp = alert_datetime(sent)
    prefix = "" if len(alert.detectors) == 2 else "-UPDATE"
    p_values = [m.p_val for m in alert.messages]
    known = [p for p in p_values if isinstance(p, int | float)]
    mode = {"test": "TEST ", "firedrill": "FIREDRILL "}.get(alert.mode, "")
    return {
        "id": f"SNEWS_Coincidence_ALERT{prefix} {stamp}",
        "alert_type": f"{mode}{alert.snews_cs_type}",
        "server_tag": server_tag,
        "False Alarm Prob": "N/A",
        "detector_names": alert.detectors,
        "sent_time": stamp,
        "p_values": p_values,
        "neutrino_times": [m.neutrino_time_iso for m in alert.messages],
        "p_values average": round(sum(known) / len(known), 5) if known else None,
        "sub list number": alert.number,
        "record_number": alert.record_number,
    }


def gcn_alert(alert: CoincidenceAlert, *, sent: dt.datetime) -> dict[str, Any]:
    """The alert as a SNEWS 2.0 GCN JSON coincidence notice.

    Parameters
    ----------
    alert : CoincidenceAlert
        What the cache decided.
    sent : datetime.datetime
        When it is sent (UTC): ``alert_datetime`` and the ``id``.

    Returns
    -------
    dict
        Valid against the draft ``snews2/coincidence`` schema.
    """
    stamp = alert_datetime(sent)
    # Only the members: tooflow's parser counts every detector_status entry as a
    # detector of the coincidence (``n_detectors``).
    status = {m.detector: "triggered" for m in alert.messages}
    tier: dict[str, Any] = {
        "neutrino_time_utc": format_ns(alert.initial_t_ns),
        "detectors": alert.detectors,
        "group": alert.group_key,
    }
    p_values = [m.p_val for m in alert.messages]
    if p_values and all(isinstance(p, int | float) for p in p_values):
        tier["p_values"] = p_values
    return {
        "$schema": GCN_SCHEMA,
        "alert_datetime": stamp,
        "alert_tense": "current" if alert.mode == "observation" else "test",
        "alert_type": _GCN_TYPES[alert.alert_type],
        "id": f"SNEWS_Coincidence_ALERT {stamp}",
        "mission": "SNEWS",
        "messenger": "Neutrino",
        "record_number": alert.record_number,
        "trigger_time": format_ns(alert.first_t_ns),
        "snews_schema_version": "1.0",
        "snews2_tier": "CoincidenceTier",
        "detector_status": status,
        "event_times_utc": [m.neutrino_time_iso for m in alert.messages],
        "tier_data": tier,
    }


def payload_bytes(obj: dict[str, Any]) -> bytes:
    """JSON bytes of an alert (stable: the same dict gives the same bytes)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
