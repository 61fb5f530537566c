"""The on-duty roster: who is notified, on which channels, at which hours.

The roster is the ``roster`` section of the configuration file, a list of people::

    roster:
      - name: Alice Example
        slack: U012ABCDEF          # a Slack user id (direct message) or a #channel
        phone: "+15555550100"      # E.164, for SMS and urgent calls
        email: alice@example.org
        tz: America/Los_Angeles    # default time zone of her hours
        hours:
          - {days: weekdays, start: "18:00", end: "08:00"}   # overnight, Mon-Fri evenings
          - {days: [sat, sun], start: "00:00", end: "24:00"}
      - name: Bob Example
        email: bob@example.org
        hours: always

A shift whose ``end`` is not after its ``start`` crosses midnight: it covers the
listed day from ``start`` to the following day at ``end``. Hours are wall-clock
times in the shift's time zone (:mod:`zoneinfo`), so daylight-saving changes
follow the local clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["RosterError", "Channels", "Shift", "Person", "load_roster", "on_duty"]

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_GROUPS = {
    "daily": range(7),
    "all": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
}


class RosterError(ValueError):
    """The roster configuration is invalid; the message says which entry and why."""


@dataclass(frozen=True)
class Channels:
    """Where a person can be reached. Empty fields are channels they do not use."""

    slack: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Shift:
    """Hours on duty on some days of the week, in one time zone.

    Attributes
    ----------
    days : frozenset of int
        Days the shift *starts* on, Monday = 0.
    start, end : datetime.time
        Local wall-clock start and end; ``end <= start`` crosses midnight.
    tz : str
        IANA time zone name (``Europe/Berlin``).
    """

    days: frozenset[int]
    start: dt.time
    end: dt.time
    tz: str = "UTC"

    def covers(self, when: dt.datetime) -> bool:
        """True if the timezone-aware instant ``when`` falls inside this shift."""
        local = when.astimezone(ZoneInfo(self.tz))
        t = local.time().replace(tzinfo=None)
        today = local.weekday()
        yesterday = (today - 1) % 7
        if self.start < self.end:
            return today in self.days and self.start <= t < self.end
        # Crosses midnight (or lasts 24 h when start == end).
        return (today in self.days and t >= self.start) or (
            yesterday in self.days and t < self.end
        )


@dataclass(frozen=True)
class Person:
    """Someone on the roster.

    Attributes
    ----------
    name : str
        Display name.
    channels : Channels
        How to reach them.
    shifts : tuple of Shift
        When they are on duty; ignored if ``always``.
    always : bool
        On duty at all times (a backup).
    """

    name: str
    channels: Channels = field(default_factory=Channels)
    shifts: tuple[Shift, ...] = ()
    always: bool = False

    def on_duty(self, when: dt.datetime) -> bool:
        """True if this person is on duty at the timezone-aware instant ``when``."""
        return self.always or any(s.covers(when) for s in self.shifts)


def _parse_time(value: Any, where: str) -> dt.time:
    text = str(value).strip()
    if text == "24:00":
        return dt.time(0, 0)
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise RosterError(f"{where}: time {value!r} is not HH:MM") from None


def _parse_days(value: Any, where: str) -> frozenset[int]:
    if value is None:
        return frozenset(range(7))
    items = [value] if isinstance(value, str) else list(value)
    days: set[int] = set()
    for item in items:
        key = str(item).strip().lower()
        if key in _DAY_GROUPS:
            days.update(_DAY_GROUPS[key])
        elif key in _DAYS or key in _DAY_NAMES:
            days.add(_DAYS.index(key[:3]))
        else:
            raise RosterError(f"{where}: unknown day {item!r} (use mon..sun, weekdays, "
                              "weekends or daily)")
    return frozenset(days)


def _check_tz(name: Any, where: str) -> str:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise RosterError(f"{where}: unknown time zone {name!r}") from None
    return str(name)


#: The keys of one roster entry.
_PERSON_KEYS = ("name", "slack", "phone", "email", "tz", "hours")


def _parse_person(entry: Mapping[str, Any], index: int) -> Person:
    if not isinstance(entry, Mapping) or not entry.get("name"):
        raise RosterError(f"roster entry {index}: needs a name")
    name = str(entry["name"])
    where = f"roster entry {index} ({name})"
    unknown = sorted(str(k) for k in entry if k not in _PERSON_KEYS)
    if unknown:
        raise RosterError(f"{where}: unknown key {unknown[0]!r}; allowed: "
                          f"{', '.join(_PERSON_KEYS)}")
    default_tz = _check_tz(entry.get("tz", "UTC"), where)
    channels = Channels(
        slack=str(entry["slack"]) if entry.get("slack") else None,
        phone=str(entry["phone"]) if entry.get("phone") else None,
        email=str(entry["email"]) if entry.get("email") else None,
    )
    if channels.phone and not channels.phone.startswith("+"):
        raise RosterError(f"{where}: phone {channels.phone!r} must be in E.164 form (+...)")
    hours = entry.get("hours", [])
    if hours == "always":
        return Person(name, channels, (), always=True)
    if isinstance(hours, Mapping):
        hours = [hours]
    if not isinstance(hours, Sequence) or isinstance(hours, str):
        raise RosterError(f"{where}: hours must be 'always' or a list of shifts")
    shifts = []
    for j, h in enumerate(hours):
        w = f"{where} shift {j}"
        if not isinstance(h, Mapping) or "start" not in h or "end" not in h:
            raise RosterError(f"{w}: needs start and end (HH:MM)")
        shifts.append(
            Shift(
                days=_parse_days(h.get("days"), w),
                start=_parse_time(h["start"], w),
                end=_parse_time(h["end"], w),
                tz=_check_tz(h.get("tz", default_tz), w),
            )
        )
    return Person(name, channels, tuple(shifts))


def load_roster(entries: Iterable[Mapping[str, Any]] | None) -> list[Person]:
    """Build the roster from its configuration section.

    Parameters
    ----------
    entries : iterable of mapping, or None
        The ``roster`` list of the configuration (see the module docstring).

    Returns
    -------
    list of Person

    Raises
    ------
    RosterError
        Naming the entry and the problem (missing name, bad time, unknown zone...).
    """
    if entries is None:
        return []
    if isinstance(entries, Mapping | str):
        raise RosterError("roster must be a list of people")
    return [_parse_person(e, i) for i, e in enumerate(entries)]


def on_duty(roster: Iterable[Person], when: dt.datetime) -> list[Person]:
    """The people on duty at ``when``, in roster order.

    Parameters
    ----------
    roster : iterable of Person
    when : datetime.datetime
        Timezone-aware instant.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"on_duty needs a timezone-aware time, got {when.isoformat()}")
    return [p for p in roster if p.on_duty(when)]
