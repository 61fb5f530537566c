"""Identify and validate GCN unified-schema JSON notices, offline, at the version they name.

A notice names its schema in ``$schema``, e.g.
``https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json``.
:func:`schema_ref` splits that into a version (``v4.1.0``; ``None`` for
``main`` or no version segment) and a key (``einstein_probe/wxt/alert``).

Two sets of schemas are package data, resolved through one local
:class:`referencing.Registry` — no network:

* ``tooflow/schemas/gcn/notices/``: the current schemas (``main``), used for
  notices that name ``main`` or no version;
* ``tooflow/schemas/gcn/released.json.gz``: every schema of every release tag
  of nasa-gcn/gcn-schema (v1.0.0 … v7.2.1, 701 files, built by
  ``scripts/build_gcn_schema_bundle.py``), each under the URL it is published
  at and under its own ``$id`` (v3.0.0–v4.0.0 publish ``swift/bat/Guano`` with
  the ``$id`` ``.../swift/bat/guano.schema.json`` their examples name).

:func:`resolve` picks the schema a notice is validated against: the named
release's; for ``main`` the current copy, else (and for a release newer than
the bundle) the newest bundled release that has the key (the parser says
which in ``properties["schema_version"]``).
:func:`validate` then tells two outcomes apart: a notice that **fails** its
schema (``JSON notice fails its schema ...``) and, through ``resolve``
returning ``None``, a schema that is **unknown** (``unknown JSON notice
schema ...``, raised by the caller).
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from ..errors import NoticeRejected, SchemaViolation

__all__ = [
    "released_versions", "resolve", "schema_key", "schema_ref", "shipped_schema_keys",
    "validate",
]

_SCHEMA_URL = re.compile(
    r"^https?://gcn\.nasa\.gov/schema/(?:(?P<version>(?!gcn/)[^/]+)/)?gcn/notices/"
    r"(?P<key>[\w./-]+?)\.schema\.json$"
)
_BASE = "https://gcn.nasa.gov/schema/"
_ID_PREFIX = f"{_BASE}main/gcn/notices/"


def schema_ref(url: str) -> tuple[str | None, str] | None:
    """``(version, key)`` of a ``$schema`` URL; version ``None`` for ``main`` or none.

    ``.../schema/v6.0.0/gcn/notices/fermi/gbm/trigger.schema.json`` →
    ``("v6.0.0", "fermi/gbm/trigger")``. ``None`` if not a GCN notice schema URL.
    """
    match = _SCHEMA_URL.match(url.strip())
    if match is None:
        return None
    version = match.group("version")
    return (None if version in (None, "main") else version), match.group("key")


def schema_key(url: str) -> str | None:
    """Schema key of a ``$schema`` URL (``.../svom/trigger.schema.json`` → ``svom/trigger``).

    Returns ``None`` if ``url`` is not a GCN notice schema URL.
    """
    ref = schema_ref(url)
    return ref[1] if ref else None


@cache
def _current() -> dict[str, dict[str, Any]]:
    root = resources.files("tooflow") / "schemas" / "gcn" / "notices"
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child)
            elif child.name.endswith(".schema.json"):
                schema = json.loads(child.read_text(encoding="utf-8"))
                found[schema["$id"]] = schema

    walk(root)
    return found


@cache
def _released() -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    """Released schemas by URL (published path and ``$id``), and the tags, oldest first."""
    data = (resources.files("tooflow") / "schemas" / "gcn" / "released.json.gz").read_bytes()
    bundle = json.loads(gzip.decompress(data))
    schemas: dict[str, dict[str, Any]] = dict(bundle["schemas"])
    for schema in bundle["schemas"].values():
        uri = schema.get("$id")
        if isinstance(uri, str):
            schemas.setdefault(uri, schema)
    tags = tuple(sorted(bundle["tags"], key=lambda t: tuple(int(x) for x in t[1:].split("."))))
    return schemas, tags


def released_versions() -> tuple[str, ...]:
    """The gcn-schema release tags shipped, oldest first."""
    return _released()[1]


@cache
def _registry() -> Registry:
    schemas = {**_released()[0], **_current()}
    return Registry().with_resources(
        (uri, Resource.from_contents(schema)) for uri, schema in schemas.items()
    )


def shipped_schema_keys() -> frozenset[str]:
    """Keys (``einstein_probe/wxt/alert``, ...) of the current top-level schemas shipped."""
    keys = {uri[len(_ID_PREFIX):-len(".schema.json")] for uri in _current()}
    return frozenset(k for k in keys if not k.startswith(("core/", "neutrino/")))


def _url(version: str, key: str) -> str:
    return f"{_BASE}{version}/gcn/notices/{key}.schema.json"


def resolve(url: str) -> tuple[str, str, str] | None:
    """The shipped schema a ``$schema`` URL is validated against.

    Returns
    -------
    tuple of (str, str, str) or None
        ``(key, version, schema_url)``: ``version`` is ``main`` for the current
        schemas, else the release tag used (the one named, or the newest
        bundled release with that key when the named one is newer than the
        bundle). ``None`` when no shipped schema matches: the schema is unknown.
    """
    ref = schema_ref(url)
    if ref is None:
        return None
    version, key = ref
    schemas, tags = _released()
    if version is None:
        uri = f"{_ID_PREFIX}{key}.schema.json"
        if uri in _current():
            return key, "main", uri
        older = list(tags)  # main is newer than every release
    elif _url(version, key) in schemas:
        return key, version, _url(version, key)
    elif version in tags:
        return None  # that release has no such schema
    else:
        older = [t for t in tags if _version_tuple(t) < _version_tuple(version)]
    for tag in reversed(older):
        if _url(tag, key) in schemas:
            return key, tag, _url(tag, key)
    return None


def _version_tuple(tag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in tag.lstrip("v").split("."))
    except ValueError:
        return (0,)


@cache
def _validator(uri: str) -> Draft202012Validator:
    schema = {**_released()[0], **_current()}[uri]
    return Draft202012Validator(schema, registry=_registry())


def validate(obj: dict[str, Any], key: str, uri: str | None = None) -> None:
    """Validate a notice against a shipped schema.

    Parameters
    ----------
    obj : dict
        The notice.
    key : str
        Its schema key, for the message.
    uri : str, optional
        The schema to use (from :func:`resolve`); the current ``key`` schema if omitted.

    Raises
    ------
    SchemaViolation
        ``JSON notice fails its schema <key> (<version>): <field>: <reason>`` (a
        :class:`~tooflow.errors.NoticeRejected`).
    KeyError
        If no such schema is shipped (a programming error, not bad input).
    """
    uri = uri or f"{_ID_PREFIX}{key}.schema.json"
    version = uri[len(_BASE):].split("/", 1)[0]
    try:
        error = best_match(_validator(uri).iter_errors(obj))
    except Unresolvable as exc:  # a $ref outside the shipped copies
        raise NoticeRejected(f"JSON notice schema {key} ({version}): unresolvable $ref {exc}") \
            from exc
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise SchemaViolation(
            f"JSON notice fails its schema {key} ({version}): {where}: {error.message[:300]}"
        )
