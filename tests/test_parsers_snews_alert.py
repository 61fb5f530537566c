"""The SNEWS 2.0 coincidence alert as snews_cs publishes it, read as a notice (and from Kafka)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests import kafka_fixtures
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tooflow.errors import NoticeRejected
from tooflow.intake.listeners.hop import hop_source
from tooflow.models import Event, Notice
from tooflow.parsers import parse_notice
from tooflow.snews.alerts import payload_bytes, snews_alert
from tooflow.snews.cache import CoincidenceCache, DetectorMessage, parse_neutrino_time
from tooflow.stages.parse import parse_stored_notice

kafka_broker = kafka_fixtures.kafka_broker
CS = Path(__file__).parent / "data" / "snews" / "snews_cs"
EXPECTED = CS / "test_02_alert_expected.json"


def test_snews_cs_test_alert_is_a_supernova_notice():
    # snews_cs's own expected alert (test_02_alert.py): id and sent_time are placeholders
    n = parse_notice(EXPECTED.read_bytes())
    assert (n.source, n.kind, n.format, n.notice_type) == (
        "SNEWS", "supernova", "snews-json", "SNEWS_COINCIDENCE")
    # the event time is the earliest neutrino time (XENONnT's, listed second)
    assert n.time.isoformat() == "2012-06-09T15:31:07.465011+00:00"
    assert n.event_id == "SNEWS-20120609T153107"
    assert n.is_mock and not n.is_retraction  # "TEST COINC_MSG"
    assert n.issued is None  # sent_time "XXXXXXX" is no time: left out, not an error
    p = n.properties
    assert p["detectors"] == ["KamLAND", "XENONnT"] and p["n_detectors"] == 2
    assert p["p_values"] == [0.98, 0.98] and p["p_value_average"] == 0.98
    assert p["false_alarm_text"] == "N/A" and "false_alarm_prob" not in p
    assert (p["snews_alert_type"], p["snews_sub_list"], p["snews_mode"]) == (
        "TEST COINC_MSG", 0, "test")


def tooflow_alerts(scenario: str) -> list[dict]:
    """The snews_cs-layout alerts tooflow publishes for a snews_pt scenario."""
    import datetime as dt

    data = json.loads((CS.parent / "scenarios.json").read_text())[scenario]
    cache, out = CoincidenceCache(), []
    for i, m in enumerate(data):
        message = DetectorMessage(f"m{i}", m["detector_name"],
                                  parse_neutrino_time(m["neutrino_time_utc"]), m["p_val"],
                                  "observation")
        out += [snews_alert(a, sent=dt.datetime(2030, 1, 1, 12, 40, tzinfo=dt.UTC))
                for a in cache.add(message)]
    return out


def test_tooflow_alerts_read_back_as_the_same_event():
    alerts = tooflow_alerts("msgs at 10, 19, 21, 22, 20, 29, 18 seconds")
    parsed = [parse_notice(payload_bytes(a)) for a in alerts]
    assert {n.event_id for n in parsed} == {"SNEWS-20300101T123010", "SNEWS-20300101T123019"}
    assert all(not n.is_mock and n.issued is not None for n in parsed)
    assert max(n.properties["n_detectors"] for n in parsed) == 5
    # the layout before snews_cs renamed `_id` to `id` (2024) reads the same
    old = dict(alerts[0])
    old["_id"] = old.pop("id")
    assert parse_notice(json.dumps(old).encode()).properties["snews_alert_id"] == old["_id"]
    # hop-client < 0.8 wraps JSON messages in an envelope
    wrapped = json.dumps({"format": "json", "content": alerts[0]}).encode()
    assert parse_notice(wrapped).event_id == parsed[0].event_id


def test_retraction_retracts_only_below_two_detectors():
    alert = json.loads(EXPECTED.read_text())
    alert["alert_type"] = "RETRACTION"
    assert not parse_notice(json.dumps(alert).encode()).is_retraction  # two left: an update
    alert.update(detector_names=["KamLAND"], neutrino_times=alert["neutrino_times"][:1])
    n = parse_notice(json.dumps(alert).encode())
    assert n.is_retraction and not n.is_mock


@pytest.mark.parametrize(("change", "reason"), [
    ({"neutrino_times": ["2012-06-09T15:31:08.891011000"]},
     "2 detector_names but 1 neutrino_times"),
    ({"alert_type": "TEST PANIC"}, "alert_type 'TEST PANIC' is not one of COINC_MSG"),
    ({"alert_type": None}, "has no alert_type"),
    ({"neutrino_times": ["yesterday", "2012-06-09T15:31:07"]},
     "neutrino time of KamLAND: 'yesterday' is not an ISO 8601"),
    ({"detector_names": "KamLAND"}, "detector_names is not a list of names"),
])
def test_bad_alerts_are_refused_with_the_reason(change, reason):
    alert = {**json.loads(EXPECTED.read_text()), **change}
    with pytest.raises(NoticeRejected, match=reason):
        parse_notice(json.dumps(alert).encode())


def test_from_snews_alert_topics_through_hop(kafka_broker, sqlite_engine):
    # snews_cs in fire-drill mode sends unprefixed alerts to snews.alert-firedrill:
    # read from there they are drills; from snews.alert they are real.
    suffix = uuid.uuid4().hex[:8]
    drill = kafka_broker.create_topic(f"snews.alert-firedrill-{suffix}")
    real = kafka_broker.create_topic(f"snews.alert-{suffix}")
    alert = json.loads(EXPECTED.read_text())
    alert["alert_type"] = "COINC_MSG"  # no TEST prefix: only the topic tells a drill
    kafka_broker.produce(drill, [json.dumps(alert).encode()])
    later = dict(alert, neutrino_times=["2012-06-10T00:00:00", "2012-06-10T00:00:01"])
    kafka_broker.produce(real, [json.dumps(later).encode()])
    trigger = RecordingTrigger(sqlite_engine)
    source = hop_source({"url": f"{kafka_broker.url}{drill},{real}", "group_id": "tooflow-snews",
                         "auth": False, "start_at": "earliest", "kafka": consumer_settings()})
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == 2)
    with Session(sqlite_engine) as session:
        notices = {n.source: n.id for n in session.exec(select(Notice))}
    outcomes = {src: parse_stored_notice(i, engine=sqlite_engine) for src, i in notices.items()}
    assert all(not o.rejected for o in outcomes.values()), outcomes
    with Session(sqlite_engine) as session:
        events = {e.event_id: e for e in session.exec(select(Event))}
    assert events["SNEWS-20120609T153107"].is_mock  # the drill topic's
    assert events["SNEWS-20120609T153107"].properties["mock_reason"].startswith(
        "read from the drill/test topic snews.alert-firedrill")
    assert not events["SNEWS-20120610T000000"].is_mock
    assert events["SNEWS-20120610T000000"].kind == "supernova"
