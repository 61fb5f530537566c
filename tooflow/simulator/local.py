"""The simulator served in this process (the embedded default), and what waits for it.

The embedded simulator runs in a background thread of the process that runs
the flow, started at the flow's first submission (:func:`ensure_local_simulator`,
called by :func:`tooflow.facilities.routing.facility_for`) and reused by later
flows of the same process. A drill's counterpart armed before it starts
(:func:`arm_on_start`) waits here and is armed when it does.

``tooflow listen`` on the embedded default serves one for itself and every flow
run of its runner (:func:`serve_shared_simulator`): each run is a new process,
and a simulator of its own would know none of the requests an earlier run, or
the listener's first light, queued. The runner is started with its URL in
``TOOFLOW_SIMULATOR_URL`` (:func:`shared_simulator_env`), which the settings
read as ``facilities.simulator.url``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tooflow.config import Settings
from tooflow.simulator.feed import arm_injection
from tooflow.simulator.injection import Injection

__all__ = ["arm_on_start", "arm_pending", "ensure_local_simulator", "local_simulator",
           "serve_shared_simulator", "shared_simulator", "shared_simulator_env",
           "stop_local_simulator"]

_LOCAL = None  # the in-process SimulatorServer, started on first use
_SHARED = False  # _LOCAL serves other processes too (serve_shared_simulator)


def ensure_local_simulator(settings: Settings, *, echo=None) -> str:
    """URL of the simulator: the configured one, or one served in this process.

    The embedded simulator runs in a background thread of the process that runs
    the flow, with its accelerated clock starting when it starts: a process that
    stays up for days would otherwise have a simulated clock years ahead. It is
    started on first use and reused by later flows of the same process.
    """
    sim = settings.facilities.simulator
    if sim.url:
        return sim.url
    return _serve(settings, echo=echo).url


def _serve(settings: Settings, *, echo=None, restart_when_idle: bool = False,
           note: str = ""):
    """The simulator served in this process: started on first use (the settings'
    speedup, weather and seed), a drill's counterpart armed in it."""
    global _LOCAL
    if _LOCAL is None:
        from tooflow.simulator.server import SimulatorServer

        sim = settings.facilities.simulator
        _LOCAL = SimulatorServer(speedup=sim.speedup, weather_loss=sim.weather_loss,
                                 seed=sim.seed, restart_when_idle=restart_when_idle).start()
        arm_pending(_LOCAL.simulator)  # a drill's counterpart (tooflow drill)
        if echo:
            echo(f"telescope simulator serving at {_LOCAL.url}{note} "
                 f"(×{_LOCAL.simulator.speedup:g} accelerated clock"
                 + (", restarted when idle)" if restart_when_idle else ")"))
    return _LOCAL


def serve_shared_simulator(settings: Settings, *, echo=None) -> Settings:
    """Serve one simulator in this process for it and the processes it starts.

    For ``tooflow listen`` on the embedded default: telescopes without a queue
    of their own and no ``facilities.simulator.url``. The simulator is served
    on loopback (a free port) in a background thread of this long-lived
    process; its accelerated clock restarts at a submission while nothing is
    queued or executing (:meth:`~tooflow.simulator.engine.Simulator.restart_if_idle`),
    so the days a listener stays up do not put it years ahead of the plans.
    Hand its URL to child processes with :func:`shared_simulator_env`.

    Returns
    -------
    Settings
        ``settings`` with ``facilities.simulator.url`` naming it (unchanged when
        a URL is configured already, or no telescope is simulated).
    """
    global _SHARED
    sim = settings.facilities.simulator
    if sim.url:
        return settings
    served = _serve(settings, echo=echo, restart_when_idle=True,
                    note=" for this process and its flow runs")
    served.simulator.restart_when_idle = True  # also one this process started before
    _SHARED = True
    simulator = sim.model_copy(update={"url": served.url})
    facilities = settings.facilities.model_copy(update={"simulator": simulator})
    return settings.model_copy(update={"facilities": facilities})


def shared_simulator():
    """The simulator served here for this process and its children, if one is."""
    return _LOCAL if _SHARED else None


def shared_simulator_env() -> dict[str, str]:
    """``{"TOOFLOW_SIMULATOR_URL": url}`` of the shared simulator, if one is served here.

    The environment a child process needs to reach it (empty otherwise).
    """
    from tooflow.config import SIMULATOR_URL_ENV

    if not _SHARED or _LOCAL is None:
        return {}
    return {SIMULATOR_URL_ENV: _LOCAL.url}


def local_simulator():
    """The in-process simulator server, if one was started."""
    return _LOCAL


def stop_local_simulator() -> bool:
    """Stop the in-process simulator started by :func:`ensure_local_simulator`."""
    global _LOCAL, _SHARED
    if _LOCAL is None:
        return False
    _LOCAL.stop()
    _LOCAL, _SHARED = None, False
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
