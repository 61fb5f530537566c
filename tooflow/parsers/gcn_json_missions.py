"""GCN unified-schema JSON families of the newer missions: FRBs, small GRB satellites,
Fermi LAT flares, Swift XRT/UVOT, SVOM MXT, AstroSat, HEASARC archive (IXPE, NuSTAR).

Published in gcn-schema releases (validated against the release named):

* ``chime/frb`` (v4.4.0+), ``dsa110/frb`` (v5.0.0+): kind ``FRB``, event
  ``CHIME-FRB-<id>`` / ``DSA110-FRB-<id>``, notice type ``CHIME_FRB_<ALERT_TYPE>``;
  the error ellipse ``[a, b, angle]`` is kept;
* ``burstcube/alert`` and ``burstcube/test`` (v4.0.0+; ``test`` notices are
  mock), ``glowbug/Alert`` (v1–v2 ``glowbug/alert``): kind ``GRB``,
  ``BurstCube-<id>``, ``GLOWBUG-<BUGyymmdd.fff>``;
* ``fermi/lat/flare`` (v7.2.0+): a Fermi-LAT Flare Advocate alert of a known
  source, kind ``other`` (as the LAT monitor VOEvents), notice type
  ``FERMI_LAT_FLARE``, event ``Fermi-LAT-Flare-<source>-<yyyymmdd>`` (a
  source flares on many days); time ``observation_start`` (the notices have no
  ``trigger_time``), its position a known-source position;
* ``heasarc/archive_alert`` (v4.1.0+): data of an observation (IXPE, NuSTAR,
  ...) arrived in the HEASARC archive, kind ``other``, source the facility,
  event ``<facility>-<obs_id>``, time ``observation_start``.

Drafts from gcn-schema pull requests, read without validation
(``schema_validated=False``), as the SNEWS drafts are:

* ``swift/xrt/position``, ``swift/uvot/position``: the XRT/UVOT position of a
  Swift trigger, kind ``GRB``, event ``Swift-<trigger id>`` — the same event as
  the Swift VOEvents of that trigger; time ``observation_start``;
* ``svom/mxt/mxt``: SVOM MXT position, kind ``GRB``, event ``SVOM-<burst id>``
  (as SVOM's VOEvents);
* ``astrosat/alert``: AstroSat CZTI, kind ``GRB``, event
  ``AstroSat-<instrument>-<trigger time>`` (the draft has no id);
* ``heasarc/ixpe/archive_alert``, ``heasarc/nustar/archive_alert``: as
  ``heasarc/archive_alert``, time ``observation_datetime``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .gcn_common import as_float, parse_utc_or_none, prune
from .gcn_json_families import Family, Props, notice_ids

__all__ = ["MISSION_DRAFTS", "MISSION_FAMILIES", "MISSION_RENAMED", "observation_time"]


def _first_id(obj: dict[str, Any]) -> str | None:
    ids = notice_ids(obj)
    return ids[0] if ids else None


def _by_first_id(prefix: str):
    def event_id(obj: dict[str, Any], time: dt.datetime) -> str:
        return f"{prefix}-{_first_id(obj) or f'{time:%Y%m%dT%H%M%S}'}"
    return event_id


def _typed(prefix: str):
    return lambda obj: f"{prefix}_{str(obj.get('alert_type') or 'alert').upper()}"


def _frb_props(obj: dict[str, Any]) -> Props:
    return prune({
        "snr": as_float(obj.get("snr")), "significance": as_float(obj.get("snr")),
        "dm": as_float(obj.get("dm")), "dm_error": as_float(obj.get("dm_error")),  # pc cm-3
        "dm_galactic_max": as_float(obj.get("dm_gal_ne_2001_max")),
        "importance": as_float(obj.get("importance")),
        "known_source": obj.get("known_source"),
        "association_probability": as_float(obj.get("association_probability")),
        "trigger_time_error": as_float(obj.get("trigger_time_error")),  # s
        "event_duration": as_float(obj.get("event_duration")),
        "update_message": obj.get("update_message"),
    })


def _detector_props(obj: dict[str, Any]) -> Props:
    status = obj.get("detector_status") if isinstance(obj.get("detector_status"), dict) else {}
    return prune({
        "detectors": sorted(d for d, s in status.items() if s == "triggered") or None,
        "t90": as_float(obj.get("t90")),
    })


def observation_time(obj: dict[str, Any]) -> dt.datetime | None:
    """``trigger_time``, else ``observation_start``, else ``observation_datetime``, UTC."""
    for name in ("trigger_time", "observation_start", "observation_datetime"):
        time = parse_utc_or_none(obj.get(name)) if isinstance(obj.get(name), str) else None
        if time is not None:
            return time
    return None


def _flare_event(obj: dict[str, Any], time: dt.datetime) -> str:
    name = str(obj.get("event_name") or "").strip().replace(" ", "_") or (
        f"{as_float(obj.get('ra'))}_{as_float(obj.get('dec'))}")
    return f"Fermi-LAT-Flare-{name}-{time:%Y%m%d}"


def _flare_props(obj: dict[str, Any]) -> Props:
    return prune({
        "source_name": obj.get("event_name"), "flux_unit": obj.get("flux_unit"),
        "photon_index": as_float(obj.get("alpha")),
        "flux_ratio": as_float(obj.get("flux_ratio")),
        "test_statistic": as_float(obj.get("TS")),
        "reference_catalog": obj.get("reference_catalog"),
        "observation_stop": obj.get("observation_stop"),
    })


def _facility(obj: dict[str, Any]) -> str:
    name = obj.get("facility_name") or obj.get("mission") or "HEASARC"
    return {"nustar": "NuSTAR", "ixpe": "IXPE"}.get(str(name).lower(), str(name))


def _archive_event(obj: dict[str, Any], time: dt.datetime) -> str:
    obs = obj.get("obs_id") or obj.get("observation_id")
    return f"{_facility(obj)}-{obs or f'{time:%Y%m%dT%H%M%S}'}"


def _archive_props(obj: dict[str, Any]) -> Props:
    return prune({
        "facility": _facility(obj), "target_name": obj.get("target_name"),
        "obs_id": obj.get("obs_id") or obj.get("observation_id"),
        "archive_alert": True,
    })


def _swift_props(obj: dict[str, Any]) -> Props:
    return prune({
        "trigger_id": _first_id(obj), "energy_flux": as_float(obj.get("energy_flux")),
        "mag": as_float(obj.get("mag")), "mag_error": as_float(obj.get("mag_error")),
        "filter": obj.get("filter"), "possible_cosmic_ray": obj.get("possible_cosmic_ray"),
        "observation_start": obj.get("observation_start"),
    })


#: Published schemas (validated against the release a notice names).
MISSION_FAMILIES: dict[str, Family] = {
    "chime/frb": Family("CHIME", "FRB", _typed("CHIME_FRB"), _by_first_id("CHIME-FRB"),
                        _frb_props),
    "dsa110/frb": Family("DSA-110", "FRB", _typed("DSA110_FRB"), _by_first_id("DSA110-FRB"),
                         _frb_props),
    "burstcube/alert": Family("BurstCube", "GRB", lambda obj: "BURSTCUBE_ALERT",
                              _by_first_id("BurstCube"), _detector_props),
    "burstcube/test": Family("BurstCube", "GRB", lambda obj: "BURSTCUBE_TEST",
                             _by_first_id("BurstCube"), _detector_props, mock=True),
    "glowbug/Alert": Family("GLOWBUG", "GRB", lambda obj: "GLOWBUG_ALERT",
                            _by_first_id("GLOWBUG"), _detector_props),
    "fermi/lat/flare": Family("Fermi", "other", lambda obj: "FERMI_LAT_FLARE", _flare_event,
                              _flare_props, time=observation_time, known_position=True),
    "heasarc/archive_alert": Family("HEASARC", "other", lambda obj: "HEASARC_ARCHIVE_ALERT",
                                    _archive_event, _archive_props, time=observation_time,
                                    source_of=_facility),
}

#: Drafts from gcn-schema pull requests: read without validation.
MISSION_DRAFTS: dict[str, Family] = {
    "swift/xrt/position": Family("Swift", "GRB", lambda obj: "SWIFT_XRT_POSITION",
                                 _by_first_id("Swift"), _swift_props, time=observation_time),
    "swift/uvot/position": Family("Swift", "GRB", lambda obj: "SWIFT_UVOT_POSITION",
                                  _by_first_id("Swift"), _swift_props, time=observation_time),
    "svom/mxt/mxt": Family("SVOM", "GRB", lambda obj: "SVOM_MXT", _by_first_id("SVOM")),
    "astrosat/alert": Family(
        "AstroSat", "GRB", lambda obj: f"ASTROSAT_{str(obj.get('instrument') or '').upper()}",
        lambda obj, time: f"AstroSat-{obj.get('instrument') or 'CZTI'}-{time:%Y%m%dT%H%M%S}",
        lambda obj: prune({"active_detectors": obj.get("active_detectors")})),
    "heasarc/ixpe/archive_alert": Family(
        "IXPE", "other", lambda obj: "IXPE_ARCHIVE_ALERT", _archive_event, _archive_props,
        time=observation_time),
    "heasarc/nustar/archive_alert": Family(
        "NuSTAR", "other", lambda obj: "NUSTAR_ARCHIVE_ALERT", _archive_event, _archive_props,
        time=observation_time),
}

#: Names of earlier releases (lower-cased) → family key.
MISSION_RENAMED: dict[str, str] = {"glowbug/alert": "glowbug/Alert"}
