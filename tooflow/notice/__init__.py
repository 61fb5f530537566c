"""The one internal shape every notice is parsed into.

Parsers (:mod:`tooflow.parsers`) turn the bytes of a notice — LVK Avro/JSON/VOEvent,
GCN VOEvent, GCN unified JSON, SNEWS — into a :class:`ParsedNotice`. Everything
downstream (storage, gate, planning, circulars) reads only this shape. Which of two
notices of an event is the later one: :mod:`tooflow.notice.order`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EventKind", "Localization", "ParsedNotice"]

#: What kind of astrophysical event a notice is about.
EventKind = Literal["GW", "GRB", "neutrino", "supernova", "X-ray", "FRB", "other"]


@dataclass
class Localization:
    """Where on the sky the event is.

    Exactly one representation is filled in by the parser:

    * ``skymap_bytes``: a FITS sky map (multi-order or flat HEALPix), as bytes;
    * ``ra``/``dec``/``error_radius``: a circular error region (degrees, ICRS;
      the radius is the 1-sigma or 90% radius the notice states, see
      ``radius_kind``); with ``error_minor`` (and ``error_angle``) an error
      ellipse whose semi-major axis is ``error_radius``; with ``polygon`` an
      error box (its corners; ``ra``/``dec`` its centre and ``error_radius``
      the largest centre-to-corner distance);
    * ``url``: a sky map that is only referenced by URL (legacy notices).

    :mod:`tooflow.skymap` turns any of them into a multi-order map.
    """

    skymap_bytes: bytes | None = None
    ra: float | None = None
    dec: float | None = None
    error_radius: float | None = None
    radius_kind: str = "stat+sys 1-sigma"
    url: str | None = None
    #: The file name the notice gave the map, if any (e.g. bayestar.multiorder.fits).
    filename: str | None = None

    #: Semi-minor axis (degrees) when the error region is an ellipse.
    error_minor: float | None = None
    #: Position angle of the semi-major axis (degrees, North through East).
    error_angle: float | None = None
    #: Corners ``[(ra, dec), ...]`` (degrees) of a polygonal error box (MAXI's 90% box).
    polygon: list[tuple[float, float]] | None = None

    @property
    def is_circle(self) -> bool:
        """A region given by centre and size (circle, ellipse or box), not a map or URL."""
        return self.ra is not None and self.dec is not None and self.error_radius is not None

    @property
    def shape(self) -> str | None:
        """``"circle"``, ``"ellipse"``, ``"polygon"``, or ``None`` for a map or URL."""
        if not self.is_circle:
            return None
        if self.polygon:
            return "polygon"
        if self.error_minor is not None and self.error_minor != self.error_radius:
            return "ellipse"
        return "circle"


@dataclass
class ParsedNotice:
    """A notice, parsed.

    Attributes
    ----------
    source : str
        Who sent it: ``LVK``, ``Fermi``, ``Swift``, ``IceCube``, ``EinsteinProbe``,
        ``SVOM``, ``SNEWS``, ``INTEGRAL``, ``MAXI``, ``AMON``, ...
    format : str
        Wire format: ``avro``, ``json``, ``voevent``, ``gcn-json``.
    kind : EventKind
        ``GW``, ``GRB``, ``neutrino``, ``supernova``, ``X-ray``, ``FRB`` (fast
        radio burst: CHIME/FRB, DSA-110) or ``other``.
    event_id : str
        The superevent id (``S230518h``) or the mission's trigger id
        (``Fermi-GBM-797497441``): every notice about one event shares it.
    notice_type : str
        ``EARLYWARNING``, ``PRELIMINARY``, ``INITIAL``, ``UPDATE``, ``RETRACTION``
        for LVK; the GCN packet type name (``FERMI_GBM_FLT_POS``...) otherwise.
    time : datetime.datetime
        Event (trigger) time, UTC, timezone-aware.
    issued : datetime.datetime or None
        When the notice was issued, UTC, timezone-aware.
    is_mock : bool
        A mock, test or MDC notice (ids starting with ``M``, ``search == MDC``,
        VOEvent ``role="test"``).
    is_retraction : bool
        The notice retracts the event.
    properties : dict
        Flat, gate-friendly fields: ``group``, ``search``, ``pipeline``, ``far``
        (Hz), ``significant``, ``HasNS``, ``HasRemnant``, ``HasMassGap``,
        ``p_BNS``, ``p_NSBH``, ``p_BBH``, ``p_Terrestrial``, ``instruments``,
        ``signalness``, ``energy``, ``detectors``, ... Missing values are absent.
    localization : Localization or None
        The localization, if the notice carries one.
    external_coincidence : dict or None
        RAVEN external coincidence fields of an LVK notice.
    """

    source: str
    format: str
    kind: EventKind
    event_id: str
    notice_type: str
    time: dt.datetime
    issued: dt.datetime | None = None
    is_mock: bool = False
    is_retraction: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    localization: Localization | None = None
    external_coincidence: dict[str, Any] | None = None
