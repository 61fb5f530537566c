"""LIGO/Virgo/KAGRA alerts: igwn.gwalert Avro and JSON, and legacy VOEvents.

* :func:`parse_lvk_avro` reads a single-record Avro object container file
  (SCiMMA hop / igwn.gwalert), resolving and validating it against the IGWN
  alert schema v1.0 shipped in ``tooflow/schemas/lvk/``.
* :func:`parse_lvk_json` reads the same alert as JSON (GCN Kafka
  ``igwn.gwalert``), validated with the JSON schema of the same version; the
  sky maps are base64 strings.
* :func:`parse_lvk_voevent` (in :mod:`.lvk_voevent`) reads the legacy GCN
  VOEvents (O2–O4), whose sky map is only a URL.

Choices made here:

* ``time`` is the event time; a retraction carries no event, so its ``time``
  is the notice creation time (``time_created``), which is also ``issued``.
* ``properties`` are flat for the gate: ``group``, ``search``, ``pipeline``,
  ``far`` (Hz), ``significant``, ``instruments`` (list), ``p_BNS``,
  ``p_NSBH``, ``p_BBH``, ``p_Terrestrial`` (``p_MassGap`` in O3 VOEvents),
  every ``Has*`` property the alert gives, ``duration`` (s) and
  ``central_frequency`` (Hz) for bursts, and ``gracedb_url``.
* RAVEN coincidences (``external_coinc``): ``external_coincidence`` holds the
  seven schema fields plus ``combined_skymap`` (bool: a combined GW+external
  map came with the alert). When it did, that combined map is the notice's
  :class:`~tooflow.notice.Localization` (it is what observers should tile)
  and the GW-only map stays available as bytes in
  ``external_coincidence["gw_skymap"]``.
* Embedded sky maps are checked here only for being complete FITS files with
  a binary table (:func:`tooflow.skymap.read.verify_skymap_bytes`, headers read and
  sizes checked before anything is allocated, a few ms); reading
  them into a multi-order table is :func:`tooflow.skymap.read_skymap_bytes`'s
  job, later in the flow.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import itertools
import json
from pathlib import Path
from typing import Any

from ..errors import NoticeRejected
from ..notice import Localization, ParsedNotice
from .gcn_common import parse_utc, prune
from .lvk_voevent import parse_lvk_voevent

__all__ = [
    "ALERT_TYPES",
    "SCHEMA_DIR",
    "alert_to_notice",
    "igwn_avro_schema",
    "igwn_json_validator",
    "parse_lvk_avro",
    "parse_lvk_json",
    "parse_lvk_voevent",
]

#: Where the IGWN alert schema files live (package data).
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "lvk"

#: First bytes of an Avro object container file (version 1).
AVRO_MAGIC = b"Obj\x01"

#: LVK alert types, in the order they are sent.
ALERT_TYPES = ("EARLYWARNING", "PRELIMINARY", "INITIAL", "UPDATE", "RETRACTION")

#: Fields of ``external_coinc`` copied into ``external_coincidence``.
EXTERNAL_FIELDS = ("gcn_notice_id", "ivorn", "observatory", "search", "time_difference",
                   "time_coincidence_far", "time_sky_position_coincidence_far")


@functools.cache
def igwn_avro_schema() -> dict[str, Any]:
    """The parsed IGWN alert Avro schema (named types resolved from sibling files)."""
    from fastavro.schema import load_schema

    return load_schema(str(SCHEMA_DIR / "igwn.alerts.v1_0.Alert.avsc"))


@functools.cache
def igwn_json_validator():
    """A :mod:`jsonschema` validator for the IGWN alert JSON schema."""
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / "igwn.alerts.v1_0.Alert.schema.json").read_text())
    return Draft202012Validator(schema)


def parse_lvk_avro(payload: bytes) -> ParsedNotice:
    """Parse an igwn.gwalert Avro notice.

    Parameters
    ----------
    payload : bytes
        An Avro object container file holding exactly one alert record.

    Returns
    -------
    ParsedNotice

    Raises
    ------
    NoticeRejected
        If the container is corrupt or truncated, its schema is not the IGWN
        alert schema, it does not hold exactly one record, or a field is invalid.
    """
    import fastavro
    from fastavro.read import SchemaResolutionError
    from fastavro.validation import ValidationError

    if not payload.startswith(AVRO_MAGIC):
        raise NoticeRejected(
            f"not an Avro object container file: starts with {payload[:4]!r}, "
            f"expected {AVRO_MAGIC!r}"
        )
    schema = igwn_avro_schema()
    try:
        reader = fastavro.reader(io.BytesIO(payload), reader_schema=schema)
        records = list(itertools.islice(reader, 2))
    except SchemaResolutionError as exc:
        raise NoticeRejected(
            f"Avro notice is not an IGWN alert (schema igwn.alerts.v1_0.Alert): {exc}"
        ) from exc
    except Exception as exc:  # fastavro raises EOFError, ValueError, struct/Unicode errors...
        raise NoticeRejected(
            f"corrupt or truncated Avro container: {exc.__class__.__name__}: {exc}"
        ) from exc
    if len(records) != 1:
        raise NoticeRejected(f"Avro notice holds {len(records)} records (one expected)"
                             if records else "Avro notice holds no record")
    record = records[0]
    try:
        fastavro.validation.validate(_without_map_bytes(record), schema, raise_errors=True)
    except ValidationError as exc:
        raise NoticeRejected(f"Avro alert fails the IGWN alert schema: {exc}") from exc
    event = record.get("event") or {}
    ext = record.get("external_coinc") or {}
    return alert_to_notice(record, "avro", skymap=event.get("skymap"),
                           combined=ext.get("combined_skymap"))


def _without_map_bytes(record: dict[str, Any]) -> dict[str, Any]:
    """Shallow copy with sky-map bytes emptied: fastavro validates long ``bytes``
    values slowly (~40 ms for a 777 kB map), and their type is all it checks."""
    out = dict(record)
    for part, key in (("event", "skymap"), ("external_coinc", "combined_skymap")):
        if isinstance(out.get(part), dict) and isinstance(out[part].get(key), bytes):
            out[part] = {**out[part], key: b""}
    return out


def _b64_skymap(value: Any, what: str) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise NoticeRejected(f"{what} is not valid base64: {exc}") from exc


def parse_lvk_json(obj: dict[str, Any]) -> ParsedNotice:
    """Parse an igwn.gwalert JSON notice (as sent over GCN Kafka).

    Parameters
    ----------
    obj : dict
        The decoded JSON object.

    Returns
    -------
    ParsedNotice

    Raises
    ------
    NoticeRejected
        If the alert fails the IGWN JSON schema, a sky map is not valid base64
        or not a complete FITS file, or a field is invalid.
    """
    from jsonschema.exceptions import best_match

    error = best_match(igwn_json_validator().iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise NoticeRejected(f"LVK alert fails the IGWN alert JSON schema at {where}: {message}")
    event = obj.get("event") or {}
    ext = obj.get("external_coinc") or {}
    return alert_to_notice(
        obj, "json",
        skymap=_b64_skymap(event.get("skymap"), "event.skymap"),
        combined=_b64_skymap(ext.get("combined_skymap"), "external_coinc.combined_skymap"),
    )


def _event_properties(event: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "group": event.get("group"),
        "search": event.get("search"),
        "pipeline": event.get("pipeline"),
        "far": event.get("far"),
        "significant": event.get("significant"),
        "instruments": list(event.get("instruments") or []),
        "duration": event.get("duration"),
        "central_frequency": event.get("central_frequency"),
    }
    for name, value in (event.get("classification") or {}).items():
        props[f"p_{name}"] = value
    for name, value in (event.get("properties") or {}).items():
        props[name] = value
    return prune(props)


def alert_to_notice(alert: dict[str, Any], fmt: str, *, skymap: bytes | None,
                    combined: bytes | None) -> ParsedNotice:
    """Build the :class:`ParsedNotice` of a schema-valid igwn.gwalert record.

    Parameters
    ----------
    alert : dict
        The alert (Avro record or JSON object); sky maps are taken from the
        keyword arguments, already as bytes.
    fmt : str
        ``"avro"`` or ``"json"``.
    skymap, combined : bytes or None
        The GW sky map and the RAVEN combined sky map (multi-order FITS).

    Raises
    ------
    NoticeRejected
        If the alert type, id or times are invalid, a non-retraction has no
        event, or a sky map is not a complete FITS file.
    """
    from ..skymap.read import verify_skymap_bytes

    alert_type = alert.get("alert_type")
    if alert_type not in ALERT_TYPES:
        raise NoticeRejected(f"unknown LVK alert_type {alert_type!r}")
    superevent_id = alert.get("superevent_id")
    if not isinstance(superevent_id, str) or not superevent_id.strip() or len(superevent_id) > 64:
        raise NoticeRejected(f"invalid superevent_id {superevent_id!r}")
    issued = parse_utc(alert.get("time_created"), "time_created")
    event = alert.get("event")
    is_retraction = alert_type == "RETRACTION"
    if event is None and not is_retraction:
        raise NoticeRejected(f"{alert_type} alert for {superevent_id} has no event information")

    properties = _event_properties(event) if event else {}
    gracedb_url = (alert.get("urls") or {}).get("gracedb")
    if gracedb_url:
        properties["gracedb_url"] = gracedb_url
    time = parse_utc(event.get("time"), "event time") if event else issued

    for data, what in ((skymap, "event.skymap"), (combined, "external_coinc.combined_skymap")):
        if data is not None:
            verify_skymap_bytes(data, what=what)

    external = None
    ext = alert.get("external_coinc")
    if ext:
        external = {name: ext.get(name) for name in EXTERNAL_FIELDS}
        external["combined_skymap"] = combined is not None
        if combined is not None:
            external["gw_skymap"] = skymap
    localization = None
    if combined is not None:
        localization = Localization(skymap_bytes=combined, filename="combined-ext.multiorder.fits")
    elif skymap is not None:
        localization = Localization(skymap_bytes=skymap)

    return ParsedNotice(
        source="LVK",
        format=fmt,
        kind="GW",
        event_id=superevent_id,
        notice_type=alert_type,
        time=time,
        issued=issued,
        is_mock=superevent_id.startswith("M") or properties.get("search") == "MDC",
        is_retraction=is_retraction,
        properties=properties,
        localization=localization,
        external_coincidence=external,
    )
