"""SNEWS detector messages (tooflow.snews.messages): real snews_pt examples, refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.snews.messages import (
    Heartbeat,
    MessageRejected,
    Observation,
    OtherTier,
    Retraction,
    read_detector_message,
)

from .conftest import snews_file

DATA = Path(__file__).parent / "data" / "snews"
NOW = dt.datetime(2030, 1, 1, 12, 40, tzinfo=dt.UTC)


def example(name: str) -> bytes:
    return snews_file(f"example_{name}_message.json").read_bytes()


def test_snews_pt_coincidence_example_is_a_test_observation():
    got = read_detector_message(example("coincidence_tier"))
    assert isinstance(got, Observation)
    m = got.message
    assert (m.detector, m.p_val, m.mode) == ("XENONnT", 0.07, "test")
    assert m.neutrino_time_iso == "2022-06-14T14:50:12.345275Z"
    assert m.machine_time == "2022-06-14T14:57:12.238275"
    assert got.content["extra_key"] == "test extra"  # extra keys are kept
    assert got.message.key.startswith("sha256:")
    assert read_detector_message(example("coincidence_tier")).message.key == m.key


@pytest.mark.parametrize("name", ["combined", "significance_tier", "timing_tier"])
def test_messages_with_a_neutrino_time_make_coincidence_tier_observations(name):
    got = read_detector_message(example(name))
    assert isinstance(got, Observation) and got.content["tier"] == "CoincidenceTier"


def test_heartbeat_example():
    got = read_detector_message(example("heartbeat"))
    assert isinstance(got, Heartbeat)
    assert (got.detector, got.status, got.mode) == ("DS-20K", "OFF", "test")


def test_v02_messages_with_tiers():
    timing = {"tier": "TimingTier", "detector_name": "IceCube", "uuid": "u-1",
              "timing_series": ["2030-01-01T12:34:45.678999", 12, 40]}
    assert isinstance(read_detector_message(timing), OtherTier)
    retraction = {"tier": "Retraction", "detector_name": "JUNO", "retract_message_uuid": "abc",
                  "retraction_reason": "noise", "is_test": True}
    got = read_detector_message(json.dumps(retraction))
    assert isinstance(got, Retraction)
    assert (got.detector, got.message_key, got.latest_n, got.mode) == ("JUNO", "abc", 0, "test")
    legacy = read_detector_message({"detector_name": "JUNO", "retract_latest": 2})
    assert isinstance(legacy, Retraction) and legacy.latest_n == 2
    obs = {"tier": "CoincidenceTier", "detector_name": "Super-K", "uuid": "sk-42",
           "neutrino_time_utc": "2030-01-01T12:39:00.5Z", "p_val": 0.01,
           "is_firedrill": True}
    got = read_detector_message(obs, now=NOW)
    assert (got.message.key, got.message.mode) == ("sk-42", "firedrill")


@pytest.mark.parametrize("payload, reason", [
    (b"\xff\xfe", "not UTF-8"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON list, not an object"),
    (b'{"detector_name": "JUNO"}', "no known tier"),
    (b'{"tier": "Gossip", "detector_name": "JUNO"}', "no known tier"),
    (b'{"tier": "CoincidenceTier", "neutrino_time_utc": "2030-01-01T12:39:00"}',
     "'detector_name' is a required property"),
    (b'{"detector_name": "Kamiokande-II", "neutrino_time": "2030-01-01T12:39:00"}',
     "not on the SNEWS detector list"),
    (b'{"detector_name": "JUNO", "neutrino_time": "2030-01-01T12:39:00", "p_val": 1.5}',
     "invalid at p_val"),
    (b'{"detector_name": "JUNO", "neutrino_time": "01/01/2030 12:39:00"}', "ISO 8601"),
    (b'{"detector_name": "JUNO", "neutrino_time": "2029-12-29T12:39:00"}', "h old"),
    (b'{"detector_name": "JUNO", "neutrino_time": "2030-01-01T13:39:00"}', "in the future"),
    (b'{"tier": "TimingTier", "detector_name": "JUNO"}', "'timing_series' is a required"),
])
def test_bad_messages_are_refused_with_the_reason(payload, reason):
    with pytest.raises(MessageRejected, match=reason) as info:
        read_detector_message(payload, now=NOW)
    assert isinstance(info.value, NoticeRejected)


def test_tests_and_firedrills_skip_the_time_checks():
    old = {"detector_name": "JUNO", "neutrino_time": "2012-06-09T15:31:08.891011", "is_test": True}
    assert isinstance(read_detector_message(old, now=NOW), Observation)
