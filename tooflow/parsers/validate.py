"""Checks every parser shares: values a notice may not carry, in one place.

A notice whose time, position or numbers are impossible is a
:class:`~tooflow.errors.NoticeRejected` naming the field, never a value
silently wrapped, dropped or stored as ``NaN``:

* :func:`position` — RA in [0, 360] deg, Dec in [-90, 90] deg, finite; a
  finite error radius (the placeholders a mission documents — radius 0 or
  ≥ 180 deg — still mean "no position", see the parsers);
* :func:`loads_json` — strict JSON (RFC 8259: no ``NaN``/``Infinity``), nested
  at most :data:`MAX_JSON_DEPTH` deep;
* :func:`check_parsed` — the event time is plausible for the time the notice
  was received (:data:`EARLIEST_EVENT_TIME`, :data:`MAX_FUTURE`) and every
  property is a finite number where it is a number.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from ..errors import NoticeRejected
from ..notice import ParsedNotice

__all__ = ["EARLIEST_EVENT_TIME", "MAX_FUTURE", "MAX_JSON_DEPTH", "check_parsed",
           "check_time", "loads_json", "position"]

#: No instrument that sends notices observed before this (BATSE/GCN began in 1991).
EARLIEST_EVENT_TIME = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
#: An event time later than the time received plus this is refused. LVK
#: early-warning alerts precede the merger by up to a minute; clocks drift.
MAX_FUTURE = dt.timedelta(hours=1)
#: Real notices nest 4 levels at most; this leaves ample margin and keeps every
#: recursive consumer (JSON columns, summaries) far from Python's recursion limit.
MAX_JSON_DEPTH = 64


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise NoticeRejected(f"{field} = {value!r} is not a number") from exc
    if not math.isfinite(number):
        raise NoticeRejected(f"{field} = {value!r} is not a finite number")
    return number


def position(ra: Any, dec: Any, radius: Any = None, *, ra_field: str = "ra",
             dec_field: str = "dec", radius_field: str = "error radius"
             ) -> tuple[float, float, float | None] | None:
    """Check a notice's position; ``(ra, dec, radius)`` in degrees, or ``None`` if absent.

    Parameters
    ----------
    ra, dec, radius : Any
        The values as the notice gives them (strings or numbers; ``None`` when absent).
    ra_field, dec_field, radius_field : str
        The notice's names for them, used in the reason.

    Returns
    -------
    tuple or None
        ``None`` when the notice gives neither RA nor Dec. RA 360 is returned as 0.

    Raises
    ------
    NoticeRejected
        When only one of RA/Dec is given, or a value is not a finite number or
        out of range (the reason names the field).
    """
    if ra is None and dec is None:
        return None
    if ra is None or dec is None:
        missing = ra_field if ra is None else dec_field
        raise NoticeRejected(f"notice gives a position without {missing}")
    ra_deg = _number(ra, ra_field)
    dec_deg = _number(dec, dec_field)
    if not 0.0 <= ra_deg <= 360.0:
        raise NoticeRejected(f"{ra_field} = {ra_deg:g} deg is outside [0, 360]")
    if not -90.0 <= dec_deg <= 90.0:
        raise NoticeRejected(f"{dec_field} = {dec_deg:g} deg is outside [-90, 90]")
    err = None
    if radius is not None:
        err = _number(radius, radius_field)
        if err < 0:
            raise NoticeRejected(f"{radius_field} = {err:g} deg is negative")
    return ra_deg % 360.0, dec_deg, err


def _reject_constant(name: str) -> Any:
    raise NoticeRejected(f"malformed JSON: {name} is not a JSON value (RFC 8259)")


def _depth_ok(obj: Any, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return False
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return True


def loads_json(payload: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse strict JSON no deeper than ``max_depth``.

    Raises
    ------
    NoticeRejected
        On malformed JSON, ``NaN``/``Infinity``, or nesting deeper than ``max_depth``.
    """
    try:
        obj = json.loads(payload, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise NoticeRejected(
            f"JSON nested deeper than {max_depth} levels (too deep to parse)") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NoticeRejected(f"malformed JSON: {exc}") from exc
    if not _depth_ok(obj, max_depth):
        raise NoticeRejected(f"JSON nested deeper than {max_depth} levels")
    return obj


def check_time(value: dt.datetime, what: str, received: dt.datetime | None = None) -> None:
    """Refuse an event time before :data:`EARLIEST_EVENT_TIME` or far after ``received``.

    Raises
    ------
    NoticeRejected
        Naming the field, the time and the limit.
    """
    if value < EARLIEST_EVENT_TIME:
        raise NoticeRejected(f"{what} {value.isoformat()} is before "
                             f"{EARLIEST_EVENT_TIME:%Y-%m-%d}: not a plausible event time")
    if received is not None and value > received + MAX_FUTURE:
        raise NoticeRejected(
            f"{what} {value.isoformat()} is {_ahead(value - received)} after the notice was "
            f"received ({received.isoformat(timespec='seconds')}); at most "
            f"{MAX_FUTURE.total_seconds() / 3600:g} h is plausible")


def _ahead(delta: dt.timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days / 365.25:.0f} years" if days > 730 else f"{days:.1f} days" if days > 2 \
        else f"{delta.total_seconds() / 3600:.1f} h"


def _non_finite(value: Any, path: str) -> str | None:
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return None


def check_parsed(parsed: ParsedNotice, received: dt.datetime | None = None) -> ParsedNotice:
    """Refuse a parsed notice whose time is implausible or whose numbers are not finite.

    Parameters
    ----------
    parsed : ParsedNotice
    received : datetime, optional
        When the notice was received (the notice row's ``received``).

    Returns
    -------
    ParsedNotice
        ``parsed`` itself.

    Raises
    ------
    NoticeRejected
        Naming the field.
    """
    check_time(parsed.time, "event time", received)
    for name in ("properties", "external_coincidence"):
        bad = _non_finite(getattr(parsed, name) or {}, name)
        if bad:
            raise NoticeRejected(f"{bad.split('.', 1)[-1]} is not a finite number (NaN or "
                                 "infinity)")
    loc = parsed.localization
    if loc is not None and (loc.ra is not None or loc.dec is not None):
        position(loc.ra, loc.dec, loc.error_radius)
    return parsed
