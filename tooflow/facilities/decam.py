"""DECam (Blanco 4-m, CTIO): observing scripts in SISPI's JSON format.

DECam has no public queue API: observers load JSON observing scripts into
SISPI, each a list of exposures ``{"object", "RA", "dec", "expType",
"exptime", "filter", "count", "program", "propid", "seqid", "seqnum",
"seqtot", "wait", "comment"}`` (the format of the DESGW/KNTraP script
writers). :func:`sispi_script` builds that list; the adapter sends it, with
the generic JSON queue fields, to a script-queue service at ``config.url``
that speaks :mod:`tooflow.facilities.queue`'s protocol (the simulator does).
Site, overhead and depths come from the telescope catalogue
(``tooflow/telescopes/data/DECam.yaml``: r ≈ 24.0 mag in 90 s, 28 s overhead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import StringConstraints

from tooflow.facilities.http import FacilityError
from tooflow.facilities.queue import JsonQueueFacility, QueueExtra
from tooflow.observations import PlannedObservation

__all__ = ["DECamFacility", "DECamExtra", "DECAM_FILTERS", "sispi_script"]

#: DECam filter names (SISPI's).
DECAM_FILTERS = frozenset({"u", "g", "r", "i", "z", "Y", "VR", "N964"})


def sispi_script(observations: Sequence[PlannedObservation], *, propid: str, program: str,
                 seqid: str, comment: str = "") -> list[dict[str, str]]:
    """A SISPI JSON observing script, one exposure per planned observation.

    Parameters
    ----------
    observations : sequence of PlannedObservation
        In observing order.
    propid : str
        NOIRLab proposal id (e.g. ``2019A-0205``).
    program : str
        Program name shown in the SISPI log.
    seqid : str
        Sequence name (the event id is a good one).
    comment : str
        Free text; the tooflow request key is appended so a exposure can be
        traced back to its request.

    Returns
    -------
    list of dict
        SISPI exposures; numbers as strings as the script writers produce them.
    """
    total = len(observations)
    out = []
    for n, obs in enumerate(observations, start=1):
        if obs.filter not in DECAM_FILTERS:
            raise FacilityError(f"DECam has no filter {obs.filter!r}: {obs.request_key}")
        name = obs.target or (f"{seqid}_field{obs.field_id}" if obs.field_id is not None
                              else f"{seqid}_{n}")
        out.append({"object": name, "RA": f"{obs.ra:.6f}", "dec": f"{obs.dec:.6f}",
                    "expType": "object", "exptime": f"{obs.exposure_time:g}",
                    "filter": obs.filter, "count": "1", "program": program,
                    "propid": propid, "seqid": seqid, "seqnum": str(n), "seqtot": str(total),
                    "wait": "False",
                    "comment": f"{comment} tooflow:{obs.request_key}".strip()})
    return out


class DECamExtra(QueueExtra):
    """``extra`` of the DECam queue: the queue's overrides and the proposal id."""

    propid: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """NOIRLab proposal id the exposures are charged to (``2019A-0205``): required,
    SISPI takes no script without it."""


class DECamFacility(JsonQueueFacility):
    """DECam script queue. ``config.extra`` (:class:`DECamExtra`): ``propid``, the
    proposal id (required), and the queue's overrides."""

    name = "DECam"
    filters = DECAM_FILTERS
    Extra = DECamExtra
    extra: DECamExtra

    def build_request(self, observations: Sequence[PlannedObservation], *, event_id: str,
                      program: str = "", window: tuple[dt.datetime, dt.datetime] | None = None,
                      ) -> dict[str, Any]:
        """Generic queue payload plus ``script``: the SISPI exposures, in order."""
        payload = super().build_request(observations, event_id=event_id, program=program,
                                        window=window)
        payload["script"] = sispi_script(observations, propid=self.extra.propid,
                                         program=payload["program"] or "tooflow",
                                         seqid=event_id)
        return payload
