"""GROWTH-India payloads (pure)."""

from __future__ import annotations

from tests.test_facilities_kped import obs
from tests.test_facilities_simulator import START
from tooflow.facilities import Site, get_facility


def test_growth_india_at_hanle_and_configuration_overrides():
    payload = get_facility("GROWTH-India").build_request([obs("GROWTH-India", "r")],
                                                         event_id="S190425z")
    assert (payload["site"]["lat"], payload["site"]["lon"]) == (32.779444, 78.964167)
    assert payload["validity_window"]["start"] == START.isoformat()
    other = Site("elsewhere", lat=10.0, lon=20.0, airmass_limit=1.8)
    custom = get_facility("GROWTH-India", {"site": {"name": "elsewhere", "lat": 10.0,
                                                    "lon": 20.0, "airmass_limit": 1.8},
                                           "queue_name": "ToO", "extra": {"overhead": 5}})
    payload = custom.build_request([obs("GROWTH-India", "r")], event_id="S190425z")
    assert payload["site"] == other.as_dict()
    assert payload["queue_name"] == "ToO" and payload["instrument"]["overhead"] == 5.0
