"""Waiting in tests: on a condition, never on a guess of how long something takes.

``HANG`` is the deadline of every wait. It only bounds a hang (a test that would
otherwise wait for ever); it is not a measurement, so it is generous enough for
a machine busy with other work (``TOOFLOW_TEST_HANG`` seconds, default 600).
Speed targets live in benchmarks/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["HANG", "wait_for"]

T = TypeVar("T")

HANG = float(os.environ.get("TOOFLOW_TEST_HANG", "600"))


def wait_for(condition: Callable[[], T], what: str, *, timeout: float = HANG,
             every: float = 0.1) -> T:
    """Poll ``condition()`` until it returns something truthy, and return that.

    Raises
    ------
    AssertionError
        ``what`` did not happen within ``timeout`` seconds (a hang).
    """
    t0 = time.monotonic()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
