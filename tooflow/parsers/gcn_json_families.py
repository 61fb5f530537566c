"""Schema families of GCN unified-schema JSON notices: who, what kind, which event.

One :class:`Family` per schema says who sent the notice, what kind of event it
is, the notice type name, and how to name the event so that every notice of
one trigger shares an id — the same ids as the GCN VOEvents of the same
mission (``Fermi-GBM-<trigger number>``, ``IceCube-<run>_<event>``,
``SVOM-<burst id>``, ``SNEWS-<trigger number>``), plus ``EP-<id>``,
``Swift-BAT-GUANO-<id>``, ``IceCube-LVK-<superevent>``, ``MAXI-<id>``,
``SuperK-SN-<trigger number>``, ``KM3NeT-<event name>``. When a notice has no
id, the trigger time names it (``EP-20240508T073801``); SNEWS 2.0 coincidence
alerts are always named by the neutrino time (their ``id`` embeds the alert
time, which changes with every update).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..notice import EventKind
from .gcn_common import as_float, prune

__all__ = ["FAMILIES", "LEGACY_FAMILIES", "RENAMED", "Family", "Props", "notice_ids"]

Props = dict[str, Any]


@dataclass(frozen=True)
class Family:
    """How to read the notices of one schema."""

    source: str
    kind: EventKind
    notice_type: Callable[[dict[str, Any]], str]
    event_id: Callable[[dict[str, Any], dt.datetime], str]
    extra: Callable[[dict[str, Any]], Props] | None = None
    #: Every notice of the schema is a test (``burstcube/test``).
    mock: bool = False
    #: The event time, for schemas without ``trigger_time`` (None: ``trigger_time``).
    time: Callable[[dict[str, Any]], dt.datetime | None] | None = None
    #: The source, when the schema covers several facilities (HEASARC archive).
    source_of: Callable[[dict[str, Any]], str] | None = None
    #: Positions are of a known source: without an error they are taken to the
    #: precision they are quoted to (MAXI gsc.known, Fermi LAT flares).
    known_position: bool = False


def _const(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda obj: name


def notice_ids(obj: dict[str, Any]) -> list[str]:
    """The notice's ``id`` (a string or a list of them) as a list of strings."""
    raw = obj.get("id")
    values = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in values
            if isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip()]


def _by_id(prefix: str) -> Callable[[dict[str, Any], dt.datetime], str]:
    def event_id(obj: dict[str, Any], time: dt.datetime) -> str:
        ids = notice_ids(obj)
        return f"{prefix}-{ids[0]}" if ids else f"{prefix}-{time:%Y%m%dT%H%M%S}"
    return event_id


def _by_time(prefix: str) -> Callable[[dict[str, Any], dt.datetime], str]:
    return lambda obj, time: f"{prefix}-{time:%Y%m%dT%H%M%S}"


def _superevent(obj: dict[str, Any]) -> str | None:
    ref = obj.get("ref_ID")
    if not ref and isinstance(obj.get("reference"), dict):
        ref = next((str(v).split("-", 1)[0] for v in obj["reference"].values()), None)
    return str(ref) if ref else None


def _nu_search_props(obj: dict[str, Any]) -> Props:
    neutrinos = []
    for event in obj.get("coincident_events") or []:
        loc = event.get("localization") or event
        neutrinos.append(prune({
            "id": (notice_ids(event) or [None])[0], "dt": as_float(event.get("event_dt")),  # s
            "ra": as_float(loc.get("ra")), "dec": as_float(loc.get("dec")),
            "error_radius": as_float(loc.get("ra_dec_error")),
            "containment_probability": as_float(loc.get("containment_probability")),
            "pval_generic": as_float(event.get("event_pval_generic")),
            "pval_bayesian": as_float(event.get("event_pval_bayesian")),
        }))
    direction = obj.get("most_probable_direction") or {}
    flux = obj.get("neutrino_flux_sensitivity_range") or {}
    return prune({
        "superevent_id": _superevent(obj),
        "pval_generic": as_float(obj.get("pval_generic")),
        "pval_bayesian": as_float(obj.get("pval_bayesian")),
        "n_events_coincident": obj.get("n_events_coincident"),
        "neutrinos": neutrinos,
        "most_probable_direction": prune({"ra": as_float(direction.get("ra")),
                                          "dec": as_float(direction.get("dec"))}) or None,
        "flux_sensitivity": flux.get("flux_sensitivity"),  # GeV cm-2
        "sensitive_energy_range": flux.get("sensitive_energy_range"),  # GeV
    })


def _follow_up_props(obj: dict[str, Any]) -> Props:
    gw = str(obj.get("follow_up_type", "")).lower() in {"gw", "gw_alert"}
    return prune({"superevent_id": obj.get("follow_up_event") if gw else None})


def _snews2_props(obj: dict[str, Any]) -> Props:
    tier = obj.get("tier_data") if isinstance(obj.get("tier_data"), dict) else {}
    status = obj.get("detector_status") if isinstance(obj.get("detector_status"), dict) else {}
    # The drafts list every detector's status; only those that triggered are in the
    # coincidence (a status-less list, as tooflow's own alerts send, counts whole).
    triggered = sorted(d for d, st in status.items() if st == "triggered") or sorted(status)
    return prune({
        "detectors": triggered or None, "n_detectors": len(triggered),
        "false_alarm_prob": as_float(tier.get("false_alarm_prob")),
        "p_values": tier.get("p_values"), "neutrino_time": tier.get("neutrino_time_utc"),
        "snews_alert_id": obj.get("id"),
    })


def _classic_snews_props(obj: dict[str, Any]) -> Props:
    quality = obj.get("detector_quality") if isinstance(obj.get("detector_quality"), dict) else {}
    used = [name for name, q in quality.items() if q != "did not contribute"]
    return prune({
        "detectors": used or None, "n_detectors": len(used),
        "n_detectors_good": sum(q in ("good", "override") for q in quality.values()),
    })


_GBM_SUBTYPES = {
    "INITIAL_ALERT": "FERMI_GBM_ALERT", "FLIGHT_POSITION": "FERMI_GBM_FLT_POS",
    "GROUND_POSITION": "FERMI_GBM_GND_POS", "FINAL_POSITION": "FERMI_GBM_FIN_POS",
}
_ICECUBE_PIPELINES = {
    "Gold Track Alert": "ICECUBE_ASTROTRACK_GOLD",
    "Bronze Track Alert": "ICECUBE_ASTROTRACK_BRONZE",
    "Cascade Alert": "ICECUBE_CASCADE",
}

#: Published schemas, validated against the shipped copies.
FAMILIES: dict[str, Family] = {
    "einstein_probe/wxt/alert": Family(
        "EinsteinProbe", "X-ray", _const("EINSTEIN_PROBE_WXT_ALERT"), _by_id("EP")),
    "swift/bat/Guano": Family(
        "Swift", "GRB", _const("SWIFT_BAT_GUANO"), _by_id("Swift-BAT-GUANO"), _follow_up_props),
    "icecube/lvk_nu_track_search": Family(
        "IceCube", "neutrino", _const("ICECUBE_LVK_NU_TRACK_SEARCH"),
        lambda obj, time: f"IceCube-LVK-{_superevent(obj) or f'{time:%Y%m%dT%H%M%S}'}",
        _nu_search_props),
    "icecube/single_neutrino_alerts": Family(
        "IceCube", "neutrino",
        lambda obj: _ICECUBE_PIPELINES.get(obj.get("pipeline", ""), "ICECUBE_NEUTRINO_ALERT"),
        _by_id("IceCube")),
    "svom/trigger": Family(
        "SVOM", "GRB", lambda obj: f"SVOM_{str(obj.get('instrument', '')).upper()}_TRIGGER",
        _by_id("SVOM")),
    "fermi/gbm/trigger": Family(
        "Fermi", "GRB",
        lambda obj: _GBM_SUBTYPES.get(obj.get("subtype", ""), "FERMI_GBM_TRIGGER"),
        _by_id("Fermi-GBM")),
    "superk/sn_alert": Family(
        "Super-Kamiokande", "supernova", _const("SUPERK_SN_ALERT"),
        lambda obj, time: (f"SuperK-SN-{int(obj['trigger_number'])}"
                           if as_float(obj.get("trigger_number")) is not None
                           else _by_id("SuperK-SN")(obj, time))),
    "maxi/gsc.known": Family("MAXI", "X-ray", _const("MAXI_GSC_KNOWN"), _by_id("MAXI"),
                             known_position=True),
    "maxi/gsc.unknown": Family("MAXI", "X-ray", _const("MAXI_GSC_UNKNOWN"), _by_id("MAXI")),
    "km3net/alert": Family(
        "KM3NeT", "neutrino", _const("KM3NET_ALERT"),
        lambda obj, time: (f"KM3NeT-{obj['event_name']}" if isinstance(obj.get("event_name"), str)
                           else _by_id("KM3NeT")(obj, time))),
}

#: Drafts and pre-release names: parsed without schema validation.
LEGACY_FAMILIES: dict[str, Family] = {
    "snews2/coincidence": Family(
        "SNEWS", "supernova", _const("SNEWS_COINCIDENCE"), _by_time("SNEWS"), _snews2_props),
    "classic/snews/alert": Family(
        "SNEWS", "supernova", _const("SNEWS"), _by_id("SNEWS"), _classic_snews_props),
    "svom/eclairs/wakeup": Family("SVOM", "GRB", _const("SVOM_ECLAIRS_WAKEUP"), _by_id("SVOM")),
    "fermi/gbm/TargetedSearch": Family(
        "Fermi", "GRB", _const("FERMI_GBM_TARGETED_SEARCH"),
        lambda obj, time: "Fermi-GBM-Targeted-" + (
            "_".join(notice_ids(obj)) or f"{time:%Y%m%dT%H%M%S}"),
        _follow_up_props),
    "swift/bat/Guano": FAMILIES["swift/bat/Guano"],
}


#: Schema names of earlier gcn-schema releases (lower-cased) → today's family key.
RENAMED: dict[str, str] = {
    "icecube/lvknutracksearch": "icecube/lvk_nu_track_search",  # v1.0.0-v2.0.0
    "icecube/goldandbronze": "icecube/single_neutrino_alerts",  # v1.0.0-v2.0.0
    "icecube/test/gold_bronze_track_alerts": "icecube/single_neutrino_alerts",  # v3-v4.x
    "swift/bat/guano/alert": "swift/bat/Guano",  # v1.0.0-v2.0.0
    "swift/bat/guano": "swift/bat/Guano",  # v3.0.0-v4.0.0 $id (lower case)
}
