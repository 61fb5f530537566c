"""GCN VOEvent handlers for gamma- and X-ray missions: Fermi, Swift, INTEGRAL, MAXI, AGILE.

Event ids, shared by every notice of one trigger:

* Fermi GBM: ``Fermi-GBM-<TrigID>`` (alert, flight, ground, final positions);
  sub-threshold triggers ``Fermi-GBM-SubThresh-<Trans_Num>``;
* Fermi LAT: ``Fermi-LAT-<TrigID>``; LAT monitor flares ``Fermi-LAT-Monitor-<TrigID>``;
* Swift: ``Swift-<TrigID>`` (BAT, QuickLook, XRT, UVOT, FOM, light curves);
* INTEGRAL: ``INTEGRAL-<n>`` with ``n = TrigID & 0xFFFF``: the higher bits
  count refinements (``Wakeup_Pos_010042`` has TrigID 10042,
  ``Refined_Pos_010042-1`` has 75578 = 10042 + 65536);
* MAXI: ``MAXI-<TrigID>``; AGILE: ``AGILE-<TrigID>``.

Retractions: ``Def_NOT_a_GRB`` set on a ground-generated Fermi GBM notice
(ground or final position) or on any Swift notice retracts the trigger; on a
Fermi flight notice it is only the on-board classifier's opinion and stays a
property (``def_not_a_grb``). Swift ``StarTrack_Lost_Lock`` is a property
(``startrack_lost_lock``) for the gate, as gwcelery vetoes on it.
"""

from __future__ import annotations

from typing import Any

from ..errors import NoticeRejected
from ..notice import EventKind
from .gcn_common import as_bool, as_float, as_int, prune
from .gcn_missions import Described, common_properties, first_number, is_test, packet_type_name
from .gcn_voevent_fields import VOEventFields

__all__ = ["agile", "fermi", "integral", "maxi", "swift", "gbm_skymap_url"]

#: Fermi GBM flight-software source classes (``Most_Likely_Index``).
GBM_CLASSES = {
    0: "ERROR", 1: "UNRELIABLE_LOCATION", 2: "LOCAL_PARTICLES", 3: "BELOW_HORIZON",
    4: "GRB", 5: "GENERIC_SGR", 6: "GENERIC_TRANSIENT", 7: "DISTANT_PARTICLES",
    8: "SOLAR_FLARE", 9: "CYG_X1", 10: "SGR_1806_20", 11: "GROJ_0422_32", 19: "TGF",
}
GBM_PACKETS = frozenset(range(110, 120)) | {131, 146}
LAT_PACKETS = frozenset(range(120, 129))
SWIFT_XRAY_PACKETS = frozenset({84, 133, 140, 141})  # BAT transients, monitor, known sources


def _trigger_id(fields: VOEventFields, mission: str) -> int:
    trig = as_int(fields.params.get("TrigID"))
    if trig is None:
        raise NoticeRejected(f"{mission} VOEvent {fields.ivorn} has no TrigID")
    return trig


def gbm_skymap_url(params: dict[str, Any], packet_type: int | None) -> str | None:
    """HEALPix map URL of a Fermi GBM ground/final position or sub-threshold notice.

    Returns the HEASARC quicklook ``glg_healpix_all_bn<burst>.fit`` for ground
    (112) and final (115) positions, ``HealPix_URL`` for sub-threshold (131)
    notices, else ``None``.
    """
    if packet_type == 131:
        return params.get("HealPix_URL")
    if packet_type not in (112, 115):
        return None
    locmap = params.get("LocationMap_URL") or ""
    if "_locplot_" in locmap:
        url = locmap.replace("_locplot_", "_healpix_").rsplit(".", 1)[0] + ".fit"
    else:
        lightcurve = params.get("LightCurve_URL") or ""
        if "glg_lc_medres34_" not in lightcurve:
            return None
        url = lightcurve.replace("glg_lc_medres34_", "glg_healpix_all_").rsplit(".", 1)[0] + ".fit"
    return url.replace("http://", "https://", 1)


def _gbm_class(params: dict[str, Any], index: str, prob: str) -> tuple[str | None, float | None]:
    idx = as_int(params.get(index))
    if idx is None:
        return None, None
    percent = as_float(params.get(prob))
    return GBM_CLASSES.get(idx, f"CLASS_{idx}"), None if percent is None else percent / 100.0


def fermi(fields: VOEventFields) -> Described:
    """Fermi GBM (alert, flight/ground/final position, sub-threshold, test) and LAT."""
    p, packet = fields.params, fields.packet_type
    props = common_properties(fields)
    name = packet_type_name(packet, "FERMI")
    if packet in LAT_PACKETS or fields.local_id.startswith("LAT"):
        trig = _trigger_id(fields, "Fermi LAT")
        monitor = packet == 125
        props.update(prune({
            "trigger_id": trig, "instrument": "LAT",
            "significance": first_number(p, "Trigger_Signif", "Signif"),
            "test_statistic": first_number(p, "Image_Test_Stat", "Temp_Test_Stat"),
            "counts": as_int(p.get("Burst_Inten")),
            "source_name": p.get("SourceName"), "flux": as_float(p.get("Curr_Flux")),
            "lightcurve_url": p.get("LC_URL"),
        }))
        return Described(
            source="Fermi", kind="other" if monitor else "GRB",
            event_id=f"Fermi-LAT-{'Monitor-' if monitor else ''}{trig}", notice_type=name,
            is_mock=is_test(fields), is_retraction=bool(as_bool(p.get("Retraction"))),
            properties=props,
        )
    if packet not in GBM_PACKETS and not fields.local_id.startswith("GBM"):
        raise NoticeRejected(f"Fermi VOEvent {fields.ivorn}: unsupported packet type {packet}")
    if packet == 131:
        trig = as_int(p.get("Trans_Num"))
        if trig is None:
            raise NoticeRejected(f"Fermi GBM sub-threshold VOEvent {fields.ivorn} has no Trans_Num")
        event_id = f"Fermi-GBM-SubThresh-{trig}"
        props.update(prune({
            "duration": as_float(p.get("Trans_Duration")),
            "reliability": as_int(p.get("Reliability")),
            "long_short": p.get("Duration_class"), "spectral_class": p.get("Spectral_class"),
        }))
    else:
        trig = _trigger_id(fields, "Fermi GBM")
        event_id = f"Fermi-GBM-{trig}"
        most, most_prob = _gbm_class(p, "Most_Likely_Index", "Most_Likely_Prob")
        second, second_prob = _gbm_class(p, "Sec_Most_Likely_Index", "Sec_Most_Likely_Prob")
        long_short = p.get("Long_short")
        props.update(prune({
            "significance": first_number(p, "Burst_Signif", "Data_Signif", "Trig_Signif"),
            "trigger_timescale": first_number(p, "Trig_Timescale", "Trig_Dur", "Data_Integ"),
            "rate_counts": as_int(p.get("Burst_Inten")),
            "most_likely_source": most, "most_likely_prob": most_prob,
            "second_most_likely_source": second, "second_most_likely_prob": second_prob,
            "hardness_ratio": as_float(p.get("Hardness_Ratio")),
            "long_short": None if long_short in (None, "unknown") else long_short,
            "phi": as_float(p.get("Phi")), "theta": as_float(p.get("Theta")),
            "lightcurve_url": p.get("LightCurve_URL"),
            "location_map_url": p.get("LocationMap_URL"),
        }))
    ground = packet in (112, 115) or bool(as_bool(p.get("Gnd_Generated")))
    props.update(prune({
        "trigger_id": trig, "instrument": "GBM",
        "ground_generated": ground, "skymap_url": gbm_skymap_url(p, packet),
    }))
    return Described(
        source="Fermi", kind="GRB", event_id=event_id, notice_type=name,
        is_mock=is_test(fields),
        is_retraction=ground and bool(props.get("def_not_a_grb")),
        properties=props,
        radius_kind="unspecified" if packet == 131 else "stat 1-sigma",
    )


def swift(fields: VOEventFields) -> Described:
    """Swift BAT, QuickLook, XRT, UVOT and related notices of one trigger."""
    p, packet = fields.params, fields.packet_type
    trig = _trigger_id(fields, "Swift")
    props = common_properties(fields)
    instrument = next((i for i in ("BAT", "XRT", "UVOT") if i in fields.local_id.upper()), None)
    props.update(prune({
        "trigger_id": trig, "instrument": instrument,
        "significance": first_number(p, "Image_Signif", "Rate_Signif", "Det_Signif"),
        "rate_significance": as_float(p.get("Rate_Signif")),
        "image_significance": as_float(p.get("Image_Signif")),
        "rate_counts": as_float(p.get("Burst_Inten")),
        "integration_time": as_float(p.get("Integ_Time")),
        "grb_identified": as_bool(p.get("GRB_Identified")),
        "startrack_lost_lock": as_bool(p.get("StarTrack_Lost_Lock")),
        "point_source": as_bool(p.get("Point_Source")),
        "in_catalog": any(as_bool(p.get(f"Target_in_{c}_Catalog")) for c in ("Flt", "Gnd", "Blk"))
        or None,
    }))
    kind: EventKind = "X-ray" if packet in SWIFT_XRAY_PACKETS else "GRB"
    return Described(
        source="Swift", kind=kind, event_id=f"Swift-{trig}",
        notice_type=packet_type_name(packet, "SWIFT"), is_mock=is_test(fields),
        is_retraction=bool(props.get("def_not_a_grb")), properties=props,
        radius_kind="stat+sys 90%",
    )


def integral(fields: VOEventFields) -> Described:
    """INTEGRAL IBAS wake-up, refined, offline, weak and SPI-ACS notices."""
    p = fields.params
    trig = _trigger_id(fields, "INTEGRAL")
    props = common_properties(fields)
    props.update(prune({
        "trigger_id": trig, "significance": as_float(p.get("Inten_Sigma")),
        "time_scale": as_float(p.get("Time_Scale")),
    }))
    return Described(
        source="INTEGRAL", kind="GRB", event_id=f"INTEGRAL-{trig & 0xFFFF}",
        notice_type=packet_type_name(fields.packet_type, "INTEGRAL"),
        is_mock=is_test(fields), properties=props,
    )


def maxi(fields: VOEventFields) -> Described:
    """MAXI known- and unknown-source X-ray transients."""
    p = fields.params
    trig = _trigger_id(fields, "MAXI")
    props = common_properties(fields)
    props.update(prune({
        "trigger_id": trig, "source_name": (p.get("Source_Name") or "").strip() or None,
        "event_class": p.get("Event_Class"), "flux": as_float(p.get("Source_Flux")),
        "energy_band": p.get("Source_EBand"), "time_scale": p.get("Source_TimeScale"),
    }))
    return Described(
        source="MAXI", kind="X-ray", event_id=f"MAXI-{trig}",
        notice_type=packet_type_name(fields.packet_type, "MAXI"),
        is_mock=is_test(fields), properties=props,
    )


def agile(fields: VOEventFields) -> Described:
    """AGILE MCAL/GRID alerts."""
    trig = _trigger_id(fields, "AGILE")
    props = common_properties(fields)
    props["trigger_id"] = trig
    return Described(
        source="AGILE", kind="GRB", event_id=f"AGILE-{trig}",
        notice_type=packet_type_name(fields.packet_type, "AGILE"),
        is_mock=is_test(fields), properties=props,
    )
