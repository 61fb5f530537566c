"""GCN unified-schema JSON notices (Einstein Probe, Swift BAT-GUANO, IceCube, SVOM, SNEWS...).

:func:`parse_gcn_json` identifies the schema from ``$schema`` (the URL path,
any version: ``.../schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json``),
validates the notice with :mod:`jsonschema` against the copy shipped in
``tooflow/schemas/gcn/`` (:mod:`.gcn_schemas`) and maps it through
:mod:`.gcn_json_families` and :mod:`.gcn_json_fields`.

Three kinds of schema are recognised:

* **published** — in nasa-gcn/gcn-schema (any release v1.0.0–v7.2.1, or
  ``main``) and shipped: validated against the version named, a failure is a
  :class:`~tooflow.errors.NoticeRejected` "fails its schema <key> (<version>)"
  naming the field. Names that releases changed map to today's family
  (:data:`.gcn_json_families.RENAMED`: v1–v2 ``icecube/LvkNuTrackSearch``,
  ``icecube/GoldAndBronze``, ``swift/bat/guano/alert``; v3–v4
  ``icecube/test/gold_bronze_track_alerts``, lower-case ``swift/bat/guano``);
* **drafts and legacy** — the SNEWS drafts ``snews2/coincidence`` and
  ``classic/snews/alert`` (unmerged gcn-schema PRs), and the pre-release names
  gwcelery's Kafka fixtures carry (``svom/eclairs/wakeup``,
  ``fermi/gbm/TargetedSearch``, and Swift BAT-GUANO without ``$schema``).
  They are parsed without schema validation (``properties["schema_validated"]
  = False``): the drafts' own examples do not validate against the published
  ``core/`` schemas (integer ``id``\\ s, detector status ``normal``), so only
  the fields used here are checked;
* anything else is refused: ``unknown JSON notice schema: ...`` (also a known
  family whose named release has no such schema).

SNEWS 2.0 detector observation messages (``detector_name``,
``neutrino_time_utc``/``machine_time``, ``p_val``..., as in SNEWS_Publishing_Tools)
are refused too: they are inputs to the SNEWS coincidence service, which
publishes the ``snews2/coincidence`` alert this pipeline acts on.
"""

from __future__ import annotations

from typing import Any

from ..errors import NoticeRejected, SchemaUnknown
from ..notice import ParsedNotice
from .gcn_json_families import FAMILIES, LEGACY_FAMILIES, RENAMED, Family
from .gcn_json_fields import build_notice
from .gcn_json_missions import MISSION_DRAFTS, MISSION_FAMILIES, MISSION_RENAMED
from .gcn_schemas import released_versions, resolve, schema_ref, validate

__all__ = ["identify_schema", "parse_gcn_json"]

_SNEWS_DETECTOR_KEYS = frozenset({
    "neutrino_time_utc", "neutrino_time", "machine_time", "p_val", "p_values",
    "timing_series", "detector_status", "is_test",
})


_FAMILIES = {**FAMILIES, **MISSION_FAMILIES}
_DRAFTS = {**LEGACY_FAMILIES, **MISSION_DRAFTS}
_RENAMED = {**RENAMED, **MISSION_RENAMED}


def identify_schema(obj: dict[str, Any]) -> tuple[str, Family, str | None]:
    """Which schema a JSON notice follows, and which shipped schema validates it.

    Returns
    -------
    key : str
        Family key (``einstein_probe/wxt/alert``; a released name such as
        ``icecube/LvkNuTrackSearch`` is given its family's current key), or
        ``legacy/...``.
    family : Family
        How to map it.
    schema_url : str or None
        The shipped schema to validate against (:func:`.gcn_schemas.resolve`:
        the release the notice names, or ``main``); ``None`` for drafts and
        legacy notices, which are not validated.

    Raises
    ------
    NoticeRejected
        For SNEWS detector messages and unknown schemas.
    """
    url = obj.get("$schema")
    if url is None:
        if "detector_name" in obj and _SNEWS_DETECTOR_KEYS & obj.keys():
            raise NoticeRejected(
                "SNEWS detector observation message: handled by the coincidence service, "
                f"not a notice (detector {obj.get('detector_name')!r})"
            )
        if obj.get("mission") == "Swift" and obj.get("instrument") == "BAT-GUANO":
            return "legacy/swift/bat/Guano", LEGACY_FAMILIES["swift/bat/Guano"], None
        keys = ", ".join(sorted(str(k) for k in obj)[:8])
        raise SchemaUnknown(f"unknown JSON notice schema: no $schema (keys: {keys})")
    if not isinstance(url, str):
        raise SchemaUnknown(f"unknown JSON notice schema: $schema is a {type(url).__name__}")
    ref = schema_ref(url)
    key = None if ref is None else _RENAMED.get(ref[1].lower(), ref[1])
    resolved = resolve(url)
    if key is not None and key in _FAMILIES and resolved is not None:
        return key, _FAMILIES[key], resolved[2]
    if key is not None and key in _DRAFTS:
        return key, _DRAFTS[key], None
    if key is not None and key in _FAMILIES:
        raise SchemaUnknown(
            f"unknown JSON notice schema: {url[:200]} (no schema {ref[1]} in gcn-schema "
            f"{ref[0] or 'main'}; shipped releases {released_versions()[0]}–"
            f"{released_versions()[-1]})")
    raise SchemaUnknown(f"unknown JSON notice schema: {url[:200]}")


def parse_gcn_json(obj: dict[str, Any]) -> ParsedNotice:
    """Parse a GCN unified-schema JSON notice (not an LVK igwn.gwalert).

    Parameters
    ----------
    obj : dict
        The decoded JSON object.

    Returns
    -------
    ParsedNotice
        ``format="gcn-json"``; times UTC; positions in degrees (ICRS); ``far``
        in Hz; the localization is a base64 ``healpix_file`` (as
        ``skymap_bytes``), else the ``ra``/``dec``/``ra_dec_error`` circle
        (``healpix_url``, if any, then goes to ``properties["skymap_url"]``),
        else the ``healpix_url`` alone.

    Raises
    ------
    NoticeRejected
        Unknown schema, schema validation failure, or no usable event time.
    """
    if not isinstance(obj, dict):
        raise NoticeRejected(f"JSON notice is a {type(obj).__name__}, not an object")
    key, family, schema_url = identify_schema(obj)
    if schema_url is not None:
        validate(obj, key, schema_url)
    notice = build_notice(obj, key, family, schema_url is not None)
    if schema_url is not None:
        notice.properties["schema_version"] = schema_url.removeprefix(
            "https://gcn.nasa.gov/schema/").split("/", 1)[0]
    return notice
