"""Turn notice bytes of any supported kind into a :class:`~tooflow.notice.ParsedNotice`.

:func:`parse_notice` sniffs the wire format (Avro container, XML, JSON) and the
schema, then hands over to one module per family:

* :mod:`.lvk` — LIGO/Virgo/KAGRA igwn.gwalert Avro and JSON, legacy LVK VOEvent;
* :mod:`.gcn_voevent` — GCN VOEvents (Fermi, Swift, IceCube/AMON, INTEGRAL,
  MAXI, SVOM, SNEWS, ...);
* :mod:`.gcn_json` — GCN unified-schema JSON (IceCube, Swift BAT-GUANO,
  Einstein Probe, SVOM, SNEWS, ...), every gcn-schema release, and the newer
  missions of :mod:`.gcn_json_missions`;
* :mod:`.gcn_classic_json` — GCN Classic notices as JSON (gcn-classic-to-json,
  no ``$schema``; the type comes from the Kafka topic or file path);
* :mod:`.gcn_classic_text` — GCN Classic text notices (``TITLE: GCN/AMON NOTICE``);
* :mod:`.snews_alert` — the SNEWS Coincidence System's own alert layout
  (``detector_names``, ``neutrino_times``, no ``$schema``).

A hop-client < 0.8 JSON envelope (``{"format": "json", "content": ...}``) is
unwrapped first.

Every failure is a :class:`~tooflow.errors.NoticeRejected` with a specific reason.
"""

from __future__ import annotations

from ..errors import NoticeRejected
from ..notice import ParsedNotice
from .validate import loads_json
from .xml import local_name, parse_xml

__all__ = ["MAX_NOTICE_BYTES", "sniff_format", "parse_notice"]

#: Largest notice accepted at all. The biggest real notices are LVK JSON alerts
#: with an embedded base64 multi-order map (~2 MB for a RAVEN ext-update); Kafka
#: brokers default to 1 MB messages. 16 MiB refuses abuse with ample margin.
MAX_NOTICE_BYTES = 16 << 20

AVRO_MAGIC = b"Obj\x01"


def sniff_format(payload: bytes) -> str:
    """Tell the wire format of a notice: ``avro``, ``xml``, ``json`` or ``text`` (GCN Classic).

    Raises
    ------
    NoticeRejected
        If the payload is empty or none of the known formats.
    """
    if not payload:
        raise NoticeRejected("empty notice")
    if payload.startswith(AVRO_MAGIC):
        return "avro"
    head = payload[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"TITLE:"):
        return "text"
    raise NoticeRejected(
        f"unknown notice format: starts with {payload[:16]!r} "
        "(expected an Avro container, XML, JSON or a GCN text notice starting with TITLE:)"
    )


def parse_notice(payload: bytes, max_bytes: int = MAX_NOTICE_BYTES,
                 source: str | None = None) -> ParsedNotice:
    """Parse the bytes of one notice.

    Parameters
    ----------
    payload : bytes
        The notice exactly as received.
    max_bytes : int
        Refuse payloads larger than this.
    source : str, optional
        Where the notice came from (Kafka topic, file path): names the type of
        a GCN Classic JSON notice (``gcn.classic.json.<TYPE>``), which the JSON
        itself does not carry; a SNEWS alert from a fire-drill or test topic is
        a mock.

    Returns
    -------
    ParsedNotice

    Raises
    ------
    NoticeRejected
        With the specific reason the notice cannot be used.
    """
    if len(payload) > max_bytes:
        raise NoticeRejected(
            f"notice of {len(payload)} bytes exceeds the {max_bytes}-byte limit"
        )
    fmt = sniff_format(payload)
    if fmt == "avro":
        from .lvk import parse_lvk_avro

        return parse_lvk_avro(payload)
    if fmt == "text":
        from .gcn_classic_text import parse_gcn_text

        return parse_gcn_text(payload)
    if fmt == "xml":
        root = parse_xml(payload)
        if local_name(root.tag) != "VOEvent":
            raise NoticeRejected(f"XML root element is <{local_name(root.tag)}>, not <VOEvent>")
        from .lvk_voevent import is_lvk_voevent, parse_lvk_voevent

        # O3/O4 LVK streams (gwnet/LVC#..., gwnet/LVK#...), O2's gcn_sender, and
        # LVK notices as GCN relayed them (nasa.gsfc.gcn/LVC#..., packets 150-164).
        if is_lvk_voevent(root):
            return parse_lvk_voevent(root)
        from .gcn_voevent import parse_gcn_voevent

        return parse_gcn_voevent(root)
    obj = loads_json(payload)  # strict (no NaN/Infinity), bounded depth
    if not isinstance(obj, dict):
        raise NoticeRejected(f"JSON notice is a {type(obj).__name__}, not an object")
    obj = _unwrap_hop_envelope(obj)
    if "superevent_id" in obj and "alert_type" in obj:
        from .lvk import parse_lvk_json

        return parse_lvk_json(obj)
    from .snews_alert import is_snews_alert, mark_drill_topic, parse_snews_alert

    if is_snews_alert(obj):  # SNEWS's own alert layout; a drill topic makes it a mock
        return mark_drill_topic(parse_snews_alert(obj), source)
    if "$schema" not in obj:  # GCN Classic as JSON (gcn-classic-to-json)?
        from .gcn_classic_json import classic_json_type, parse_classic_json

        classic = classic_json_type(obj, source)
        if classic is not None:
            return parse_classic_json(obj, classic)
    from .gcn_json import parse_gcn_json

    return parse_gcn_json(obj)


def _unwrap_hop_envelope(obj: dict) -> dict:
    """The message inside hop-client < 0.8's ``{"format": "json", "content": ...}`` envelope.

    Older hop clients (and the SNEWS tools built on them) wrap every JSON message
    so; anything else is returned as is.
    """
    if set(obj) != {"format", "content"} or obj.get("format") != "json":
        return obj
    content = obj["content"]
    if isinstance(content, str):
        content = loads_json(content.encode("utf-8"))
    if not isinstance(content, dict):
        raise NoticeRejected(f"hop JSON envelope: content is a {type(content).__name__}, "
                             "not an object")
    return content
