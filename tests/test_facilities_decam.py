"""DECam adapter: SISPI JSON observing scripts (pure)."""

from __future__ import annotations

import json

import pytest

from tests.test_facilities_simulator import START, ztf_fields
from tooflow.facilities import FacilityError, get_facility
from tooflow.facilities.decam import sispi_script
from tooflow.observations import PlannedObservation


def southern_plan() -> list[PlannedObservation]:
    fields = ztf_fields()
    return [PlannedObservation("DECam", *fields[f], filt, 90.0, START, field_id=f)
            for f in (308, 309) for filt in ("g", "r")]


def test_sispi_script_lists_exposures_in_the_script_writers_format():
    script = sispi_script(southern_plan(), propid="2019A-0205", program="GW-MMADS",
                          seqid="S190425z")
    assert len(script) == 4
    first = script[0]
    assert set(first) == {"object", "RA", "dec", "expType", "exptime", "filter", "count",
                          "program", "propid", "seqid", "seqnum", "seqtot", "wait", "comment"}
    assert first["object"] == "S190425z_field308"
    assert (float(first["RA"]), float(first["dec"])) == ztf_fields()[308]
    assert (first["expType"], first["exptime"], first["filter"]) == ("object", "90", "g")
    assert [s["seqnum"] for s in script] == ["1", "2", "3", "4"]
    assert {s["seqtot"] for s in script} == {"4"}
    assert {s["propid"] for s in script} == {"2019A-0205"}
    assert script[1]["comment"].endswith("tooflow:DECam:f308:r:1")
    json.dumps(script)  # a SISPI script is plain JSON


def test_payload_carries_the_script_and_the_queue_fields():
    decam = get_facility("DECam", {"extra": {"propid": "2019A-0205"}, "program": "GW"})
    payload = decam.build_request(southern_plan(), event_id="S190425z")
    assert payload["site"]["name"] == "CTIO"
    assert payload["script"] == sispi_script(southern_plan(), propid="2019A-0205",
                                             program="GW", seqid="S190425z")
    assert [t["request_key"] for t in payload["targets"]] == \
        [o.request_key for o in southern_plan()]


def test_missing_proposal_id_or_unknown_filter_is_refused():
    # without a proposal id the adapter is not even built (the settings refuse it at start)
    for extra in ({}, {"propid": "  "}):
        with pytest.raises(ValueError, match="propid"):
            get_facility("DECam", {"extra": extra})
    bad = [PlannedObservation("DECam", 10.0, -30.0, "J", 90.0, START)]
    with pytest.raises(FacilityError, match="no filter 'J'"):
        sispi_script(bad, propid="x", program="y", seqid="z")
