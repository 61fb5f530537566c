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

from ..config import Settings
from . import Facility, get_facility

__all__ = ["facility_for", "is_real_queue", "simulator_settings"]


def simulator_settings(settings: Settings) -> dict[str, Any]:
    """The ``facilities.simulator`` section, defaults filled in, as a plain dict."""
    return settings.facilities.simulator.model_dump()


def is_real_queue(telescope: str, settings: Settings) -> bool:
    """True when ``telescope``'s requests go to a real queue, not the simulator."""
    return settings.facilities.telescope(telescope).is_real_queue


def facility_for(telescope: str, settings: Settings) -> Facility:
    """The queue adapter that takes ``telescope``'s observations."""
    entry = settings.facilities.telescope(telescope)
    spec = entry.facility_config()
    if entry.is_real_queue:
        return get_facility(entry.adapter, spec)
    if "url" not in spec:
        url = settings.facilities.simulator.url
        if not url:
            # the in-process simulator only when no simulator URL is configured:
            # importing it (FastAPI, uvicorn, the engine) cost ~0.4 s of CPU in every
            # fresh process that only talks to queues (a served deployment's flow run)
            from ..simulator.local import ensure_local_simulator

            url = ensure_local_simulator(settings)
        spec["url"] = url
    return get_facility("simulator", spec)
