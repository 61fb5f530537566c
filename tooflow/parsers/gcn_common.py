"""Small helpers shared by the GCN VOEvent and GCN JSON parsers.

Times are returned as timezone-aware UTC :class:`datetime.datetime`; numbers
are read leniently (GCN writes ``"0x88"``, ``"8.0"``, ``"infinity"``) and a
value that cannot be read is simply absent rather than an error, except for
the event time, which every notice must have.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from ..errors import NoticeRejected

__all__ = [
    "SECONDS_PER_YEAR",
    "as_bool",
    "as_float",
    "as_int",
    "parse_utc",
    "parse_utc_or_none",
    "prune",
]

#: Julian year in seconds, to turn "per year" false-alarm rates into Hz.
SECONDS_PER_YEAR = 365.25 * 86400.0

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_utc(text: str | None, what: str = "time") -> dt.datetime:
    """Parse an ISO 8601 time into a timezone-aware UTC datetime.

    GCN times without a zone (``2026-04-10T07:03:57.00``) are UTC, as the
    VOEvent ``UTC-FK5-GEO`` / ``UTC-ICRS-GEO`` coordinate systems state.
    Fractions beyond microseconds are truncated.

    Raises
    ------
    NoticeRejected
        If ``text`` is missing, not an ISO 8601 time, or outside years 1–9999 in UTC.
    """
    if text is None or not str(text).strip():
        raise NoticeRejected(f"notice has no {what}")
    raw = str(text).strip()
    cleaned = _FRACTION.sub(r"\1", raw.replace(" ", "T", 1) if "T" not in raw else raw)
    try:
        value = dt.datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise NoticeRejected(f"notice {what} {raw!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:  # 9999-12-31T23:59-01:00, 0001-01-01T00:00+01:00
        raise NoticeRejected(f"notice {what} {raw!r} is out of the representable range "
                             "in UTC") from exc


def parse_utc_or_none(text: str | None) -> dt.datetime | None:
    """Like :func:`parse_utc`, but ``None`` for a missing or malformed time."""
    try:
        return parse_utc(text)
    except NoticeRejected:
        return None


def as_float(value: Any) -> float | None:
    """A finite float, or ``None`` (missing, ``"infinity"``, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_int(value: Any) -> int | None:
    """An int from ``"42"``, ``"0x2a"`` or ``42.0``; ``None`` otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        number = as_float(text)
        return int(number) if number is not None and number.is_integer() else None


def as_bool(value: Any) -> bool | None:
    """``True``/``False`` from GCN flag strings (``"true"``, ``"False"``); else ``None``."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in {"true", "t", "yes", "1"}:
        return True
    if text in {"false", "f", "no", "0"}:
        return False
    return None


def prune(mapping: dict[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values, so that missing properties are absent."""
    return {key: value for key, value in mapping.items() if value is not None}
