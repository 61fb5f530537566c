"""Which queue each telescope's observations go to.

The ``facilities`` section of the configuration maps telescope names to an
adapter and its settings::

    facilities:
      ZTF: {adapter: ZTF, url: https://ztf-queue.example.org, token_env: TOOFLOW_ZTF_TOKEN}
      DECam: {adapter: DECam, url: ...}
      simulator: {speedup: 7200, weather_loss: 0.1}   # the embedded default

A telescope without an entry is observed by the simulator (the embedded
default): the one at ``simulator.url``, else one served in this process.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .facilities import Facility, get_facility

__all__ = ["facility_for", "is_real_queue", "ensure_local_simulator", "stop_local_simulator",
           "local_simulator", "simulator_settings"]

_LOCAL = None  # the in-process SimulatorServer, started on first use

def simulator_settings(settings: Settings) -> dict[str, Any]:
    """The ``facilities.simulator`` section, defaults filled in, as a plain dict."""
    return settings.facilities.simulator.model_dump()


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
        from .simulator.server import SimulatorServer

        _LOCAL = SimulatorServer(speedup=sim.speedup, weather_loss=sim.weather_loss,
                                 seed=sim.seed).start()
        from .simulator.feed import arm_pending

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


def is_real_queue(telescope: str, settings: Settings) -> bool:
    """True when ``telescope``'s requests go to a real queue, not the simulator."""
    return settings.facilities.telescope(telescope).is_real_queue


def facility_for(telescope: str, settings: Settings) -> Facility:
    """The queue adapter that takes ``telescope``'s observations."""
    entry = settings.facilities.telescope(telescope)
    spec = entry.facility_config()
    if entry.is_real_queue:
        return get_facility(entry.adapter, spec)
    spec.setdefault("url", ensure_local_simulator(settings))
    return get_facility("simulator", spec)
