"""GCN Classic text notices (e-mail / Kafka ``gcn.classic.text.<TYPE>``): ``KEY: value`` lines.

A text notice starts with ``TITLE:`` (``GCN/AMON NOTICE``, ``GCN/FERMI NOTICE``,
``GCN/SWIFT NOTICE``, ...); a value may continue on indented lines (the
``SRC_RA`` J2000/current/1950 triple), and ``COMMENTS`` repeats.

Read, for the missions tooflow knows, with the event ids of their VOEvents:

* ``GCN/AMON NOTICE`` — IceCube gold/bronze tracks and cascades:
  ``IceCube-<RUN_NUM>_<EVENT_NUM>``, notice type ``ICECUBE_ASTROTRACK_GOLD``,
  ``..._BRONZE``, ``ICECUBE_CASCADE``; ``FAR`` per year → ``far`` in Hz;
  ``ENERGY`` (TeV), ``SIGNALNESS``, ``REVISION``;
* ``GCN/FERMI NOTICE`` (GBM) → ``Fermi-GBM-<TRIGGER_NUM>``;
  ``GCN/SWIFT NOTICE`` → ``Swift-<TRIGGER_NUM>``;
  ``GCN/INTEGRAL NOTICE`` → ``INTEGRAL-<TRIGGER_NUM & 0xFFFF>``;
  ``GCN/MAXI NOTICE`` → ``MAXI-<TRIGGER_NUM>``.

Common fields: the J2000 position (``GRB_RA``/``GRB_DEC`` or ``SRC_RA``/
``SRC_DEC``, the first value, in degrees), the error radius (``GRB_ERROR`` /
``SRC_ERROR`` with its unit — deg, arcmin or arcsec — and the containment the
bracket states, e.g. ``[arcmin radius, stat-only, 90% containment]``), and the
event time from ``GRB_DATE``/``GRB_TIME``, ``DISCOVERY_DATE``/``DISCOVERY_TIME``
or ``TRIGGER_DATE``/``TRIGGER_TIME`` (``yy/mm/dd`` and ``{hh:mm:ss.ss}`` UT).

Refused with the reason: GCN Circulars (``TITLE: GCN CIRCULAR`` and other
reports: prose, not notices), other titles (naming them and what is read), and
notices without a trigger id or event time (naming the missing field). LVK
text notices are refused too: their VOEvent, JSON or Avro carries the sky map.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import SECONDS_PER_YEAR, as_float, as_int, prune
from .validate import position

__all__ = ["parse_gcn_text", "read_fields"]

_KEY = re.compile(r"^([A-Z][A-Z0-9_]*):\s?(.*)$")
_DEG = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)d")
_DATE = re.compile(r"(\d\d)/(\d\d)/(\d\d)")
_TIME = re.compile(r"\{(\d\d):(\d\d):(\d\d(?:\.\d+)?)\}")

#: TITLE → (source, kind, event id prefix).
MISSIONS: dict[str, tuple[str, str, str]] = {
    "GCN/AMON NOTICE": ("IceCube", "neutrino", "IceCube"),
    "GCN/FERMI NOTICE": ("Fermi", "GRB", "Fermi-GBM"),
    "GCN/SWIFT NOTICE": ("Swift", "GRB", "Swift"),
    "GCN/INTEGRAL NOTICE": ("INTEGRAL", "GRB", "INTEGRAL"),
    "GCN/MAXI NOTICE": ("MAXI", "X-ray", "MAXI"),
}
_NOTICE_TYPES = {
    "ICECUBE ASTROTRACK GOLD": "ICECUBE_ASTROTRACK_GOLD",
    "ICECUBE ASTROTRACK BRONZE": "ICECUBE_ASTROTRACK_BRONZE",
    "ICECUBE CASCADE": "ICECUBE_CASCADE",
    "FERMI-GBM ALERT": "FERMI_GBM_ALERT",
    "FERMI-GBM FLIGHT POSITION": "FERMI_GBM_FLT_POS",
    "FERMI-GBM GROUND POSITION": "FERMI_GBM_GND_POS",
    "FERMI-GBM FINAL POSITION": "FERMI_GBM_FIN_POS",
    "SWIFT-BAT GRB POSITION": "SWIFT_BAT_GRB_POS_ACK",
    "SWIFT-BAT GRB POSITION ACK": "SWIFT_BAT_GRB_POS_ACK",
    "SWIFT-BAT GRB POSITION TEST": "SWIFT_BAT_GRB_POS_TEST",
    "SWIFT-XRT POSITION": "SWIFT_XRT_POSITION",
    "SWIFT-UVOT POSITION": "SWIFT_UVOT_POS",
}


def read_fields(text: str) -> dict[str, str]:
    """``KEY: value`` fields of a text notice; continuation lines are joined with
    newlines, a repeated key (``COMMENTS``) too."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        match = _KEY.match(line)
        if match:
            key, value = match.group(1), match.group(2).strip()
            fields[key] = f"{fields[key]}\n{value}" if key in fields else value
        elif key is not None and line.strip():
            fields[key] += "\n" + line.strip()
    return fields


def _degrees(value: str | None) -> float | None:
    """The first ``123.456d`` of a (possibly multi-line) coordinate value."""
    match = _DEG.match(value or "")
    return float(match.group(1)) if match else None


def _error(value: str | None) -> tuple[float, str] | None:
    """``(radius in degrees, radius_kind)`` of ``69.22 [arcmin radius, stat-only, 90% ...]``."""
    if not value:
        return None
    number = as_float(value.split()[0])
    if number is None or number <= 0:
        return None
    unit = value.lower()
    radius = number / 60 if "arcmin" in unit else number / 3600 if "arcsec" in unit else number
    percent = re.search(r"(\d+(?:\.\d+)?)\s*%", unit)
    stat = "stat+sys" if ("sys" in unit and "no sys" not in unit and "stat-only" not in unit
                          and "statistical only" not in unit) else "stat"
    return radius, f"{stat} {percent.group(1)}%" if percent else f"{stat} 1-sigma"


def _time(fields: dict[str, str]) -> tuple[dt.datetime, str] | None:
    for prefix in ("GRB", "DISCOVERY", "TRIGGER", "EVENT"):
        date, clock = fields.get(f"{prefix}_DATE"), fields.get(f"{prefix}_TIME")
        d = _DATE.search(date or "")
        t = _TIME.search(clock or "")
        if d and t:
            try:
                day = dt.datetime(2000 + int(d.group(1)), int(d.group(2)), int(d.group(3)),
                                  int(t.group(1)), int(t.group(2)), tzinfo=dt.UTC)
            except ValueError as exc:
                raise NoticeRejected(f"{prefix}_DATE/{prefix}_TIME {d.group(0)} "
                                     f"{t.group(0)} is not a time: {exc}") from exc
            return day + dt.timedelta(seconds=float(t.group(3))), prefix
    return None


def _notice_date(value: str | None) -> dt.datetime | None:
    """``Fri 12 Apr 24 05:34:35 UT`` → UTC datetime, or ``None``."""
    try:
        return dt.datetime.strptime(" ".join((value or "").split()),
                                    "%a %d %b %y %H:%M:%S UT").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def parse_gcn_text(payload: bytes) -> ParsedNotice:
    """Parse a GCN Classic text notice.

    Returns
    -------
    ParsedNotice
        ``format="gcn-text"``.

    Raises
    ------
    NoticeRejected
        For circulars, unknown titles, and notices without id, time or mission.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("latin-1")
    fields = read_fields(text)
    title = " ".join(fields.get("TITLE", "").split()).upper()
    if "CIRCULAR" in title or "REPORT" in title or "SUBJECT" in fields:
        raise NoticeRejected(f"a GCN Circular ({title or 'no TITLE'}: "
                             f"{fields.get('SUBJECT', '')[:80]!r}), not a notice")
    if title.startswith("GCN/LVC") or title.startswith("GCN/LVK"):
        raise NoticeRejected(f"{title}: LVK text notices are not read (no sky map in them); "
                             "read the LVK VOEvent, JSON or Avro alert of the event")
    if title not in MISSIONS:
        raise NoticeRejected(
            f"GCN Classic text notice {title or 'without TITLE'!r} "
            f"({fields.get('NOTICE_TYPE', 'no NOTICE_TYPE')}): not a mission tooflow reads as "
            f"text (it reads {', '.join(sorted(MISSIONS))})")
    source, kind, prefix = MISSIONS[title]
    notice_name = " ".join(fields.get("NOTICE_TYPE", "").split()).upper()
    notice_type = _NOTICE_TYPES.get(notice_name) or (
        re.sub(r"[^A-Z0-9]+", "_", notice_name).strip("_") or title.split("/")[1].split()[0])
    timed = _time(fields)
    if timed is None:
        raise NoticeRejected(f"GCN Classic text notice {title} ({notice_name}) has no event "
                             "time (GRB_DATE/GRB_TIME, DISCOVERY_DATE/DISCOVERY_TIME or "
                             "TRIGGER_DATE/TRIGGER_TIME)")
    time, _ = timed
    props: dict[str, Any] = {"title": title, "notice_type_text": notice_name}
    if source == "IceCube":
        run, event = as_int(fields.get("RUN_NUM")), as_int(fields.get("EVENT_NUM"))
        if run is None or event is None:
            raise NoticeRejected(f"GCN/AMON text notice ({notice_name}) has no RUN_NUM/EVENT_NUM")
        event_id = f"IceCube-{run}_{event}"
        far_year = as_float((fields.get("FAR") or "").split(" ")[0])
        props.update(prune({
            "run_id": run, "event_id_in_run": event, "revision": as_int(fields.get("REVISION")),
            "stream_id": as_int(fields.get("STREAM")),
            "energy": as_float((fields.get("ENERGY") or "").split(" ")[0]),  # TeV
            "signalness": as_float((fields.get("SIGNALNESS") or "").split(" ")[0]),
            "far_per_year": far_year,
            "far": None if far_year is None else far_year / SECONDS_PER_YEAR,
        }))
    else:
        trig = as_int((fields.get("TRIGGER_NUM") or "").split(",")[0].split()[0]
                      if fields.get("TRIGGER_NUM") else None)
        if trig is None:
            raise NoticeRejected(f"GCN Classic text notice {title} ({notice_name}) has no "
                                 "TRIGGER_NUM")
        event_id = f"{prefix}-{trig & 0xFFFF if source == 'INTEGRAL' else trig}"
        props["trigger_id"] = trig
    ra = _degrees(fields.get("GRB_RA") or fields.get("SRC_RA"))
    dec = _degrees(fields.get("GRB_DEC") or fields.get("SRC_DEC"))
    err = _error(fields.get("GRB_ERROR") or fields.get("SRC_ERROR"))
    localization = None
    checked = position(ra, dec, err[0] if err else None,
                       ra_field="GRB_RA/SRC_RA", dec_field="GRB_DEC/SRC_DEC")
    if checked is not None and err is not None and 0 < err[0] < 180:
        localization = Localization(ra=checked[0], dec=checked[1], error_radius=err[0],
                                    radius_kind=err[1])
        error50 = _error(fields.get("SRC_ERROR50"))
        if error50:
            props["error_radius_50"] = error50[0]
    comments = fields.get("COMMENTS", "")
    return ParsedNotice(
        source=source, format="gcn-text", kind=kind,  # type: ignore[arg-type]
        event_id=event_id, notice_type=notice_type, time=time,
        issued=_notice_date(fields.get("NOTICE_DATE")),
        is_mock="TEST" in notice_name.split() or "TEST" in title,
        is_retraction="RETRACT" in notice_name or "retract" in comments.lower(),
        properties=props, localization=localization,
    )
