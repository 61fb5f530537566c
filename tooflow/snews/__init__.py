"""The SNEWS 2.0 supernova-neutrino coincidence service.

* :mod:`.cache` — the SNEWS coincidence logic (pure, no I/O);
* :mod:`.messages` — SNEWS detector messages: validation against the SNEWS schemas;
* :mod:`.alerts` — alerts in the SNEWS alert format and as SNEWS GCN JSON notices;
* :mod:`.store` — coincidences, alerts and detector messages in the database;
* :mod:`.service` — ``tooflow coincidence run``: Kafka in, alerts out.

GW × GRB / neutrino coincidences are a stage of ``handle-notice``:
:mod:`tooflow.stages.coincidence`.
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
