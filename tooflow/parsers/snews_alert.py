"""SNEWS 2.0 coincidence alerts in the layout the SNEWS Coincidence System publishes.

``snews_cs`` (SNEWS2/SNEWS_Coincidence_System, ``cs_alert_schema``) publishes its
alerts on SCiMMA Hopskotch (``snews.alert``, ``snews.alert-firedrill``,
``snews.alert-test``, ``snews.connection-testing``) as plain JSON without a
``$schema``::

    {"id": "SNEWS_Coincidence_ALERT 2012-06-09T15:31:10.1", "alert_type": "TEST COINC_MSG",
     "server_tag": "...", "False Alarm Prob": "N/A",
     "detector_names": ["KamLAND", "XENONnT"], "sent_time": "2012-06-09T15:31:10.1",
     "p_values": [0.98, 0.98], "neutrino_times": ["2012-06-09T15:31:08.891011000", ...],
     "p_values average": 0.98, "sub list number": 0}

Releases before 2024 name the id ``_id``; tooflow's own coincidence service
publishes the same layout (:func:`tooflow.snews.alerts.snews_alert`).
:func:`parse_snews_alert` reads any of them as a ``supernova`` notice from
``SNEWS``:

* the event time is the earliest neutrino time, and the event is named by it
  (``SNEWS-20120609T153107``), as tooflow names the SNEWS 2.0 GCN notice of the
  same coincidence;
* ``alert_type`` is the SNEWS state (``COINC_MSG``, ``COINC_MSG_STAGGERED``,
  ``UPDATE``, ``RETRACTION``; tooflow's ``ALERT``), prefixed ``TEST `` for the
  connection test (``FIREDRILL `` from tooflow): a prefix makes the notice a mock;
* a ``RETRACTION`` that leaves two detectors or more is a coincidence still (an
  update); with fewer it retracts the event;
* alerts read from a fire-drill or test topic are mocks whatever their
  ``alert_type`` says (``snews_cs`` in fire-drill mode sends unprefixed alerts to
  ``snews.alert-firedrill``): :func:`mark_drill_topic`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..errors import NoticeRejected
from ..notice import ParsedNotice
from .gcn_common import as_float, parse_utc_or_none, prune

__all__ = ["ALERT_TYPES", "is_snews_alert", "mark_drill_topic", "parse_snews_alert"]

#: ``alert_type`` values without their ``TEST ``/``FIREDRILL `` prefix.
ALERT_TYPES = ("COINC_MSG", "COINC_MSG_STAGGERED", "UPDATE", "RETRACTION", "ALERT")

_MODES = {"TEST": "test", "FIREDRILL": "firedrill"}
_DRILL_TOPIC = re.compile(r"(^|[.:/_-])(firedrill|test|testing)([.,_-]|$)", re.IGNORECASE)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def is_snews_alert(obj: dict[str, Any]) -> bool:
    """Whether a JSON object has the SNEWS coincidence alert's layout (no ``$schema``)."""
    return "$schema" not in obj and "detector_names" in obj and "neutrino_times" in obj


def _alert_type(obj: dict[str, Any]) -> tuple[str, str]:
    """(type without prefix, mode) of the alert, or NoticeRejected naming what is wrong."""
    raw = obj.get("alert_type")
    if not isinstance(raw, str) or not raw.strip():
        raise NoticeRejected("SNEWS coincidence alert has no alert_type")
    words = raw.split()
    mode = _MODES.get(words[0].upper(), "observation") if len(words) > 1 else "observation"
    base = " ".join(words[1:] if mode != "observation" else words).upper()
    if base not in ALERT_TYPES:
        raise NoticeRejected(f"SNEWS coincidence alert_type {raw!r} is not one of "
                             f"{', '.join(ALERT_TYPES)} (optionally prefixed TEST)")
    return base, mode


def _members(obj: dict[str, Any]) -> tuple[list[str], list[dt.datetime], list[str]]:
    from ..snews.cache import parse_neutrino_time

    names, times = obj.get("detector_names"), obj.get("neutrino_times")
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise NoticeRejected("SNEWS coincidence alert: detector_names is not a list of names")
    if not isinstance(times, list):
        raise NoticeRejected("SNEWS coincidence alert: neutrino_times is not a list")
    if len(names) != len(times):
        raise NoticeRejected(f"SNEWS coincidence alert: {len(names)} detector_names but "
                             f"{len(times)} neutrino_times")
    if not names:
        raise NoticeRejected("SNEWS coincidence alert names no detector")
    when = []
    for name, text in zip(names, times, strict=True):
        try:
            ns = parse_neutrino_time(text)
        except ValueError as exc:
            raise NoticeRejected(f"SNEWS coincidence alert: neutrino time of {name}: {exc}") \
                from None
        when.append(_EPOCH + dt.timedelta(microseconds=ns // 1000))
    return names, when, [str(t) for t in times]


def parse_snews_alert(obj: dict[str, Any]) -> ParsedNotice:
    """Parse a SNEWS coincidence alert (``snews_cs`` layout).

    Parameters
    ----------
    obj : dict
        The decoded JSON object (see the module docstring).

    Returns
    -------
    ParsedNotice
        ``source="SNEWS"``, ``kind="supernova"``, ``format="snews-json"``,
        ``notice_type="SNEWS_COINCIDENCE"``; properties ``detectors``,
        ``n_detectors``, ``neutrino_times``, ``p_values``, ``p_value_average``,
        ``false_alarm_prob`` (a number) or ``false_alarm_text`` (``N/A``...),
        ``snews_alert_type``, ``snews_alert_id``, ``snews_server_tag``,
        ``snews_sub_list``, ``snews_mode``.

    Raises
    ------
    NoticeRejected
        Missing or inconsistent detector names and neutrino times, an unknown
        ``alert_type``, or a neutrino time that is not ISO 8601.
    """
    base, mode = _alert_type(obj)
    names, when, raw_times = _members(obj)
    time = min(when)
    alert_id = obj.get("id", obj.get("_id"))
    far = obj.get("False Alarm Prob")
    p_values = obj.get("p_values")
    props = prune({
        "detectors": names, "n_detectors": len(set(names)), "neutrino_times": raw_times,
        "p_values": p_values if isinstance(p_values, list) else None,
        "p_value_average": as_float(obj.get("p_values average")),
        "false_alarm_prob": as_float(far),
        "false_alarm_text": far if isinstance(far, str) and as_float(far) is None else None,
        "snews_alert_type": obj.get("alert_type"), "snews_alert_id": alert_id,
        "snews_server_tag": obj.get("server_tag"), "snews_sub_list": obj.get("sub list number"),
        "snews_record_number": obj.get("record_number"), "snews_mode": mode,
    })
    return ParsedNotice(
        source="SNEWS", format="snews-json", kind="supernova",
        event_id=f"SNEWS-{time:%Y%m%dT%H%M%S}", notice_type="SNEWS_COINCIDENCE",
        time=time, issued=parse_utc_or_none(obj.get("sent_time")),
        is_mock=mode != "observation",
        is_retraction=base == "RETRACTION" and len(set(names)) < 2,
        properties=props,
    )


def mark_drill_topic(parsed: ParsedNotice, origin: str | None) -> ParsedNotice:
    """Make a SNEWS alert read from a fire-drill or test topic a mock.

    Parameters
    ----------
    parsed : ParsedNotice
        A parsed notice.
    origin : str or None
        Where the notice came from, as the listener labels it
        (``hop:snews.alert-firedrill``, ``kafka:...``, a file path), as given
        to :func:`~tooflow.parsers.parse_notice`.

    Returns
    -------
    ParsedNotice
        The same object, ``is_mock`` set (``properties["mock_reason"]`` says why)
        when it is a SNEWS alert (``format == "snews-json"``) from a topic whose
        name says ``firedrill``, ``test`` or ``testing``.
    """
    if parsed.format != "snews-json" or parsed.is_mock or not origin:
        return parsed
    topic = origin.split(":", 1)[1] if origin.startswith(("hop:", "kafka:", "gcn:")) else ""
    if topic and _DRILL_TOPIC.search(topic):
        parsed.is_mock = True
        parsed.properties["mock_reason"] = f"read from the drill/test topic {topic}"
    return parsed
