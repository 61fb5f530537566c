"""The simulator served in this process (the embedded default), and what waits for it.

The embedded simulator runs in a background thread of the process that runs
the flow, started at the flow's first submission (:func:`ensure_local_simulator`,
called by :func:`tooflow.facilities.routing.facility_for`) and reused by later
flows of the same process. A drill's counterpart armed before it starts
(:func:`arm_on_start`) waits here and is armed when it does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tooflow.config import Settings
from tooflow.simulator.feed import arm_injection
from tooflow.simulator.injection import Injection

__all__ = ["arm_on_start", "arm_pending", "ensure_local_simulator", "local_simulator",
           "stop_local_simulator"]

_LOCAL = None  # the in-process SimulatorServer, started on first use


def ensure_local_simulator(settings: Settings, *, echo=None) -> str:
    """URL of the simulator: the configured one, or one served in this process.

    The embedded simulator runs in a background thread of the process that runs
    the flow, with its accelerated clock starting when it starts: a process that
    stays up for days would otherwise have a simulated clock years ahead. It is
    started on first use and reused by later flows of the same process.
    """
    global _LOCAL
    sim = settings.facilities.simulator
    if sim.url:
        return sim.url
    if _LOCAL is None:
        from tooflow.simulator.server import SimulatorServer

        _LOCAL = SimulatorServer(speedup=sim.speedup, weather_loss=sim.weather_loss,
                                 seed=sim.seed).start()
        arm_pending(_LOCAL.simulator)  # a drill's counterpart (tooflow drill)
        if echo:
            echo(f"telescope simulator serving at {_LOCAL.url} "
                 f"(×{_LOCAL.simulator.speedup:g} accelerated clock)")
    return _LOCAL.url


def local_simulator():
    """The in-process simulator server, if one was started."""
    return _LOCAL


def stop_local_simulator() -> bool:
    """Stop the in-process simulator started by :func:`ensure_local_simulator`."""
    global _LOCAL
    if _LOCAL is None:
        return False
    _LOCAL.stop()
    _LOCAL = None
    return True


#: Injections waiting for the embedded simulator to start (:func:`arm_on_start`).
_PENDING: list[Injection] = []


def arm_on_start(injection: Injection) -> None:
    """Arm the embedded simulator with ``injection`` when it starts (or now if it runs).

    The embedded simulator starts at the flow's first submission, with its
    accelerated clock: arming it earlier would start that clock while Prefect
    and the planner are still busy, and the plan's window would be over by the
    time it is submitted.
    """
    arm_injection(_probe(), injection)  # a bad model fails now, not in the flow
    running = local_simulator()
    if running is not None:
        arm_injection(running.simulator, injection)
    else:
        _PENDING.append(injection)


def arm_pending(simulator: Any) -> None:
    """Arm a simulator that has just started with the waiting injections."""
    while _PENDING:
        arm_injection(simulator, _PENDING.pop(0))


def _probe():
    class _Sim:  # a stand-in that only checks the light curve
        sky = None
        seed = 0
        start = dt.datetime.now(dt.UTC)

        def show_sky(self, sky):
            self.sky = sky
    return _Sim()
