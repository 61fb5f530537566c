"""A simulator whose accelerated clock starts once its first queue request is queued.

At a speed-up of thousands, every wall-clock second the flow spends planning on a
busy machine costs simulated hours: a plan for tonight could find the night over
before its first request arrives. Holding the clock until the first submission
makes the simulated night independent of how long planning took.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tooflow.simulator.engine import Simulator
from tooflow.simulator.server import SimulatorServer

__all__ = ["HeldClock", "simulator_from_first_request"]


class HeldClock:
    """Wall clock (seconds) that reads 0 until :meth:`release`, then runs."""

    def __init__(self) -> None:
        self._t0: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def release(self) -> None:
        """Start the clock (once)."""
        with self._lock:
            if self._t0 is None:
                self._t0 = time.monotonic()


def simulator_from_first_request(**kwargs: Any) -> SimulatorServer:
    """A :class:`SimulatorServer` (not started) whose clock starts at the first submit."""
    clock = HeldClock()
    sim = Simulator(clock=clock, **kwargs)
    submit = sim.submit

    def submit_and_release(*args: Any, **kw: Any) -> list[dict[str, Any]]:
        # Queued at the start time however long this batch takes; the night runs after.
        try:
            return submit(*args, **kw)
        finally:
            clock.release()

    sim.submit = submit_and_release  # type: ignore[method-assign]
    return SimulatorServer(sim)
