"""What the mission handlers of GCN VOEvents share: :class:`Described` and its helpers.

:func:`tooflow.parsers.gcn_voevent.describe` picks a handler by ivorn stream
and ``Packet_Type``: :mod:`.gcn_missions_gamma` (Fermi GBM/LAT, Swift,
INTEGRAL, MAXI, AGILE) or :mod:`.gcn_missions_other` (IceCube/AMON, ANTARES,
SNEWS, SVOM), else :func:`generic` for other GCN streams that carry a ``TrigID``.

Packet type names are pygcn's :class:`gcn.NoticeType` names
(``FERMI_GBM_FLT_POS``); SVOM packets, unknown to pygcn, are named from the
ivorn (``SVOM_ECLAIRS_CATALOG``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..errors import NoticeRejected
from ..notice import EventKind
from .gcn_common import as_bool, as_float, as_int
from .gcn_voevent_fields import VOEventFields

__all__ = [
    "Described", "common_properties", "first_number", "generic", "is_test", "packet_type_name",
]

#: Test packets (always mock).
TEST_PACKETS = frozenset({2, 44, 82, 109, 119, 124, 136, 153})
#: LIGO/Virgo/KAGRA packets: the LVK parser reads those (``ivo://gwnet/...``).
LVK_PACKETS = frozenset({150, 151, 152, 153, 154, 163, 164})


@dataclass
class Described:
    """What a mission handler says about a VOEvent.

    ``radius_kind`` is the meaning of ``Error2Radius`` for that mission;
    ``keep_position=False`` drops a position the notice marks as invalid.
    """

    source: str
    kind: EventKind
    event_id: str
    notice_type: str
    is_mock: bool = False
    is_retraction: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    radius_kind: str = "unspecified"
    keep_position: bool = True


@cache
def _pygcn_names() -> dict[int, str]:
    from gcn.notice_types import NoticeType

    return {member.value: member.name for member in NoticeType}


def packet_type_name(packet_type: int | None, default: str = "UNKNOWN") -> str:
    """GCN packet type name (``111`` → ``FERMI_GBM_FLT_POS``)."""
    if packet_type is None:
        return default
    return _pygcn_names().get(packet_type, f"{default}_{packet_type}")


def first_number(params: dict[str, Any], *names: str, positive: bool = True) -> float | None:
    """The first param among ``names`` that is a number (and > 0 if ``positive``)."""
    for name in names:
        value = as_float(params.get(name))
        if value is not None and (value > 0 or not positive):
            return value
    return None


def common_properties(fields: VOEventFields) -> dict[str, Any]:
    """Properties every GCN VOEvent gets: packet type, ivorn, role, flags, name."""
    p = fields.params
    props: dict[str, Any] = {
        "packet_type": fields.packet_type,
        "ivorn": fields.ivorn,
        "role": fields.role,
    }
    if fields.name:
        props["name"] = fields.name
    if fields.citations:
        props["cites"] = [ivorn for _, ivorn in fields.citations if ivorn]
    for flag, key in (("Temporal_Prox_Match", "temporal_coincidence"),
                      ("Spatial_Prox_Match", "spatial_coincidence"),
                      ("Def_NOT_a_GRB", "def_not_a_grb")):
        value = as_bool(p.get(flag))
        if value is not None:
            props[key] = value
    return {key: value for key, value in props.items() if value is not None}


def is_test(fields: VOEventFields) -> bool:
    """Mock/test: ``role="test"``, a test packet type or a GCN test flag."""
    p = fields.params
    flags = ("Test_Submission", "Test", "Test_Notice", "InternalTest")
    return (
        fields.role == "test"
        or fields.packet_type in TEST_PACKETS
        or any(as_bool(p.get(flag)) for flag in flags)
    )


def generic(fields: VOEventFields) -> Described:
    """Any other GCN stream with a ``TrigID``: source from the ivorn stream name."""
    trig = as_int(fields.params.get("TrigID"))
    if trig is None:
        raise NoticeRejected(f"GCN VOEvent {fields.ivorn} has no TrigID: cannot name its event")
    kind: EventKind = "GRB" if "em.gamma" in fields.concept else "other"
    props = common_properties(fields)
    props["trigger_id"] = trig
    return Described(
        source=fields.stream, kind=kind, event_id=f"{fields.stream}-{trig}",
        notice_type=packet_type_name(fields.packet_type, fields.stream.upper()),
        is_mock=is_test(fields), properties=props,
    )
