"""Legacy LVK GCN VOEvents (O2 ``gwnet/gcn_sender``, O3 and O4 ``gwnet/LVC``).

The sky map is only referenced by URL, so the localization is
``Localization(url=...)``; :func:`tooflow.skymap.fetch_skymap` downloads it.

Choices made here (the Avro/JSON choices in :mod:`.lvk` apply too):

* The superevent id is the ``GraceID`` param, else the ivorn fragment
  (``ivo://gwnet/LVC#S200114f-3-Initial`` → ``S200114f``).
* The notice type comes from the GCN packet type (150–152, 163, 164), else
  the ``AlertType`` param (``EarlyWarning`` → ``EARLYWARNING``, ...), else the
  ivorn suffix. A retraction is also recognised by its citations
  (``<EventIVORN cite="retraction">``) and O2's ``Retraction="true"`` param.
  When these signals disagree — the LVK user guide's early sample retraction
  for MS181101ab says ``AlertType=Preliminary`` with ``Packet_Type=164`` and
  ``cite="retraction"`` — the packet type and the citations win; the
  disagreement is logged and kept in ``properties["alert_type_disagreement"]``.
* GCN relays LVK notices under its own ivorn (O2:
  ``ivo://nasa.gsfc.gcn/LVC#G298048-1-Initial``), with the sky-map URLs as
  ``SKYMAP_URL_FITS_*`` params and the flags (``HardwareInj``, ``Retraction``)
  as ``true``/``false`` in a ``Trigger_ID`` group: they are read here too.
* ``is_mock``: id starting with ``M``, ``search == "MDC"``, ``role="test"``,
  or ``HardwareInj == 1`` (a hardware injection is not an astrophysical
  event; ``properties["hardware_injection"]`` says so).
* O2's ``ProbHasNS``/``ProbHasRemnant`` become ``HasNS``/``HasRemnant``; O3's
  ``MassGap`` class becomes ``p_MassGap``; bursts give ``duration`` (s),
  ``central_frequency`` (Hz) and ``fluence`` (erg cm⁻²).
* A RAVEN coincidence's ``joint_skymap_fits`` is the localization URL (as the
  combined map is for Avro/JSON), and the GW map URL is kept in
  ``external_coincidence["gw_skymap_url"]``. O4 MDC notices omit
  ``External_Ivorn``; it is then ``None``.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import as_bool, as_float, as_int, parse_utc, parse_utc_or_none, prune
from .xml import local_name, voevent_params

__all__ = ["PACKET_TYPES", "is_lvk_voevent", "parse_lvk_voevent"]

log = logging.getLogger(__name__)

#: GCN packet types of LVK notices.
PACKET_TYPES = {150: "PRELIMINARY", 151: "INITIAL", 152: "UPDATE", 163: "EARLYWARNING",
                164: "RETRACTION"}

_ALERT_TYPES = {"earlywarning": "EARLYWARNING", "preliminary": "PRELIMINARY",
                "initial": "INITIAL", "update": "UPDATE", "retraction": "RETRACTION"}

_CLASSES = ("BNS", "NSBH", "BBH", "MassGap", "Terrestrial")
_HAS = {"HasNS": "HasNS", "HasRemnant": "HasRemnant", "HasMassGap": "HasMassGap",
        "HasSSM": "HasSSM", "ProbHasNS": "HasNS", "ProbHasRemnant": "HasRemnant"}
_SKYMAP_PARAMS = ("skymap_fits", "skymap_fits_basic", "skymap_fits_x509", "skymap_fits_shib",
                  # as GCN relays them (O2, ivo://nasa.gsfc.gcn/LVC#...)
                  "SKYMAP_URL_FITS_BASIC", "SKYMAP_URL_FITS_X509", "SKYMAP_URL_FITS_SHIB")

#: ivorn streams of LVK notices: O3/O4 (gwnet/LVC, gwnet/LVK), O2 (gwnet/gcn_sender)
#: and the same notices as GCN relayed them (nasa.gsfc.gcn/LVC).
LVK_STREAMS = ("gwnet/LVC", "gwnet/LVK", "gwnet/gcn_sender", "nasa.gsfc.gcn/LVC",
               "nasa.gsfc.gcn/LVK")


def is_lvk_voevent(root: ET.Element) -> bool:
    """Whether a VOEvent is an LVK notice: by ivorn stream, or by GCN packet type."""
    ivorn = root.get("ivorn", "")
    stream = ivorn.removeprefix("ivo://").split("#", 1)[0]
    if stream in LVK_STREAMS:
        return True
    return (stream.startswith("nasa.gsfc.gcn/")
            and as_int(voevent_params(root).get("Packet_Type")) in PACKET_TYPES)


def _find_text(root: ET.Element, *path: str) -> str | None:
    """Text of the first element reached by local names (namespace-agnostic)."""
    nodes = [root]
    for name in path:
        nodes = [c for n in nodes for c in n.iter() if c is not n and local_name(c.tag) == name]
        if not nodes:
            return None
    text = nodes[0].text
    return text.strip() if text and text.strip() else None


def _notice_type(params: dict[str, Any], suffix: str, cites: list[str]) -> tuple[str, str | None]:
    """The notice type, and a description of any disagreement between the signals.

    The packet type and the citations win over ``AlertType`` and the ivorn suffix.
    """
    signals: dict[str, str] = {}
    packet = as_int(params.get("Packet_Type"))
    if packet in PACKET_TYPES:
        signals["Packet_Type"] = PACKET_TYPES[packet]
    if "retraction" in cites or as_bool(params.get("Retraction")) is True:
        signals["citations" if "retraction" in cites else "Retraction"] = "RETRACTION"
    alert = str(params.get("AlertType") or "").strip().lower()
    if alert in _ALERT_TYPES:
        signals["AlertType"] = _ALERT_TYPES[alert]
    if suffix.lower() in _ALERT_TYPES:
        signals["ivorn"] = _ALERT_TYPES[suffix.lower()]
    if not signals:
        raise NoticeRejected(
            f"LVK VOEvent has no known alert type (AlertType={params.get('AlertType')!r}, "
            f"Packet_Type={params.get('Packet_Type')!r})"
        )
    if "RETRACTION" in (signals.get("Packet_Type"), signals.get("citations"),
                        signals.get("Retraction")):
        chosen = "RETRACTION"
    else:
        chosen = next(iter(signals.values()))
    if len(set(signals.values())) == 1:
        return chosen, None
    said = ", ".join(f"{name} says {value}" for name, value in signals.items())
    return chosen, f"{said}: read as {chosen}"


def _properties(params: dict[str, Any]) -> dict[str, Any]:
    instruments = str(params.get("Instruments") or "")
    props: dict[str, Any] = {
        "group": params.get("Group"),
        "search": params.get("Search"),
        "pipeline": params.get("Pipeline"),
        "far": as_float(params.get("FAR")),
        "significant": as_bool(params.get("Significant")),
        "instruments": [i.strip() for i in instruments.split(",") if i.strip()] or None,
        "duration": as_float(params.get("Duration")),
        "central_frequency": as_float(params.get("CentralFreq")),
        "fluence": as_float(params.get("Fluence")),
        "gracedb_url": params.get("EventPage"),
    }
    for name in _CLASSES:
        props[f"p_{name}"] = as_float(params.get(f"Classification.{name}"))
    for name, key in _HAS.items():
        value = as_float(params.get(name))
        if value is not None:
            props[key] = value
    if as_int(params.get("HardwareInj")) == 1 or as_bool(params.get("HardwareInj")) is True:
        props["hardware_injection"] = True
    return prune(props)


def _external(params: dict[str, Any]) -> dict[str, Any] | None:
    if params.get("External_Observatory") is None and params.get("External_GCN_Notice_Id") is None:
        return None
    return {
        "gcn_notice_id": as_int(params.get("External_GCN_Notice_Id")),
        "ivorn": params.get("External_Ivorn"),
        "observatory": params.get("External_Observatory"),
        "search": params.get("External_Search"),
        "time_difference": as_float(params.get("Time_Difference")),
        "time_coincidence_far": as_float(params.get("Time_Coincidence_FAR")),
        "time_sky_position_coincidence_far":
            as_float(params.get("Time_Sky_Position_Coincidence_FAR")),
        "combined_skymap": bool(params.get("joint_skymap_fits")),
    }


def parse_lvk_voevent(root: ET.Element) -> ParsedNotice:
    """Parse a legacy LVK GCN VOEvent.

    Parameters
    ----------
    root : xml.etree.ElementTree.Element
        The ``<VOEvent>`` root, as returned by :func:`tooflow.parsers.xml.parse_xml`.

    Returns
    -------
    ParsedNotice
        With ``localization=Localization(url=...)`` when the notice names a sky map.

    Raises
    ------
    NoticeRejected
        If the superevent id, alert type or event time cannot be found.
    """
    ivorn = root.get("ivorn", "")
    fragment = ivorn.rsplit("#", 1)[-1] if "#" in ivorn else ""
    pieces = fragment.split("-")
    params = voevent_params(root)
    event_id = str(params.get("GraceID") or (pieces[0] if fragment else "")).strip()
    if not event_id:
        raise NoticeRejected(f"LVK VOEvent {ivorn!r} has no GraceID")
    cites = [(el.get("cite") or "").strip().lower() for el in root.iter()
             if local_name(el.tag) == "EventIVORN"]
    notice_type, disagreement = _notice_type(params, pieces[-1] if len(pieces) > 1 else "",
                                             cites)
    if disagreement:
        log.warning("LVK VOEvent %s: alert type signals disagree (%s)", ivorn, disagreement)
    is_retraction = notice_type == "RETRACTION"
    time = parse_utc(_find_text(root, "WhereWhen", "ISOTime"), "event time (WhereWhen ISOTime)")
    issued = parse_utc_or_none(_find_text(root, "Who", "Date"))

    properties = _properties(params)
    if disagreement:
        properties["alert_type_disagreement"] = disagreement
    external = _external(params)
    gw_url = next((params[name] for name in _SKYMAP_PARAMS if params.get(name)), None)
    url = params.get("joint_skymap_fits") or gw_url
    if external is not None and params.get("joint_skymap_fits"):
        external["gw_skymap_url"] = gw_url
    localization = None
    if url and not is_retraction:
        name = urlsplit(url).path.rsplit("/", 1)[-1].split(",", 1)[0] or None
        localization = Localization(url=url, filename=name)

    return ParsedNotice(
        source="LVK",
        format="voevent",
        kind="GW",
        event_id=event_id,
        notice_type=notice_type,
        time=time,
        issued=issued,
        is_mock=(event_id.startswith("M") or properties.get("search") == "MDC"
                 or root.get("role") == "test" or properties.get("hardware_injection", False)),
        is_retraction=is_retraction,
        properties=properties,
        localization=localization,
        external_coincidence=external,
    )
