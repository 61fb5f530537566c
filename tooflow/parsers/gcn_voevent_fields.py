"""What every GCN (or SVOM) VOEvent notice shares, read into :class:`VOEventFields`.

The ivorn and ``role``, ``<Who><Date>`` (issued), ``<WhereWhen>`` (``ISOTime``,
``Position2D`` ``C1``/``C2``/``Error2Radius``), the ``<What>`` params and
``<Citations>``; the mission handlers (:mod:`.gcn_missions`,
:mod:`.gcn_missions_gamma`, :mod:`.gcn_missions_other`) read these, and
:mod:`.gcn_voevent` puts it together.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import NoticeRejected
from .gcn_common import as_int, parse_utc, parse_utc_or_none
from .xml import local_name, voevent_params

__all__ = ["NON_EVENT_PACKETS", "SUPPORTED_AUTHORITIES", "VOEventFields", "read_voevent_fields"]

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
