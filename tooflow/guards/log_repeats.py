"""Rate-limit repeated identical log lines: the first is logged, the rest counted.

A broker that refuses a password makes librdkafka say the same thing several
times a second (745 identical SASL failures in 40 s). :class:`RepeatLimiter`
lets the first of a kind through, drops the identical ones (digits — elapsed
milliseconds, counters — do not make a line different) for ``window`` seconds,
and then logs the next one with how many were suppressed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

__all__ = ["RepeatLimiter", "limit_repeats"]

_DIGITS = re.compile(r"\d+")


class RepeatLimiter(logging.Filter):
    """A logging filter: identical messages at most once per ``window`` seconds, counted.

    Parameters
    ----------
    window : float
        Seconds during which an identical message is only counted.
    clock : callable
        Monotonic clock (tests may pass their own).
    """

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            return True
        key = (record.name, record.levelno, _DIGITS.sub("#", message))
        now = self._clock()
        with self._lock:
            if len(self._seen) > 1000:  # bounded: forget the oldest kinds
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    del self._seen[old]
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            self._seen[key] = [now, 0]
        if suppressed:
            record.msg, record.args = (f"{message} ({suppressed} identical message(s) "
                                       f"suppressed in the last {self.window:g} s)"), None
        return True


def limit_repeats(*loggers: logging.Logger, window: float = 60.0) -> RepeatLimiter:
    """Attach one :class:`RepeatLimiter` to each logger (once); return it."""
    limiter = RepeatLimiter(window)
    for logger in loggers:
        if not any(isinstance(f, RepeatLimiter) for f in logger.filters):
            logger.addFilter(limiter)
    return limiter
