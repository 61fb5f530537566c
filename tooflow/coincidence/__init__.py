"""Coincidences: the SNEWS 2.0 supernova-neutrino coincidence service and multi-messenger matches.

* :mod:`.cache` — the SNEWS coincidence logic (pure, no I/O);
* :mod:`.messages` — SNEWS detector messages: validation against the SNEWS schemas;
* :mod:`.alerts` — alerts in the SNEWS alert format and as SNEWS GCN JSON notices;
* :mod:`.store` — coincidences, alerts and detector messages in the database;
* :mod:`.service` — ``tooflow coincidence run``: Kafka in, alerts out;
* :mod:`.multimessenger` — GW × GRB / neutrino temporal and spatial coincidences.
"""

from .cache import (
    NS,
    CoincidenceAlert,
    CoincidenceCache,
    DetectorMessage,
    Group,
    format_ns,
    parse_neutrino_time,
)

__all__ = ["NS", "CoincidenceAlert", "CoincidenceCache", "DetectorMessage", "Group",
           "format_ns", "parse_neutrino_time"]
