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

#: Simulated seconds per wall-clock second of the embedded simulator: a night
#: passes in ~5 s and a two-night plan window in ~25 s, so the demo stays short
#: while its monitor sees observations come in.
DEFAULT_SPEEDUP = 7200.0


def simulator_settings(settings: Settings) -> dict[str, Any]:
    """The ``facilities.simulator`` section (may be empty)."""
    return dict((settings.extra.get("facilities") or {}).get("simulator") or {})


def ensure_local_simulator(settings: Settings, *, echo=None) -> str:
    """URL of the simulator: the configured one, or one served in this process.

    The embedded simulator runs in a background thread of the process that runs
    the flow, with its accelerated clock starting when it starts: a process that
    stays up for days would otherwise have a simulated clock years ahead. It is
    started on first use and reused by later flows of the same process.
    """
    global _LOCAL
    sim = simulator_settings(settings)
    if sim.get("url"):
        return str(sim["url"])
    if _LOCAL is None:
        from .simulator.server import SimulatorServer

        _LOCAL = SimulatorServer(speedup=float(sim.get("speedup", DEFAULT_SPEEDUP)),
                                 weather_loss=float(sim.get("weather_loss", 0.1)),
                                 seed=int(sim.get("seed", 0))).start()
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
    spec = (settings.extra.get("facilities") or {}).get(telescope) or {}
    adapter = spec.get("adapter")
    return bool(adapter) and str(adapter).lower() != "simulator"


def facility_for(telescope: str, settings: Settings) -> Facility:
    """The queue adapter that takes ``telescope``'s observations."""
    sections = settings.extra.get("facilities") or {}
    spec = dict(sections.get(telescope) or {})
    adapter = spec.pop("adapter", None)
    if adapter and adapter.lower() != "simulator":
        return get_facility(adapter, spec)
    spec.setdefault("url", ensure_local_simulator(settings))
    for key in ("speedup", "weather_loss", "seed"):
        spec.pop(key, None)
    return get_facility("simulator", spec)
