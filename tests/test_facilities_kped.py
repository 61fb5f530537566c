"""KPED payloads (pure)."""

from __future__ import annotations

import pytest

from tests.test_facilities_simulator import START, ztf_fields
from tooflow.facilities import FacilityError, get_facility
from tooflow.observations import PlannedObservation


def obs(telescope: str, filt: str, target: str | None = None) -> PlannedObservation:
    ra, dec = ztf_fields()[790]
    return PlannedObservation(telescope, ra, dec, filt, 300.0, START, probability=0.02,
                              field_id=None if target else 790, target=target)


def test_kped_targets_carry_the_kped_scheduler_fields():
    kped = get_facility("KPED", {"user": "onduty"})
    payload = kped.build_request([obs("KPED", "g", "ZTF19aarykkb"), obs("KPED", "r")],
                                 event_id="S190425z")
    first, second = payload["targets"]
    assert (first["name"], first["filter"], first["epoch"]) == ("ZTF19aarykkb", "gs", 2000)
    assert (first["exposure_counts"], first["program_pi"]) == (1, "onduty")
    assert second["filter"] == "rs" and second["name"] == "KPED:f790:r:1"
    assert payload["site"]["name"] == "Kitt Peak"
    assert payload["instrument"]["depth"]["rs"] == 23.3
    with pytest.raises(FacilityError, match="KPED has no filter 'J'"):
        kped.build_request([obs("KPED", "J")], event_id="S190425z")
