"""GCN VOEvent notices (Fermi, Swift, IceCube/AMON, INTEGRAL, MAXI, SVOM, SNEWS, ...).

:func:`parse_gcn_voevent` reads what every VOEvent 2.0 notice shares — the
ivorn and ``role``, ``<Who><Date>`` (issued), ``<WhereWhen>`` (``ISOTime``,
``Position2D`` ``C1``/``C2``/``Error2Radius`` in degrees) and ``<Citations>`` —
into :class:`VOEventFields`, then :mod:`.gcn_missions` names the mission,
the event and the packet type.

Choices made here:

* Accepted streams are GCN's (``ivo://nasa.gsfc.gcn/...``) and SVOM's
  (``ivo://org.svom/...``). Other VOEvents (ASAS-SN, Gaia, gwcelery's
  ``lvk.internal`` templates) are refused as unsupported streams, and so are
  control packets (``role="utility"``, KILL_SOCKET, IM_ALIVE, pointing
  directions): they are not about an astrophysical event.
* ``time`` is the ``WhereWhen`` ``ISOTime`` (GCN writes it in UTC); a VOEvent
  without one is refused.
* The error circle goes into :class:`~tooflow.notice.Localization`
  (``ra``/``dec``/``error_radius``, degrees) with ``radius_kind`` saying what
  the mission's radius means. Placeholder positions are dropped: a radius of 0
  or of 180 degrees and more (SNEWS sends 360), ``0, 0, 0``, or a position the
  notice calls ``unavailable/inappropriate``.
* When a HEALPix map exists only as a URL (Fermi GBM ground and final
  positions, GBM sub-threshold, IceCube cascades) the circle stays in
  ``localization`` and the URL goes into ``properties["skymap_url"]``: the
  circle is usable at once, the map a few minutes later, and
  :class:`~tooflow.notice.Localization` holds one representation only. For
  Fermi GBM the URL is the HEASARC quicklook ``glg_healpix_all_bn*.fit``,
  derived from ``LocationMap_URL`` (final position: ``_locplot_`` → ``_healpix_``,
  ``.png`` → ``.fit``, the growth-too-marshal/SkyPortal convention) or from
  ``LightCurve_URL`` (ground position); the new GCN JSON Fermi notices give
  that very URL as ``healpix_url``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import as_int, parse_utc, parse_utc_or_none
from .validate import position
from .xml import local_name, voevent_params

__all__ = ["NON_EVENT_PACKETS", "VOEventFields", "parse_gcn_voevent", "read_voevent_fields"]

#: ivorn authorities whose notices this module understands.
SUPPORTED_AUTHORITIES = ("nasa.gsfc.gcn", "org.svom")

#: GCN control, pointing and heartbeat packets (IM_ALIVE, KILL_SOCKET, *_POINTDIR,
#: *_SC_SLEW, ...): not about an astrophysical event.
NON_EVENT_PACKETS = frozenset({
    3, 4, 46, 47, 48, 51, 66, 83, 94, 95, 96, 103, 107, 126, 129, 142, 143, 144,
})


@dataclass
class VOEventFields:
    """The parts of a VOEvent every mission handler needs.

    Attributes
    ----------
    ivorn : str
        ``ivo://nasa.gsfc.gcn/Fermi#GBM_Flt_Pos_...``.
    authority : str
        ``nasa.gsfc.gcn`` or ``org.svom``.
    stream : str
        The ivorn path: ``Fermi``, ``SWIFT``, ``AMON``, ``fsc``, ...
    local_id : str
        The ivorn fragment after ``#``.
    role : str
        ``observation``, ``test`` or ``utility``.
    params : dict
        ``<What>`` params by name (strings), see :func:`~.xml.voevent_params`.
    packet_type : int or None
        GCN ``Packet_Type``.
    time : datetime.datetime
        ``WhereWhen`` ``ISOTime``, UTC.
    issued : datetime.datetime or None
        ``Who/Date``, UTC.
    position : tuple of str or None
        ``(C1, C2, Error2Radius)`` texts (degrees) as written, placeholders
        included; checked by :func:`.validate.position` when used.
    citations : list of tuple
        ``(cite, ivorn)`` pairs from ``<Citations>``.
    concept : str
        ``Why/Inference/Concept`` text, e.g. ``process.variation.burst;em.gamma``.
    name : str or None
        ``Why/Inference/Name`` (``GRB 220730``), if any.
    """

    ivorn: str
    authority: str
    stream: str
    local_id: str
    role: str
    params: dict[str, str | None]
    packet_type: int | None
    time: dt.datetime
    issued: dt.datetime | None = None
    position: tuple[str | None, ...] | None = None
    citations: list[tuple[str, str]] = field(default_factory=list)
    concept: str = ""
    name: str | None = None


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if local_name(c.tag) == name), None)


def _descendant(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el.iter() if local_name(c.tag) == name), None)


def _text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _split_ivorn(ivorn: str) -> tuple[str, str, str]:
    if not ivorn.startswith("ivo://"):
        raise NoticeRejected(f"VOEvent ivorn {ivorn!r} is not an ivo:// identifier")
    rest = ivorn[len("ivo://"):]
    path, _, local_id = rest.partition("#")
    authority, _, stream = path.partition("/")
    return authority, stream, local_id


def _read_position(observation: ET.Element | None) -> tuple[str | None, ...] | None:
    pos = _descendant(observation, "Position2D")
    if pos is None:
        return None
    if (pos.get("unit") or "deg") != "deg":
        return None
    names = (_text(_child(pos, "Name1")), _text(_child(pos, "Name2")))
    if names != (None, None) and (names[0] or "").upper() != "RA":
        return None
    value2 = _child(pos, "Value2")
    return (_text(_child(value2, "C1")), _text(_child(value2, "C2")),
            _text(_child(pos, "Error2Radius")))


def read_voevent_fields(root: ET.Element) -> VOEventFields:
    """Read the mission-independent parts of a GCN or SVOM VOEvent.

    Raises
    ------
    NoticeRejected
        For an unsupported stream, a control packet, or a missing time.
    """
    ivorn = (root.get("ivorn") or "").strip()
    if not ivorn:
        raise NoticeRejected("VOEvent has no ivorn")
    authority, stream, local_id = _split_ivorn(ivorn)
    if authority not in SUPPORTED_AUTHORITIES:
        raise NoticeRejected(f"unsupported VOEvent stream {authority}/{stream} ({ivorn})")
    role = (root.get("role") or "observation").strip().lower()
    if role == "utility":
        raise NoticeRejected(f"VOEvent {ivorn} has role='utility': a control packet, not an event")
    params = voevent_params(root)
    packet_type = as_int(params.get("Packet_Type"))
    if packet_type in NON_EVENT_PACKETS:
        raise NoticeRejected(
            f"VOEvent {ivorn} is GCN packet type {packet_type}, a control or pointing "
            "packet, not an event notice"
        )

    where_when = _child(root, "WhereWhen")
    observation = _descendant(_child(where_when, "ObsDataLocation"), "ObservationLocation")
    iso_time = _text(_descendant(_descendant(observation, "TimeInstant"), "ISOTime"))
    if iso_time is None:
        raise NoticeRejected(f"VOEvent {ivorn} has no WhereWhen ISOTime (event time)")
    time = parse_utc(iso_time, "WhereWhen ISOTime")
    issued = parse_utc_or_none(_text(_child(_child(root, "Who"), "Date")))

    cited = _child(root, "Citations")
    citations = [
        ((c.get("cite") or "").strip(), (c.text or "").strip())
        for c in (list(cited) if cited is not None else [])
        if local_name(c.tag) == "EventIVORN"
    ]
    why = _child(root, "Why")
    concept = _text(_descendant(why, "Concept")) or ""
    return VOEventFields(
        ivorn=ivorn, authority=authority, stream=stream, local_id=local_id, role=role,
        params=params, packet_type=packet_type, time=time, issued=issued,
        position=_read_position(observation), citations=citations, concept=concept,
        name=_text(_descendant(why, "Name")),
    )


def _localization(fields: VOEventFields, radius_kind: str) -> Localization | None:
    if fields.position is None:
        return None
    coords = (fields.params.get("Coords_String") or "").lower()
    if "unavailable" in coords or as_int(fields.params.get("Coords_Type")) == 0:
        return None
    checked = position(*fields.position, ra_field="WhereWhen C1 (RA)",
                       dec_field="WhereWhen C2 (Dec)", radius_field="WhereWhen Error2Radius")
    if checked is None:
        return None
    ra, dec, err = checked
    err = 0.0 if err is None else err
    if not 0.0 < err < 180.0:
        return None
    return Localization(ra=ra, dec=dec, error_radius=err, radius_kind=radius_kind)


def parse_gcn_voevent(root: ET.Element) -> ParsedNotice:
    """Parse a GCN (or SVOM) VOEvent notice.

    Parameters
    ----------
    root : xml.etree.ElementTree.Element
        The ``<VOEvent>`` root, already parsed safely by :func:`~.xml.parse_xml`.

    Returns
    -------
    ParsedNotice
        ``format="voevent"``; ``event_id`` is shared by every notice of one
        trigger (``Fermi-GBM-<TrigID>``, ``Swift-<TrigID>``,
        ``IceCube-<run>_<event>``, ``SVOM-<Burst_Id>``, ``INTEGRAL-<trigger>``,
        ``SNEWS-<TrigID>``...).

    Raises
    ------
    NoticeRejected
        With the specific reason the notice cannot be used.
    """
    from .gcn_missions import describe

    fields = read_voevent_fields(root)
    described = describe(fields)
    if described.properties.get("instrument"):
        described.properties.setdefault("instruments", [described.properties["instrument"]])
    return ParsedNotice(
        source=described.source,
        format="voevent",
        kind=described.kind,
        event_id=described.event_id,
        notice_type=described.notice_type,
        time=fields.time,
        issued=fields.issued,
        is_mock=described.is_mock,
        is_retraction=described.is_retraction,
        properties=described.properties,
        localization=_localization(fields, described.radius_kind) if described.keep_position
        else None,
    )
