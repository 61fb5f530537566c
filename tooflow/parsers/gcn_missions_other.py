"""GCN VOEvent handlers for neutrinos, supernovae and SVOM: IceCube/AMON, ANTARES, SNEWS, SVOM.

Event ids, shared by every notice (and revision) of one trigger:

* IceCube gold/bronze tracks and cascades: ``IceCube-<run_id>_<event_id>``
  (revisions ``Rev`` 0, 1, ... keep it); older HESE/EHE notices without
  run/event ids: ``IceCube-<TrigID>``, or ``IceCube-<trigger time>`` when the
  TrigID is the placeholder 2147483647;
* other AMON streams (coincidences): ``AMON-<TrigID or AMON_ID>``; HAWC ``HAWC-<TrigID>``;
* ANTARES: ``ANTARES-<TrigID>``;
* SNEWS 1.0: ``SNEWS-<TrigID>``;
* SVOM: ``SVOM-<Burst_Id>`` (``SVOM-sb25082402``) for ECLAIRs, GRM and MXT;
  kind ``GRB``, or ``X-ray`` when ECLAIRs matched a source of its on-board
  catalogue (``eclairs-catalog`` notices carry ``Source_Name``).

IceCube ``FAR`` is given per year in the notice; ``properties["far"]`` is in
Hz as everywhere in tooflow, ``far_per_year`` keeps the notice's value.
"""

from __future__ import annotations

import re

from ..errors import NoticeRejected
from ..notice import EventKind
from .gcn_common import SECONDS_PER_YEAR, as_bool, as_float, as_int, prune
from .gcn_missions import Described, common_properties, first_number, is_test, packet_type_name
from .gcn_voevent_fields import VOEventFields

__all__ = ["amon", "antares", "snews", "svom"]

ICECUBE_PACKETS = frozenset({158, 169, 173, 174, 176})
PLACEHOLDER_TRIGID = 2147483647


def amon(fields: VOEventFields) -> Described:
    """IceCube gold/bronze/cascade/HESE/EHE events and AMON coincidences."""
    p, packet = fields.params, fields.packet_type
    run, event = as_int(p.get("run_id")), as_int(p.get("event_id"))
    trig = as_int(p.get("TrigID"))
    far_per_year = as_float(p.get("FAR"))
    props = common_properties(fields)
    props.update(prune({
        "run_id": run, "event_id_in_run": event, "amon_id": as_int(p.get("AMON_ID")),
        "trigger_id": trig, "event_name": p.get("event_name"),
        "signalness": as_float(p.get("signalness")),
        "far_per_year": far_per_year,
        "far": None if far_per_year is None else far_per_year / SECONDS_PER_YEAR,
        "energy": as_float(p.get("energy")),  # TeV
        "error_radius_50": as_float(p.get("src_error_50")),
        "error_radius_90": as_float(p.get("src_error_90")),
        "charge": as_float(p.get("charge")),  # photo-electrons (HESE)
        "false_positive": as_float(p.get("False_pos")),
        "pvalue": as_float(p.get("pvalue")),
        "n_events": as_int(p.get("Nevents")),
        "stream_id": as_int(p.get("Stream")), "revision": as_int(p.get("Rev")),
        "subtype": p.get("SubType"), "skymap_url": p.get("skymap_fits"),
    }))
    source, kind = "AMON", "neutrino"
    if packet in ICECUBE_PACKETS or "ICECUBE" in fields.local_id.upper():
        source = "IceCube"
        if run is not None and event is not None:
            event_id = f"IceCube-{run}_{event}"
        elif trig is not None and trig != PLACEHOLDER_TRIGID:
            event_id = f"IceCube-{trig}"
        else:
            event_id = f"IceCube-{fields.time:%Y%m%dT%H%M%S}"
    elif packet == 171:
        source, kind = "HAWC", "GRB"
        event_id = f"HAWC-{trig}"
    else:
        amon_id = trig if trig is not None else props.get("amon_id")
        if amon_id is None:
            raise NoticeRejected(f"AMON VOEvent {fields.ivorn} has neither TrigID nor AMON_ID")
        event_id = f"AMON-{amon_id}"
    tracks = packet in (173, 174, 176)
    return Described(
        source=source, kind=kind, event_id=event_id,
        notice_type=packet_type_name(packet, "AMON"), is_mock=is_test(fields),
        is_retraction=bool(as_bool(p.get("Retraction"))), properties=props,
        radius_kind="stat+sys 90%" if tracks else "unspecified",
    )


def antares(fields: VOEventFields) -> Described:
    """ANTARES neutrino alerts (no Packet_Type; ``isRealAlert`` flags tests)."""
    p = fields.params
    trig = as_int(p.get("TrigID"))
    if trig is None:
        raise NoticeRejected(f"ANTARES VOEvent {fields.ivorn} has no TrigID")
    props = common_properties(fields)
    props.update(prune({
        "trigger_id": trig, "pvalue": as_float(p.get("pvalue")),
        "ranking": as_int(p.get("ranking")), "n_hits": as_int(p.get("N_Hits")),
    }))
    real = as_bool(p.get("isRealAlert"))
    return Described(
        source="ANTARES", kind="neutrino", event_id=f"ANTARES-{trig}",
        notice_type="ANTARES_ALERT", is_mock=is_test(fields) or real is False,
        properties=props,
    )


def snews(fields: VOEventFields) -> Described:
    """SNEWS 1.0 supernova-neutrino coincidence notices (packet 149)."""
    p = fields.params
    trig = as_int(p.get("TrigID"))
    if trig is None:
        raise NoticeRejected(f"SNEWS VOEvent {fields.ivorn} has no TrigID")
    letters = sorted({key.split("_")[1] for key in p if re.fullmatch(r"Detector_\w_\w+", key)})
    participating = [x for x in letters if as_bool(p.get(f"Detector_{x}_Participate"))]
    good = [x for x in letters if as_bool(p.get(f"Detector_{x}_Good"))]
    props = common_properties(fields)
    props.update(prune({
        "trigger_id": trig, "subtype": p.get("SubType"),
        "n_detectors": len(participating), "n_detectors_good": len(good),
        "detectors": participating or None,
    }))
    return Described(
        source="SNEWS", kind="supernova", event_id=f"SNEWS-{trig}",
        notice_type=packet_type_name(fields.packet_type, "SNEWS"), is_mock=is_test(fields),
        is_retraction=bool(as_bool(p.get("Retraction"))), properties=props,
        keep_position=bool(as_bool(p.get("RADec_valid"))),
    )


def svom(fields: VOEventFields) -> Described:
    """SVOM ECLAIRs, GRM and MXT notices from the French Science Center."""
    p = fields.params
    burst = (p.get("Burst_Id") or "").strip()
    if not burst:
        raise NoticeRejected(f"SVOM VOEvent {fields.ivorn} has no Burst_Id")
    # ivorn fragment: sb26022802_mxt-initial_qf1 -> step "mxt-initial", quality flag 1
    step = fields.local_id.split("_", 1)[1] if "_" in fields.local_id else ""
    quality = re.search(r"_qf(\d+)$", step)
    step = step[: quality.start()] if quality else step
    notice_type = f"SVOM_{step.replace('-', '_').upper()}" if step else packet_type_name(
        fields.packet_type, "SVOM")
    low, high = as_float(p.get("Lower_Energy_Bound")), as_float(p.get("Upper_Energy_Bound"))
    props = common_properties(fields)
    props.update(prune({
        "burst_id": burst, "instrument": p.get("Instrument"),
        "notice_level": p.get("Notice_Level"),
        "significance": first_number(p, "SNR"),
        "timescale": as_float(p.get("Timescale")),  # s
        "trigger_type": p.get("Trigger_Type"), "slew_status": p.get("Slew_Status"),
        "energy_range": [low, high] if low is not None and high is not None else None,  # keV
        "quality_flag": int(quality.group(1)) if quality else None,
        "mean_flux": as_float(p.get("Mean_Flux")),  # erg cm-2 s-1
        "source_name": p.get("Source_Name"),
        "catalog_id": as_int(p.get("Onboard_Catalog_Id")),
    }))
    retraction = fields.packet_type == 219 or any(
        cite == "retraction" for cite, _ in fields.citations)
    # a trigger matching ECLAIRs' on-board catalogue is a known X-ray source
    kind: EventKind = "X-ray" if "catalog_id" in props or "source_name" in props else "GRB"
    return Described(
        source="SVOM", kind=kind, event_id=f"SVOM-{burst}", notice_type=notice_type,
        is_mock=is_test(fields), is_retraction=retraction, properties=props,
    )
