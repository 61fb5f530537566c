"""The SNEWS 2.0 coincidence logic: a cache of detector messages grouped by neutrino time.

Pure Python, no I/O: :class:`CoincidenceCache` takes detector messages and
retractions and returns the alerts to publish. The rules are those of the SNEWS
Coincidence System (``snews_cs``):

* a **group** (a "sub-list" in SNEWS) opens with its earliest message; a message
  joins it when its neutrino time is 0 to ``window`` seconds (default 10 s,
  inclusive) after the group's earliest message;
* a message *earlier* than a lone initial message joins it and becomes the new
  initial message (when both still fit in the window);
* a message outside every group's window starts a new group, and the messages
  already cached within ``window`` before it (or after it: messages arrive out of
  order) join the new group too, so one message can belong to two nearby groups
  (README example: detector 1 at 0 s, 2 at 9 s, 3 at 11 s make groups {1, 2} and
  {2, 3});
* every change of the members of a group with at least two detectors publishes an
  alert: the group's first is an ``ALERT``, later ones ``UPDATE``\\ s;
* one detector never makes a coincidence with itself: a group holds at most one
  message per detector, and a new message from a detector within ``window`` of its
  previous one replaces it (SNEWS "update" of a detector's message); the exact same
  message twice is ignored;
* a retraction removes a detector's message(s); a group that still has two
  detectors publishes an ``UPDATE``, one left with fewer publishes a ``RETRACTION``;
* messages are kept ``lifetime`` seconds (24 h) after their neutrino time, then
  dropped by :meth:`CoincidenceCache.expire` unless they are part of a coincidence.

An earlier message before a group that already holds a coincidence is outside
that group's window (measured forward from its initial message): as in
``snews_cs`` it opens a new group with the messages of its own window, which
publishes its own ``ALERT``.

Times are integer nanoseconds since the Unix epoch (UTC), so the 10 s boundary
is exact; :func:`parse_neutrino_time` reads the ISO 8601 forms SNEWS accepts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = [
    "NS",
    "RULES",
    "SNEWS_CS_TYPES",
    "CoincidenceAlert",
    "CoincidenceCache",
    "DetectorMessage",
    "Group",
    "format_ns",
    "parse_neutrino_time",
]

#: Nanoseconds per second.
NS = 1_000_000_000

#: How the rules are chosen: ``tooflow`` (default) or ``snews_cs`` (the decisions
#: of SNEWS_Coincidence_System 3.0.1, see :class:`CoincidenceCache`).
RULES = ("tooflow", "snews_cs")

#: ``snews_cs``'s alert type for each cause of an alert (its sub-list states).
SNEWS_CS_TYPES = {"new": "COINC_MSG_STAGGERED", "join": "COINC_MSG", "update": "UPDATE",
                  "retraction": "RETRACTION"}

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_neutrino_time(text: str) -> int:
    """Parse an ISO 8601 UTC time into integer nanoseconds since the Unix epoch.

    Accepts ``T`` or a space between date and time, no seconds, 1 to 9 fractional
    digits (SNEWS ``time_formats``), and an optional ``Z`` or numeric offset
    (anything without an offset is UTC).

    Parameters
    ----------
    text : str
        ``2030-01-01T12:34:45.678999``, ``2023-06-12 18:30:10.123456789``...

    Returns
    -------
    int
        Nanoseconds since 1970-01-01T00:00:00 UTC.

    Raises
    ------
    ValueError
        Not an ISO 8601 date-time.

    Examples
    --------
    >>> parse_neutrino_time("1970-01-01T00:00:10.5Z")
    10500000000
    """
    if not isinstance(text, str):
        raise ValueError(f"time is a {type(text).__name__}, not an ISO 8601 string")
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"{text[:60]!r} is not an ISO 8601 date-time "
                         "(YYYY-MM-DDTHH:MM:SS.fffffffff)")
    try:
        day = dt.date.fromisoformat(match["date"])
        base = dt.datetime(day.year, day.month, day.day, int(match["h"]), int(match["m"]),
                           int(match["s"] or 0), tzinfo=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"{text[:60]!r} is not a valid date-time: {exc}") from None
    tz = match["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        base -= sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    seconds = (base - _EPOCH) // dt.timedelta(seconds=1)
    frac = (match["frac"] or "").ljust(9, "0")
    return seconds * NS + int(frac)


def format_ns(t_ns: int) -> str:
    """ISO 8601 UTC text of ``t_ns`` (ns since the epoch): microseconds, or ns when needed.

    Examples
    --------
    >>> format_ns(10500000000)
    '1970-01-01T00:00:10.500000Z'
    """
    seconds, frac = divmod(t_ns, NS)
    base = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}"
    return f"{base}.{digits if frac % 1000 else digits[:6]}Z"


@dataclass(frozen=True)
class DetectorMessage:
    """One detector's observation: a neutrino burst candidate at ``t_ns``.

    Attributes
    ----------
    key : str
        Unique id of the message (its ``uuid``, or a digest of its content).
    detector : str
        Detector name from the SNEWS detector list (``Super-K``, ``IceCube``...).
    t_ns : int
        Neutrino time, ns since the Unix epoch (UTC).
    p_val : float or None
        The detector's p-value of the burst, if given.
    mode : str
        ``observation``, ``test`` or ``firedrill``: messages of different modes are
        never compared (``snews_cs`` keeps a separate cache for tests).
    machine_time : str or None
        When the detector saw it (its own clock), as sent.
    """

    key: str
    detector: str
    t_ns: int
    p_val: float | None = None
    mode: str = "observation"
    machine_time: str | None = None

    @property
    def neutrino_time(self) -> dt.datetime:
        """Neutrino time, UTC (microsecond precision)."""
        return _EPOCH + dt.timedelta(microseconds=self.t_ns // 1000)

    @property
    def neutrino_time_iso(self) -> str:
        """Neutrino time as ISO 8601 UTC text (full precision)."""
        return format_ns(self.t_ns)


@dataclass
class Group:
    """Messages coincident within one window (a SNEWS "sub-list").

    Attributes
    ----------
    key : str
        Stable name: the key of the message that opened it (``:post`` appended for
        the later of two groups opened by one message).
    mode : str
        Mode of its messages (``observation``, ``test``, ``firedrill``).
    members : dict
        Message key → message.
    number : int
        The SNEWS "sub list number": numbered as ``snews_cs`` numbers its sub-lists
        (the count of groups in the cache when it opened; the later of two groups
        opened by one message gets the next number), never reusing a number in use.
    published : frozenset of str
        Member keys when the group's last alert was published (empty: never, or
        withdrawn).
    n_alerts : int
        Alerts published for the group so far.
    first_t_ns : int or None
        Initial neutrino time when the first alert went out (names the event).
    """

    key: str
    mode: str = "observation"
    number: int = 0
    members: dict[str, DetectorMessage] = field(default_factory=dict)
    published: frozenset[str] = frozenset()
    n_alerts: int = 0
    first_t_ns: int | None = None

    @property
    def initial(self) -> DetectorMessage:
        """The earliest message (ties: the first key), which opens the window."""
        return min(self.members.values(), key=lambda m: (m.t_ns, m.key))

    @property
    def detectors(self) -> set[str]:
        """Names of the detectors in the group."""
        return {m.detector for m in self.members.values()}

    def sorted_messages(self) -> tuple[DetectorMessage, ...]:
        """Members by neutrino time."""
        return tuple(sorted(self.members.values(), key=lambda m: (m.t_ns, m.key)))


@dataclass(frozen=True)
class CoincidenceAlert:
    """An alert to publish for a group.

    Attributes
    ----------
    group_key : str
        The group it is about.
    alert_type : str
        ``ALERT`` (first of the group), ``UPDATE`` or ``RETRACTION``.
    record_number : int
        1 for the group's first alert, then 2, 3...
    messages : tuple of DetectorMessage
        The group's members now, by neutrino time (for a retraction: those left).
    mode : str
        ``observation``, ``test`` or ``firedrill``.
    first_t_ns : int
        Initial neutrino time at the group's first alert, ns since the epoch: stays
        the same for every alert of the group.
    cause : str
        What changed the group: ``new`` (it opened with two detectors or more),
        ``join`` (a detector joined), ``update`` (a detector updated its message),
        ``retraction``. ``snews_cs`` names its alerts by it (:data:`SNEWS_CS_TYPES`).
    number : int
        The group's SNEWS sub list number.
    """

    group_key: str
    alert_type: str
    record_number: int
    messages: tuple[DetectorMessage, ...]
    mode: str
    first_t_ns: int
    cause: str = "join"
    number: int = 0

    @property
    def snews_cs_type(self) -> str:
        """The ``alert_type`` ``snews_cs`` gives this alert (before its ``TEST`` prefix)."""
        return SNEWS_CS_TYPES[self.cause]

    @property
    def detectors(self) -> list[str]:
        """Detector names, by neutrino time."""
        return [m.detector for m in self.messages]

    @property
    def initial_t_ns(self) -> int:
        """Earliest neutrino time of the members now (ns), or the first one if none left."""
        return self.messages[0].t_ns if self.messages else self.first_t_ns


class CoincidenceCache:
    """Detector messages of one mode, grouped into coincidences.

    Parameters
    ----------
    window : float
        Coincidence window, s, measured from the earliest message of a group.
    lifetime : float
        How long a message stays after its neutrino time, s (unless it is part of
        a coincidence).
    rules : {"tooflow", "snews_cs"}
        ``tooflow`` (default): the rules of the module docstring. ``snews_cs``: the
        decisions of SNEWS_Coincidence_System 3.0.1 (``CacheManager``), which differ
        in four ways:

        * a message joins a group only when it is strictly after the group's first
          message (0 < dt <= window); an earlier one never joins a lone message but
          opens new groups;
        * a message that opens groups also opens the group that starts with it
          (its "post" sub-list) even when nothing follows it yet, unless that group
          would equal the one ending with it; later messages join both, so a group
          can be a subset of another and alert too;
        * a new message from a detector already in the cache, however far in time,
          is an update: it replaces the detector's message only in the groups whose
          first message is within ``window`` of the new time, and is otherwise
          ignored; every coincidence that holds the detector publishes an
          ``UPDATE``, changed or not (a re-sent identical message too);
        * groups without a coincidence are kept until they expire, and a new
          group that would hold only messages of another group is not opened.

        ``snews_cs`` numbers a new sub-list by counting the sub-lists, which can
        reuse a number in use and merge two sub-lists (alerts then list a detector
        twice or span more than ``window``); tooflow never reuses a number.

    Examples
    --------
    >>> cache = CoincidenceCache()
    >>> t = parse_neutrino_time("2022-01-01T12:30:00")
    >>> cache.add(DetectorMessage("a", "Super-K", t))
    []
    >>> [a.alert_type for a in cache.add(DetectorMessage("b", "IceCube", t + 9 * NS))]
    ['ALERT']
    """

    def __init__(self, window: float = 10.0, lifetime: float = 86400.0,
                 rules: str = "tooflow"):
        if window <= 0 or lifetime <= 0:
            raise ValueError("window and lifetime must be positive")
        if rules not in RULES:
            raise ValueError(f"unknown coincidence rules {rules!r}: use one of "
                             f"{', '.join(RULES)}")
        self.rules = rules
        self.window_ns = round(window * NS)
        self.lifetime_ns = round(lifetime * NS)
        self.groups: dict[str, Group] = {}
        self._numbers: Counter[int] = Counter()  # sub list numbers in use
        self._top = -1  # highest sub list number given
        self._messages: dict[str, DetectorMessage] = {}
        self._order: dict[str, int] = {}  # arrival order
        self._times: list[tuple[int, str]] = []  # sorted (t_ns, key)
        self._groups_of: dict[str, set[str]] = {}
        self._by_detector: dict[str, list[tuple[int, str]]] = {}  # sorted (t_ns, key)
        self._arrivals = 0

    # --- queries ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._messages)

    def __contains__(self, key: str) -> bool:
        return key in self._messages

    def messages(self) -> list[DetectorMessage]:
        """Cached messages by neutrino time."""
        return [self._messages[k] for _t, k in self._times]

    def coincidences(self) -> list[Group]:
        """Groups with two detectors or more, by initial neutrino time."""
        found = [g for g in self.groups.values() if len(g.detectors) >= 2]
        return sorted(found, key=lambda g: (g.initial.t_ns, g.key))

    def groups_of(self, key: str) -> list[Group]:
        """The groups message ``key`` belongs to."""
        return [self.groups[g] for g in sorted(self._groups_of.get(key, ()))]

    # --- changes ------------------------------------------------------------------

    def add(self, message: DetectorMessage) -> list[CoincidenceAlert]:
        """Add a detector message; return the alerts it causes.

        A message whose key is cached, or equal in detector, time and p-value to a
        cached one, is ignored. A message from a detector with a cached message
        within the window replaces that message.
        """
        if message.key in self._messages:
            return []
        snews_cs = self.rules == "snews_cs"
        if not snews_cs and self._is_duplicate(message):
            return []
        if snews_cs:
            # snews_cs: any message of a detector already cached updates it.
            olds = [k for _t, k in self._by_detector.get(message.detector, ())]
            if olds:
                return self._update_in_place(message, olds)
        olds = self._same_detector_near(message)
        touched: dict[str, str] = {}
        for old in olds:
            touched.update(dict.fromkeys(self._remove(old), "update"))
        self._insert(message)
        for gkey, cause in self._place(message).items():
            touched.setdefault(gkey, cause)
        return self._alerts(touched)

    def retract(self, detector: str, *, message_key: str | None = None,
                latest_n: int = 0) -> tuple[list[DetectorMessage], list[CoincidenceAlert]]:
        """Remove a detector's messages; return those removed and the alerts it causes.

        Parameters
        ----------
        detector : str
            The detector whose messages are retracted (a detector retracts only its own).
        message_key : str, optional
            Retract this message only.
        latest_n : int
            Retract the detector's ``latest_n`` most recently received messages.
            With neither, or with ``rules="snews_cs"``, every cached message of the
            detector is retracted (as ``snews_cs`` does).
        """
        keys = [k for _t, k in self._by_detector.get(detector, ())]
        if self.rules == "snews_cs":
            pass  # snews_cs retracts every message of the detector, whatever is asked
        elif message_key is not None:
            keys = [k for k in keys if k == message_key]
        elif latest_n > 0:
            keys = sorted(keys, key=self._order.__getitem__)[-latest_n:]
        removed = [self._messages[k] for k in keys]
        touched: dict[str, str] = {}
        for key in keys:
            touched.update(dict.fromkeys(self._remove(key), "retraction"))
        return removed, self._alerts(touched)

    def expire(self, now_ns: int) -> list[DetectorMessage]:
        """Drop messages older than ``lifetime`` that are in no coincidence.

        Parameters
        ----------
        now_ns : int
            Current time, ns since the epoch.

        Returns
        -------
        list of DetectorMessage
            The messages dropped.
        """
        limit = now_ns - self.lifetime_ns
        old = self._times[:bisect.bisect_left(self._times, (limit, ""))]
        dropped = []
        for _t, key in old:
            if any(len(self.groups[g].detectors) >= 2 for g in self._groups_of.get(key, ())):
                continue
            dropped.append(self._messages[key])
            self._remove(key)
        return dropped

    # --- internals ----------------------------------------------------------------

    def _near(self, t_ns: int) -> list[DetectorMessage]:
        lo = bisect.bisect_left(self._times, (t_ns - self.window_ns, ""))
        hi = bisect.bisect_right(self._times, (t_ns + self.window_ns, "\U0010ffff"))
        return [self._messages[k] for _t, k in self._times[lo:hi]]

    def _detector_between(self, detector: str, lo: int, hi: int) -> list[str]:
        """Keys of ``detector``'s messages with ``lo <= t_ns <= hi``."""
        times = self._by_detector.get(detector, [])
        i = bisect.bisect_left(times, (lo, ""))
        j = bisect.bisect_right(times, (hi, "\U0010ffff"))
        return [k for _t, k in times[i:j]]

    def _is_duplicate(self, message: DetectorMessage) -> bool:
        return any(self._messages[k].p_val == message.p_val
                   for k in self._detector_between(message.detector, message.t_ns,
                                                   message.t_ns))

    def _same_detector_near(self, message: DetectorMessage) -> list[str]:
        return self._detector_between(message.detector, message.t_ns - self.window_ns,
                                      message.t_ns + self.window_ns)

    def _insert(self, message: DetectorMessage) -> None:
        self._messages[message.key] = message
        self._order[message.key] = self._arrivals
        self._arrivals += 1
        bisect.insort(self._times, (message.t_ns, message.key))
        self._groups_of[message.key] = set()
        bisect.insort(self._by_detector.setdefault(message.detector, []),
                      (message.t_ns, message.key))

    def _join(self, group: Group, message: DetectorMessage) -> None:
        group.members[message.key] = message
        self._groups_of[message.key].add(group.key)

    def _new_group(self, key: str, members: list[DetectorMessage], number: int) -> str:
        group = self.groups[key] = Group(key, members[0].mode, number)
        self._numbers[number] += 1
        self._top = max(self._top, number)
        for m in members:
            self._join(group, m)
        return key

    def _next_number(self, early: bool, post: bool) -> int:
        """Sub list number of the early group a message opens (its post group gets
        the next): the number of groups, as ``snews_cs`` counts them, unless a
        number to be used is in use (``snews_cs`` would merge the two; never here)."""
        base = len(self.groups)
        if (early and self._numbers[base]) or (post and self._numbers[base + 1]):
            return self._top + 1
        return base

    def _forget_group(self, gkey: str) -> None:
        number = self.groups.pop(gkey).number
        self._numbers[number] -= 1
        if not self._numbers[number]:
            del self._numbers[number]

    def _place(self, message: DetectorMessage) -> dict[str, str]:
        """Put a new message into groups (existing or new); return group → cause."""
        w, t = self.window_ns, message.t_ns
        snews_cs = self.rules == "snews_cs"
        near = [m for m in self._near(t) if m.key != message.key]
        candidates = sorted({g for m in near for g in self._groups_of[m.key]})
        touched: dict[str, str] = {}
        for gkey in candidates:
            group = self.groups[gkey]
            if message.detector in group.detectors:
                continue
            t0 = group.initial.t_ns
            t_last = max(m.t_ns for m in group.members.values())
            if snews_cs:
                joins = t0 < t <= t0 + w
            else:
                # An earlier message replaces only a *lone* initial message (SNEWS
                # rule); before a group that already has a coincidence it opens a
                # new group.
                lone = len(group.members) == 1
                joins = t0 <= t <= t0 + w or (t < t0 and lone and t_last - t <= w)
            if joins:
                self._join(group, message)
                touched[gkey] = "join"
        if touched:
            return touched
        others = [m for m in near if m.detector != message.detector]
        early = [m for m in others if t - w <= m.t_ns <= t]
        later = [m for m in others if t <= m.t_ns <= t + w]
        # snews_cs also opens the group starting with the message when nothing
        # follows it yet (its "post" sub-list), unless it equals the early one.
        post = (bool(later) or snews_cs) and {m.key for m in later} != {m.key for m in early}
        number = self._next_number(bool(early) or not post, post)
        if not early and not later:
            return {self._new_group(message.key, [message], number): "new"}
        if post:
            key = f"{message.key}:post" if early else message.key
            touched[self._new_group(key, [message, *later], number + 1)] = "new"
        if early and not (snews_cs and self._within_a_group(message, early)):
            touched[self._new_group(message.key, [message, *early], number)] = "new"
        return touched

    def _within_a_group(self, message: DetectorMessage, others: list[DetectorMessage]) -> bool:
        """Whether a group already holds ``message`` (new: only those it just opened)
        and all of ``others``."""
        keys = {m.key for m in others}
        return any(keys <= self.groups[g].members.keys() for g in self._groups_of[message.key])

    def _update_in_place(self, message: DetectorMessage, olds: list[str]) -> list[CoincidenceAlert]:
        """``snews_cs``'s update: replace a detector's message where the new time fits."""
        groups = sorted({g for k in olds for g in self._groups_of[k]}, key=self._group_order)
        inserted = False
        for gkey in groups:
            group = self.groups[gkey]
            if abs(message.t_ns - group.initial.t_ns) > self.window_ns:
                continue  # outside this group's window: ignored here
            for key in olds:
                if key in group.members:
                    del group.members[key]
                    self._groups_of[key].discard(gkey)
            if not inserted:
                self._insert(message)
                inserted = True
            self._join(group, message)
        for key in olds:
            if not self._groups_of[key]:
                self._remove(key)
        return self._alerts(dict.fromkeys(groups, "update"), force=set(groups))

    def _remove(self, key: str) -> set[str]:
        message = self._messages.pop(key)
        del self._order[key]
        idx = bisect.bisect_left(self._times, (message.t_ns, key))
        del self._times[idx]
        times = self._by_detector[message.detector]
        del times[bisect.bisect_left(times, (message.t_ns, key))]
        if not self._by_detector[message.detector]:
            del self._by_detector[message.detector]
        touched = self._groups_of.pop(key)
        for gkey in touched:
            group = self.groups[gkey]
            del group.members[key]
            if not group.members and not group.published:
                self._forget_group(gkey)
        return touched

    def _alerts(self, touched: dict[str, str],
                force: set[str] = frozenset()) -> list[CoincidenceAlert]:
        """Alerts for the groups touched (group key → cause); ``force``: alert even
        when the members did not change (``snews_cs`` updates)."""
        alerts = []
        for gkey in sorted(touched, key=self._group_order):
            group = self.groups.get(gkey)
            if group is None:
                continue
            keys = frozenset(group.members)
            coincident = len(group.detectors) >= 2
            if coincident and (keys != group.published or gkey in force):
                kind = "UPDATE" if group.published else "ALERT"
                if group.first_t_ns is None:
                    group.first_t_ns = group.initial.t_ns
                alerts.append(self._emit(group, kind, keys, touched[gkey]))
            elif not coincident and group.published:
                alerts.append(self._emit(group, "RETRACTION", frozenset(), touched[gkey]))
            if not coincident and not group.published and self.rules != "snews_cs":
                self._drop_if_redundant(group)
        return alerts

    def _group_order(self, gkey: str) -> tuple[int, str]:
        group = self.groups.get(gkey)
        return (group.initial.t_ns if group and group.members else 0, gkey)

    def _emit(self, group: Group, kind: str, keys: frozenset[str],
              cause: str) -> CoincidenceAlert:
        group.published = keys
        group.n_alerts += 1
        return CoincidenceAlert(group.key, kind, group.n_alerts, group.sorted_messages(),
                                group.mode, group.first_t_ns, cause, group.number)

    def _drop_if_redundant(self, group: Group) -> None:
        """Forget a group without a coincidence whose messages all sit in other groups."""
        if all(len(self._groups_of[k]) > 1 for k in group.members):
            for k in group.members:
                self._groups_of[k].discard(group.key)
            self._forget_group(group.key)
