"""Identify and validate GCN unified-schema JSON notices, offline.

The schemas are package data in ``tooflow/schemas/gcn/notices/`` (copies from
nasa-gcn/gcn-schema, see the README there). A notice names its schema in
``$schema``, e.g.
``https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json``;
:func:`schema_key` turns that into ``einstein_probe/wxt/alert`` whatever the
version segment (``main``, ``v4.1.0`` or none), and :func:`validate` checks the
notice against the shipped copy, resolving ``$ref`` through a local
:class:`referencing.Registry` keyed by each file's ``$id`` — no network.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from ..errors import NoticeRejected

__all__ = ["schema_key", "shipped_schema_keys", "validate"]

_SCHEMA_URL = re.compile(
    r"^https?://gcn\.nasa\.gov/schema/(?:(?!gcn/)[^/]+/)?gcn/notices/(?P<key>[\w./-]+?)"
    r"\.schema\.json$"
)
_ID_PREFIX = "https://gcn.nasa.gov/schema/main/gcn/notices/"


def schema_key(url: str) -> str | None:
    """Schema key of a ``$schema`` URL (``.../svom/trigger.schema.json`` → ``svom/trigger``).

    Returns ``None`` if ``url`` is not a GCN notice schema URL.
    """
    match = _SCHEMA_URL.match(url.strip())
    return match.group("key") if match else None


@cache
def _schemas() -> dict[str, dict[str, Any]]:
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
def _registry() -> Registry:
    return Registry().with_resources(
        (uri, Resource.from_contents(schema)) for uri, schema in _schemas().items()
    )


def shipped_schema_keys() -> frozenset[str]:
    """Keys (``einstein_probe/wxt/alert``, ...) of the top-level schemas shipped."""
    keys = {uri[len(_ID_PREFIX):-len(".schema.json")] for uri in _schemas()}
    return frozenset(k for k in keys if not k.startswith(("core/", "neutrino/")))


@cache
def _validator(key: str) -> Draft202012Validator:
    schema = _schemas()[f"{_ID_PREFIX}{key}.schema.json"]
    return Draft202012Validator(schema, registry=_registry())


def validate(obj: dict[str, Any], key: str) -> None:
    """Validate a notice against the shipped schema ``key``.

    Raises
    ------
    NoticeRejected
        Naming the schema, the failing field and the reason.
    KeyError
        If no schema ``key`` is shipped (a programming error, not bad input).
    """
    try:
        error = best_match(_validator(key).iter_errors(obj))
    except Unresolvable as exc:  # a $ref outside the shipped copies
        raise NoticeRejected(f"JSON notice schema {key}: unresolvable $ref {exc}") from exc
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise NoticeRejected(
            f"JSON notice fails its schema {key}: {where}: {error.message[:300]}"
        )
