"""GCN Classic notices as JSON (nasa-gcn/gcn-classic-to-json, Kafka ``gcn.classic.json.<TYPE>``).

These JSON documents have no ``$schema``: the notice type is the Kafka topic's
suffix (``gcn.classic.json.SWIFT_XRT_POSITION``). :func:`classic_json_type`
tells it from the notice's source (the topic, or a file path with a directory
or file named after the type, as in gcn-classic-to-json's
``notices/<TYPE>/example.json``), else from the keys where only one
type has them (``mission: LVC`` with an ``alert_type``, ``Super-Kamiokande``,
``CALET``, SNEWS's ``detector_quality``). Other types share their keys
(``MAXI_TEST`` and ``MAXI_UNKNOWN``; the Swift BAT types): without a topic or
path naming the type they are refused rather than guessed, so that a test
notice is never read as a real one.

Read, for the missions tooflow knows (event ids as for their VOEvents):

* ``LVC_PRELIMINARY``/``INITIAL``/``UPDATE``/``RETRACTION`` → an LVK notice
  (``source="LVK"``, kind ``GW``, the superevent id, ``far``, ``group``,
  ``pipeline``, ``search``, ``p_BNS``..., ``HasNS``..., the sky-map URL);
* Swift BAT positions (``SWIFT_BAT_GRB_POS_ACK``, ``_QL_POS``, ``_SCALEDMAP``,
  ``_GRB_LC``, ``_GRB_POS_TEST`` (mock), ``_TRANS`` (kind ``X-ray``)), XRT and
  UVOT positions (``SWIFT_XRT_POSITION``, ``SWIFT_UVOT_POS``,
  ``SWIFT_XRT_CENTROID``) → ``Swift-<trigger>``;
* ``INTEGRAL_WAKEUP``/``REFINED``/``OFFLINE``/``WEAK``/``SPIACS`` →
  ``INTEGRAL-<trigger>`` (an ``id`` of 0 is a placeholder: the event is named
  by its time);
* ``MAXI_UNKNOWN``, ``MAXI_TEST`` (mock); ``SK_SN``; ``SNEWS``; ``GECAM_FLT``,
  ``GECAM_GND``; ``CALET_GBM_FLT_LC``.

Refused with the reason: pointing, slew and observation-request packets
(``*_POINTDIR``, ``SWIFT_*SC_SLEW``, ``SWIFT_*FOM*``), Swift data products
(XRT images, spectra, light curves, UVOT finding charts), and every other type
(``not read by tooflow``). A notice without an event time is refused naming
``trigger_time`` (the converter gives INTEGRAL positions only ``alert_datetime``).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import as_float, parse_utc, prune
from .gcn_json_families import LEGACY_FAMILIES, Family, notice_ids
from .gcn_json_fields import build_notice
from .gcn_json_missions import observation_time

__all__ = ["CLASSIC_TYPES", "classic_json_type", "parse_classic_json"]

_TOPIC = re.compile(r"gcn\.classic\.json\.([A-Z0-9_]+)")


def _by_id(prefix: str):
    def event_id(obj: dict[str, Any], time) -> str:
        ids = [i for i in notice_ids(obj) if i != "0"]
        return f"{prefix}-{ids[0]}" if ids else f"{prefix}-{time:%Y%m%dT%H%M%S}"
    return event_id


def _family(source: str, kind: str, notice_type: str, prefix: str, **kw: Any) -> Family:
    return Family(source, kind, lambda obj: notice_type, _by_id(prefix),  # type: ignore[arg-type]
                  time=observation_time, **kw)


def _swift(notice_type: str, kind: str = "GRB", mock: bool = False) -> Family:
    return _family("Swift", kind, notice_type, "Swift", mock=mock)


#: Notice types read, as :class:`~.gcn_json_families.Family` objects (LVC_* apart).
CLASSIC_TYPES: dict[str, Family] = {
    **{t: _swift(t) for t in ("SWIFT_BAT_GRB_POS_ACK", "SWIFT_BAT_QL_POS",
                              "SWIFT_BAT_SCALEDMAP", "SWIFT_BAT_GRB_LC",
                              "SWIFT_XRT_POSITION", "SWIFT_UVOT_POS", "SWIFT_XRT_CENTROID")},
    "SWIFT_BAT_GRB_POS_TEST": _swift("SWIFT_BAT_GRB_POS_TEST", mock=True),
    "SWIFT_BAT_TRANS": _swift("SWIFT_BAT_TRANS", kind="X-ray"),
    **{t: _family("INTEGRAL", "GRB", t, "INTEGRAL")
       for t in ("INTEGRAL_WAKEUP", "INTEGRAL_REFINED", "INTEGRAL_OFFLINE", "INTEGRAL_WEAK",
                 "INTEGRAL_SPIACS")},
    "MAXI_UNKNOWN": _family("MAXI", "X-ray", "MAXI_UNKNOWN", "MAXI"),
    "MAXI_TEST": _family("MAXI", "X-ray", "MAXI_TEST", "MAXI", mock=True),
    "SK_SN": _family("Super-Kamiokande", "supernova", "SK_SN", "SuperK-SN"),
    "SNEWS": _family("SNEWS", "supernova", "SNEWS", "SNEWS",
                     extra=LEGACY_FAMILIES["classic/snews/alert"].extra),
    "GECAM_FLT": _family("GECAM", "GRB", "GECAM_FLT", "GECAM"),
    "GECAM_GND": _family("GECAM", "GRB", "GECAM_GND", "GECAM"),
    "CALET_GBM_FLT_LC": _family("CALET", "GRB", "CALET_GBM_FLT_LC", "CALET"),
}

LVC_TYPES = {"LVC_PRELIMINARY": "PRELIMINARY", "LVC_INITIAL": "INITIAL",
             "LVC_UPDATE": "UPDATE", "LVC_RETRACTION": "RETRACTION",
             "LVC_EARLY_WARNING": "EARLYWARNING"}

_NOT_EVENTS = re.compile(r"POINTDIR|SC_SLEW|FOM")
_PRODUCTS = re.compile(r"^SWIFT_(XRT_(IMAGE|LC|SPECTRUM|SPER|THRESHPIX)|UVOT_(DBURST|FCHART))")


def _type_from_source(source: str | None) -> str | None:
    if not source:
        return None
    match = _TOPIC.search(source)
    if match:
        return match.group(1)
    known = set(CLASSIC_TYPES) | set(LVC_TYPES) | _gcn_type_names()
    for part in reversed(re.split(r"[/\\]", source)):
        stem = part.rsplit(".", 1)[0] if part.endswith(".json") else part
        if stem in known:
            return stem
    return None


def _gcn_type_names() -> set[str]:
    """Every GCN Classic notice type name (pygcn's ``NoticeType``)."""
    from gcn.notice_types import NoticeType

    return {member.name for member in NoticeType}


def classic_json_type(obj: dict[str, Any], source: str | None = None) -> str | None:
    """The GCN Classic notice type of a ``$schema``-less JSON notice, or ``None``.

    Parameters
    ----------
    obj : dict
        The notice.
    source : str, optional
        Where it came from: a Kafka topic ``gcn.classic.json.<TYPE>`` or a file path.
    """
    if "$schema" in obj:
        return None
    named = _type_from_source(source)
    if named is not None:
        return named
    mission = str(obj.get("mission") or "")
    if mission == "LVC":
        alert = str(obj.get("alert_type") or "").upper()
        return f"LVC_{alert}" if f"LVC_{alert}" in LVC_TYPES else "LVC"
    if mission == "Super-Kamiokande":
        return "SK_SN"
    if mission == "CALET":
        return "CALET_GBM_FLT_LC"
    if isinstance(obj.get("detector_quality"), dict) and "mission" not in obj:
        return "SNEWS"
    return None


def _pairs(value: Any) -> dict[str, float]:
    """``[{"BNS": 1.0}, {"NSBH": 0.0}]`` → ``{"BNS": 1.0, "NSBH": 0.0}``."""
    out: dict[str, float] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            for key, number in item.items():
                if as_float(number) is not None:
                    out[str(key)] = float(number)
    return out


_HAS = {"NS": "HasNS", "REMNANT": "HasRemnant", "MASS GAP": "HasMassGap"}


def _lvc(obj: dict[str, Any], notice_type: str) -> ParsedNotice:
    ids = notice_ids(obj)
    if not ids:
        raise NoticeRejected(f"GCN Classic JSON {notice_type} has no id (superevent id)")
    if not isinstance(obj.get("trigger_time"), str):
        raise NoticeRejected(f"GCN Classic JSON {notice_type} has no trigger_time")
    time = parse_utc(obj["trigger_time"], "trigger_time")
    classes = _pairs(obj.get("classification"))
    props = prune({
        "far": as_float(obj.get("far")), "p_astro": as_float(obj.get("p_astro")),
        "group": obj.get("group_type"), "pipeline": obj.get("pipeline_type"),
        "search": obj.get("search_type"), "duration": as_float(obj.get("duration")),
        "central_frequency": as_float(obj.get("peak_frequency")),
        "fluence": as_float(obj.get("fluence")),
        **{f"p_{k.title() if k == 'TERRESTRIAL' else k}": v for k, v in classes.items()},
        **{_HAS[k.upper()]: v for k, v in _pairs(obj.get("properties")).items()
           if k.upper() in _HAS},
        "classic_type": f"LVC_{notice_type}", "record_number": obj.get("record_number"),
    })
    retraction = notice_type == "RETRACTION"
    url = obj.get("skymap_url") if isinstance(obj.get("skymap_url"), str) else None
    localization = None
    if url and not retraction and not url.endswith("/"):
        localization = Localization(url=url, filename=url.rsplit("/", 1)[-1])
    return ParsedNotice(
        source="LVK", format="gcn-classic-json", kind="GW", event_id=ids[0],
        notice_type=notice_type, time=time, issued=None,
        is_mock=obj.get("alert_tense") == "test" or ids[0].startswith("M")
        or props.get("search") == "MockDataChallenge",
        is_retraction=retraction, properties=props, localization=localization,
    )


def parse_classic_json(obj: dict[str, Any], notice_type: str) -> ParsedNotice:
    """Parse a GCN Classic JSON notice of a known type.

    Raises
    ------
    NoticeRejected
        For pointing/slew packets, data products, types tooflow does not read,
        and notices without an id or event time.
    """
    if notice_type == "LVC":
        raise NoticeRejected(
            "GCN Classic JSON LVC notice without alert_type: cannot tell PRELIMINARY from "
            "INITIAL or UPDATE (it is named by its Kafka topic gcn.classic.json.LVC_<TYPE>)")
    if notice_type in LVC_TYPES:
        return _lvc(obj, LVC_TYPES[notice_type])
    if _NOT_EVENTS.search(notice_type):
        raise NoticeRejected(f"GCN Classic JSON {notice_type}: a pointing, slew or "
                             "observation-request packet, not an event notice")
    if _PRODUCTS.search(notice_type):
        raise NoticeRejected(f"GCN Classic JSON {notice_type}: a Swift data product "
                             f"(trigger {(notice_ids(obj) or ['?'])[0]}), not a position notice")
    family = CLASSIC_TYPES.get(notice_type)
    if family is None:
        raise NoticeRejected(
            f"GCN Classic JSON {notice_type}: a notice type tooflow does not read "
            f"(it reads {', '.join(sorted([*LVC_TYPES, *CLASSIC_TYPES]))})")
    if family.time is not None and family.time(obj) is None:
        raise NoticeRejected(f"GCN Classic JSON {notice_type} has no trigger_time (event time)"
                             + (f"; only alert_datetime {obj['alert_datetime']}"
                                if "alert_datetime" in obj else ""))
    notice = build_notice(obj, f"classic/{notice_type}", family, False)
    notice.format = "gcn-classic-json"
    notice.properties["classic_type"] = notice_type
    return notice
