"""Map GCN unified-schema JSON notices onto :class:`~tooflow.notice.ParsedNotice`.

One :class:`Family` per schema says who sent it, what kind of event it is, the
notice type name, and how to name the event so that every notice of one
trigger shares an id — the same ids as the GCN VOEvents of the same mission
(``Fermi-GBM-<trigger number>``, ``IceCube-<run>_<event>``, ``SVOM-<burst id>``,
``SNEWS-<trigger number>``), plus ``EP-<id>``, ``Swift-BAT-GUANO-<id>``,
``IceCube-LVK-<superevent>``, ``MAXI-<id>``, ``KM3NeT-<event name>``.
When a notice has no id, the trigger time names it (``EP-20240508T073801``).

Units follow the schemas: degrees (ICRS), seconds, ``far`` in Hz, IceCube
``nu_energy`` in TeV (``properties["energy"]``), luminosity distance in Mpc.
``ra_dec_error`` is a radius, or an ellipse ``[a, b, angle]`` whose
semi-major axis ``a`` becomes the circle radius (the full ellipse is kept in
``properties["ra_dec_error"]``); ``containment_probability`` defaults to 0.9
and ``systematic_included`` to false, as the schema states, and both are
written into ``Localization.radius_kind`` (``"stat 90%"``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import NoticeRejected
from ..notice import EventKind, Localization, ParsedNotice
from .gcn_common import as_float, parse_utc, parse_utc_or_none, prune

__all__ = ["FAMILIES", "LEGACY_FAMILIES", "Family", "build_notice", "circle_of"]

Props = dict[str, Any]


@dataclass(frozen=True)
class Family:
    """How to read the notices of one schema."""

    source: str
    kind: EventKind
    notice_type: Callable[[dict[str, Any]], str]
    event_id: Callable[[dict[str, Any], dt.datetime], str]
    extra: Callable[[dict[str, Any]], Props] | None = None


def _const(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda obj: name


def _ids(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("id")
    values = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _by_id(prefix: str) -> Callable[[dict[str, Any], dt.datetime], str]:
    def event_id(obj: dict[str, Any], time: dt.datetime) -> str:
        ids = _ids(obj)
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
            "id": (_ids(event) or [None])[0], "dt": as_float(event.get("event_dt")),  # s
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
    return prune({
        "detectors": sorted(status) or None, "n_detectors": len(status),
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
    "maxi/gsc.known": Family("MAXI", "X-ray", _const("MAXI_GSC_KNOWN"), _by_id("MAXI")),
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
        lambda obj, time: f"Fermi-GBM-Targeted-{'_'.join(_ids(obj)) or f'{time:%Y%m%dT%H%M%S}'}",
        _follow_up_props),
    "swift/bat/Guano": FAMILIES["swift/bat/Guano"],
}

_COPIED = (
    "mission", "instrument", "messenger", "record_number", "alert_type", "alert_tense",
    "far", "p_astro", "rate_snr", "rate_duration", "image_snr", "image_duration",
    "net_count_rate", "event_name", "data_archive_page", "follow_up_event", "follow_up_type",
    "trigger_type", "slew_status", "duration_class", "pipeline", "alert_topology",
    "number_of_events", "notice_level", "flux", "flux_error", "classification", "subtype",
    "snews2_tier", "luminosity_distance", "n_events", "n_ibd_events", "trigger_number",
    "detection_interval", "processed_sample", "light_curve_url", "loglr", "src_error_50",
)


def circle_of(obj: dict[str, Any]) -> tuple[float, float, float, str] | None:
    """``(ra, dec, radius, radius_kind)`` of a notice's error region, degrees; or ``None``."""
    ra, dec = as_float(obj.get("ra")), as_float(obj.get("dec"))
    err = obj.get("ra_dec_error")
    ellipse = isinstance(err, list)
    if ellipse:
        radius = as_float(err[0]) if err else None
    elif err is not None:
        radius = as_float(err)
    else:  # pre-release Kafka notices: ra_uncertainty / dec_uncertainty lists
        legacy = obj.get("ra_uncertainty") or obj.get("dec_uncertainty")
        radius = as_float(legacy[0]) if isinstance(legacy, list) and legacy else None
    if ra is None or dec is None or radius is None or not 0.0 < radius < 180.0:
        return None
    if not -90.0 <= dec <= 90.0:
        return None
    prob = as_float(obj.get("containment_probability")) or 0.9
    prob = prob / 100.0 if prob > 1.0 else prob  # a draft writes 68.0 for 68%
    stat = "stat+sys" if obj.get("systematic_included") is True else "stat"
    kind = f"{stat} {round(prob * 100):d}%" + (" (ellipse semi-major axis)" if ellipse else "")
    return ra % 360.0, dec, radius, kind


def _decode_map(text: Any, props: Props) -> bytes | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        props["skymap_error"] = "healpix_file is not valid base64"
        return None
    if not data.startswith((b"SIMPLE", b"\x1f\x8b")):
        props["skymap_error"] = "healpix_file is not a FITS (or gzipped FITS) file"
        return None
    return data


def _localization(obj: dict[str, Any], props: Props) -> Localization | None:
    url = obj.get("healpix_url") if isinstance(obj.get("healpix_url"), str) else None
    data = _decode_map(obj.get("healpix_file"), props)
    circle = circle_of(obj)
    if isinstance(obj.get("ra_dec_error"), list):
        props["ra_dec_error"] = obj["ra_dec_error"]
    if data is not None:
        if circle:
            props.update(ra=circle[0], dec=circle[1], error_radius=circle[2])
        if url:
            props["skymap_url"] = url
        return Localization(skymap_bytes=data, filename=url.rsplit("/", 1)[-1] if url else None)
    if circle:
        if url:
            props["skymap_url"] = url
        ra, dec, radius, kind = circle
        return Localization(ra=ra, dec=dec, error_radius=radius, radius_kind=kind)
    if url:
        return Localization(url=url, filename=url.rsplit("/", 1)[-1])
    return None


def build_notice(obj: dict[str, Any], key: str, family: Family, validated: bool) -> ParsedNotice:
    """Build the :class:`ParsedNotice` of a JSON notice already identified (and validated)."""
    if not isinstance(obj.get("trigger_time"), str):
        raise NoticeRejected(f"JSON notice ({key}) has no trigger_time")
    time = parse_utc(obj["trigger_time"], "trigger_time")
    props: Props = {k: obj[k] for k in _COPIED if k in obj and obj[k] is not None}
    props.update(schema=key, schema_validated=validated, ids=_ids(obj) or None)
    significance = as_float(obj.get("image_snr")) or as_float(obj.get("rate_snr"))
    classification = obj.get("classification")
    if isinstance(classification, dict) and classification:
        best = max(classification, key=lambda k: as_float(classification[k]) or 0.0)
        props.update(most_likely_source=best, most_likely_prob=classification[best])
    props.update(prune({"significance": significance, "energy": as_float(obj.get("nu_energy"))}))
    if family.extra is not None:
        props.update(family.extra(obj))
    issued = parse_utc_or_none(obj.get("alert_datetime"))
    if issued is None and obj.get("alert_datetime") is not None:
        props["alert_datetime"] = obj["alert_datetime"]
    superevent = str(props.get("superevent_id", ""))
    is_mock = obj.get("alert_tense") in ("test", "injection") or (
        family.source == "IceCube" and superevent.startswith("M"))
    localization = _localization(obj, props)
    return ParsedNotice(
        source=family.source, format="gcn-json", kind=family.kind,
        event_id=family.event_id(obj, time), notice_type=family.notice_type(obj),
        time=time, issued=issued, is_mock=is_mock,
        is_retraction=obj.get("alert_type") == "retraction",
        properties=prune(props), localization=localization,
    )
