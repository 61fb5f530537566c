"""Gattini-IR payloads (pure)."""

from __future__ import annotations

import pytest

from tests.test_facilities_kped import obs
from tooflow.facilities import FacilityError, get_facility


def test_gattini_is_j_band_at_palomar():
    gattini = get_facility("gattini")
    payload = gattini.build_request([obs("Gattini", "J")], event_id="S190425z")
    assert payload["site"]["name"] == "Palomar"
    assert payload["targets"][0]["filter"] == "J"
    assert payload["instrument"] == {"overhead": 10.0, "depth": {"J": 16.5},
                                     "reference_exposure": 40.5}
    with pytest.raises(FacilityError, match="no filter 'r'"):
        gattini.build_request([obs("Gattini", "r")], event_id="S190425z")
