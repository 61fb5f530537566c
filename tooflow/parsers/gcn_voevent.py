"""GCN VOEvent notices (Fermi, Swift, IceCube/AMON, INTEGRAL, MAXI, SVOM, SNEWS, ...).

:func:`parse_gcn_voevent` reads what every VOEvent 2.0 notice shares — the
ivorn and ``role``, ``<Who><Date>`` (issued), ``<WhereWhen>`` (``ISOTime``,
``Position2D`` ``C1``/``C2``/``Error2Radius`` in degrees) and ``<Citations>`` —
into :class:`~.gcn_voevent_fields.VOEventFields`, then :func:`describe` names the mission,
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

import xml.etree.ElementTree as ET

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from . import gcn_missions_gamma as gamma
from . import gcn_missions_other as other
from .gcn_common import as_int
from .gcn_missions import LVK_PACKETS, Described, generic, packet_type_name
from .gcn_voevent_fields import VOEventFields, read_voevent_fields
from .validate import position

__all__ = ["describe", "parse_gcn_voevent"]


def describe(fields: VOEventFields) -> Described:
    """Mission, event id, packet type, flags and properties of a VOEvent.

    Raises
    ------
    NoticeRejected
        For control packets, LVK packets, and notices without a trigger id.
    """
    if fields.authority == "org.svom":
        return other.svom(fields)
    packet = fields.packet_type
    name = packet_type_name(packet)
    if packet in LVK_PACKETS:
        raise NoticeRejected(f"GCN {name} packet (type {packet}): LVK notices are read by the "
                             "LVK parser from their ivo://gwnet ivorn")
    stream = fields.stream.upper()
    handlers = {
        "FERMI": gamma.fermi,
        "SWIFT": gamma.swift,
        "INTEGRAL": gamma.integral,
        "MAXI": gamma.maxi,
        "AGILE": gamma.agile,
        "AMON": other.amon,
        "SNEWS": other.snews,
        "ANTARES_ALERT": other.antares,
    }
    if stream in handlers:
        return handlers[stream](fields)
    if packet == 149:
        return other.snews(fields)
    return generic(fields)


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
