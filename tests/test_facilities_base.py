"""The facility registry, configuration and validity windows."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_facilities_simulator import START
from tooflow.facilities import (
    FACILITIES,
    Facility,
    FacilityConfig,
    FacilityError,
    facility_names,
    get_facility,
)
from tooflow.facilities.base import validity_window
from tooflow.observations import PlannedObservation


def test_registry_builds_every_facility_by_name_case_insensitively():
    assert facility_names() == ["ZTF", "DECam", "KPED", "Gattini", "GROWTH-India",
                                "Simulator"]
    required = {"DECam": {"propid": "2019A-0205"}}  # SISPI takes no script without one
    for cls in FACILITIES:
        assert issubclass(cls, Facility)
        facility = get_facility(cls.name.upper(), {"url": "http://127.0.0.1:9",
                                                   "extra": required.get(cls.name, {})})
        assert type(facility) is cls and facility.config.url == "http://127.0.0.1:9"
        facility.close()
    with pytest.raises(KeyError, match="unknown facility 'LSST'; known: ZTF, DECam"):
        get_facility("LSST")
    with pytest.raises(ValueError, match="propid\n  Field required"):
        get_facility("DECam", {"url": "http://127.0.0.1:9"})


def test_configuration_rejects_unknown_keys_and_reads_tokens_from_the_environment(
        monkeypatch):
    with pytest.raises(ValueError, match="unknown facility setting.*pasword"):
        FacilityConfig.from_mapping({"url": "http://x", "pasword": "oops"})
    config = FacilityConfig.from_mapping({"token_env": "TOOFLOW_KPED_TOKEN"})
    assert config.token() is None
    monkeypatch.setenv("TOOFLOW_KPED_TOKEN", "abc")
    assert config.token() == "abc"


def test_validity_window_defaults_to_a_day_after_the_last_planned_start():
    obs = [PlannedObservation("ZTF", 1.0, 2.0, "r", 30.0, START + dt.timedelta(hours=h),
                              field_id=1, visit=h + 1) for h in (0, 2)]
    assert validity_window(obs, None) == (START, START + dt.timedelta(hours=26))
    with pytest.raises(ValueError, match="ends .* before it starts"):
        validity_window(obs, (START, START))
    with pytest.raises(ValueError, match="no observations and no window"):
        validity_window([], None)


def test_submitting_nothing_is_refused_without_any_request():
    facility = get_facility("Gattini", {"url": "http://127.0.0.1:9"})
    with pytest.raises(FacilityError, match="nothing to submit"):
        facility.submit([], event_id="S190425z")
    assert facility.transactions == []
