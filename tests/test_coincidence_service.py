"""The coincidence service over a real database (SQLite and PostgreSQL), without Kafka."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.kafka_fixtures import RecordingTrigger
from tooflow.models import Notice, SnewsAlert, SnewsCoincidence, SnewsMessage
from tooflow.parsers import parse_notice
from tooflow.snews.service import CoincidenceService

from .conftest import snews_file

DATA = Path(__file__).parent / "data" / "snews"
NOW = dt.datetime(2030, 1, 1, 12, 35, tzinfo=dt.UTC)


def scenario(name: str, **changes) -> list[bytes]:
    events = json.loads((DATA / "scenarios.json").read_text())[name]
    return [json.dumps({**e, **changes}).encode() for e in events]


def service(engine, **kw) -> CoincidenceService:
    published = kw.pop("published", None)
    return CoincidenceService(engine, clock=lambda: NOW,
                              publish=published.append if published is not None else None, **kw)


def rows(engine, model):
    with Session(engine) as session:
        return list(session.exec(select(model).order_by(model.id)))


def test_scenario_to_alert_notice_and_kafka_payload(engine):
    published: list[bytes] = []
    trigger = RecordingTrigger(engine)
    svc = service(engine, published=published, trigger=trigger)
    first, second = scenario("simple coincidence")
    assert svc.handle(first, "obs:0:0").status == "accepted"
    result = svc.handle(second, "obs:0:1")
    assert [a.alert_type for a in result.alerts] == ["ALERT"]
    assert svc.deliver() == 3  # Kafka, notice, trigger

    (coinc,) = rows(engine, SnewsCoincidence)
    assert (coinc.mode, coinc.detectors, coinc.state) == ("test", ["XENONnT", "DS-20K"], "active")
    assert coinc.event_id == "SNEWS-20300101T123445"
    (alert,) = rows(engine, SnewsAlert)
    assert alert.kafka_published_at and alert.triggered_at and alert.notice_id

    snews = json.loads(published[0])
    # snews_cs's names and values (its test_02_alert: "TEST COINC_MSG", "id", int sub list)
    assert snews["alert_type"] == "TEST COINC_MSG"
    assert snews["detector_names"] == ["XENONnT", "DS-20K"]
    assert snews["neutrino_times"] == ["2030-01-01T12:34:45.678999Z", "2030-01-01T12:34:47.678999Z"]
    assert snews["id"].startswith("SNEWS_Coincidence_ALERT 2030-01-01T12:35:00")
    assert "_id" not in snews and snews["sub list number"] == 0
    # ... which the pipeline reads as the same SNEWS event as the GCN notice
    assert parse_notice(published[0]).event_id == "SNEWS-20300101T123445"

    (notice,) = rows(engine, Notice)
    assert trigger.calls == [notice.id]
    parsed = parse_notice(notice.payload)
    assert (parsed.source, parsed.kind, parsed.event_id) == (
        "SNEWS", "supernova", "SNEWS-20300101T123445")
    assert parsed.is_mock and not parsed.is_retraction
    assert parsed.properties["n_detectors"] == 2
    # nothing left to deliver; a second delivery does nothing
    assert svc.deliver() == 0


def test_redelivery_rejects_and_other_tiers(engine):
    svc = service(engine)
    first, second = scenario("simple coincidence")
    svc.handle(first, "obs:0:0")
    assert len(svc.handle(second, "obs:0:1").alerts) == 1
    again = svc.handle(second, "obs:0:1")
    assert again.status == "duplicate" and again.alerts == []
    bad = svc.handle(b'{"detector_name": "Kamiokande-II", "neutrino_time": "2030-01-01T12:30"}',
                     "obs:0:2")
    assert bad.status == "rejected" and "not on the SNEWS detector list" in bad.reason
    garbage = svc.handle(b"\x00\x01garbage", "obs:0:3")
    assert garbage.status == "rejected" and "not JSON" in garbage.reason
    heartbeat = svc.handle(snews_file("example_heartbeat_message.json").read_bytes(), "obs:0:4")
    assert heartbeat.status == "ignored" and svc.heartbeats["DS-20K"][0] == "OFF"
    stored = rows(engine, SnewsMessage)
    assert [r.delivery for r in stored] == ["obs:0:0", "obs:0:1", "obs:0:2", "obs:0:3"]
    assert stored[3].payload == b"\x00\x01garbage" and stored[3].rejection_reason
    assert len(rows(engine, SnewsAlert)) == 1


def test_restart_rebuilds_the_cache_and_continues_the_alert_sequence(engine):
    messages = scenario("msgs at 10, 19, 21, 22, 20, 29, 18 seconds")
    svc = service(engine)
    for i, payload in enumerate(messages[:4]):
        svc.handle(payload, f"obs:0:{i}")
    before = len(rows(engine, SnewsAlert))
    restarted = service(engine)
    assert restarted.restore() == 0  # nothing was missing
    result = restarted.handle(messages[4], "obs:0:4")  # HALO at 20 s: updates both groups
    assert [(a.alert_type, a.record_number) for a in result.alerts] == [("UPDATE", 2),
                                                                       ("UPDATE", 3)]
    assert len(rows(engine, SnewsAlert)) == before + 2


def test_alerts_lost_in_a_crash_are_recovered_on_restart(engine):
    svc = service(engine)
    for i, payload in enumerate(scenario("simple coincidence")):
        svc.handle(payload, f"obs:0:{i}")
    with Session(engine) as session:  # as if the process died before storing the alert
        for row in session.exec(select(SnewsAlert)):
            session.delete(row)
        session.commit()
    restarted = service(engine)
    assert restarted.restore() == 1
    (alert,) = rows(engine, SnewsAlert)
    assert (alert.alert_type, alert.detectors) == ("ALERT", ["XENONnT", "DS-20K"])


def test_retraction_withdraws_the_alert_in_the_pipeline(engine):
    svc = service(engine, trigger=RecordingTrigger(engine))
    for i, payload in enumerate(scenario("simple coincidence")):
        svc.handle(payload, f"obs:0:{i}")
    retraction = json.dumps({"tier": "Retraction", "detector_name": "DS-20K", "is_test": True,
                             "retract_latest_n": 1, "retraction_reason": "noise"}).encode()
    result = svc.handle(retraction, "obs:0:9")
    assert result.status == "retracted"
    assert [(a.alert_type, a.detectors) for a in result.alerts] == [("RETRACTION", ["XENONnT"])]
    svc.deliver()
    (coinc,) = rows(engine, SnewsCoincidence)
    assert coinc.state == "retracted" and coinc.n_alerts == 2
    notices = [parse_notice(n.payload) for n in rows(engine, Notice)]
    assert [n.is_retraction for n in notices] == [False, True]
    assert {n.event_id for n in notices} == {"SNEWS-20300101T123445"}


def test_observation_and_test_messages_never_coincide(engine):
    svc = service(engine)
    (test_msg, obs_msg) = scenario("simple coincidence")
    obs = json.loads(obs_msg)
    obs["is_test"] = False
    assert svc.handle(test_msg, "obs:0:0").status == "accepted"
    assert svc.handle(json.dumps(obs).encode(), "obs:0:1").alerts == []
    assert sorted(svc.caches) == ["observation", "test"]
    # an observation 48 h old is refused (tests are not time-checked)
    old = {**obs, "neutrino_time_utc": "2029-12-29T12:00:00"}
    result = svc.handle(json.dumps(old).encode(), "obs:0:2")
    assert result.status == "rejected" and "h old" in result.reason


@pytest.mark.parametrize("name, n_alerts", [
    ("simple coincidence", 1), ("exact 10s coincidence", 1), ("two coincidences", 2),
    ("same message submitted twice", 0), ("same detector submits within 1sec", 0),
    ("3 coincident message, out of order", 2), ("msgs at 10, 19, 21, 22, 20, 29, 18 seconds", 7),
])
def test_every_publishing_tools_scenario_through_the_service(sqlite_engine, name, n_alerts):
    svc = service(sqlite_engine)
    for i, payload in enumerate(scenario(name)):
        assert svc.handle(payload, f"obs:0:{i}").status in ("accepted", "duplicate")
    assert len(rows(sqlite_engine, SnewsAlert)) == n_alerts
    svc.deliver()
    for notice in rows(sqlite_engine, Notice):
        assert parse_notice(notice.payload).kind == "supernova"


def test_people_on_duty_are_told_once_per_alert(sqlite_engine, capsys):
    from tooflow.config import load_settings
    from tooflow.snews.notifications import duty_notifier

    svc = service(sqlite_engine, inject=False, notify=duty_notifier(load_settings(), environ={}))
    for i, payload in enumerate(scenario("simple coincidence")):
        svc.handle(payload, f"obs:0:{i}")
    assert svc.deliver() == 1
    assert svc.deliver() == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err  # the console channel
    assert out.count("SNEWS-20300101T123445") == 1
    assert "SNEWS new coincidence (#1): XENONnT, DS-20K" in out
    (alert,) = rows(sqlite_engine, SnewsAlert)
    assert alert.notified_at is not None and alert.notice_id is None


@pytest.mark.parametrize("rules", ["snews_cs", "tooflow"])
def test_update_then_restart_then_retraction(engine, rules):
    # snews_cs's notebook CS_tests.ipynb: coincidence, DS-20K's update, its retraction.
    # The messages are older than the cache lifetime at NOW: the restart replays the
    # active coincidence's history, the superseded DS-20K message included, so the
    # groups and the alert numbering come back as they were.
    items = json.loads((DATA / "snews_cs" / "cs_tests_notebook.json").read_text())
    payloads = [json.dumps(m).encode() for m in items["try retraction"]]
    published: list[bytes] = []
    svc = service(engine, published=published, rules=rules)
    for i, payload in enumerate(payloads[:3]):
        svc.handle(payload, f"obs:0:{i}")
    restarted = service(engine, published=published, rules=rules)
    assert restarted.restore() == 0  # nothing missing, nothing stored twice
    result = restarted.handle(payloads[3], "obs:0:3")
    assert [(a.alert_type, a.record_number) for a in result.alerts] == [("RETRACTION", 3)]
    restarted.deliver()
    sent = [json.loads(p) for p in published]
    assert [(a["alert_type"], a["detector_names"], a["sub list number"]) for a in sent] == [
        ("TEST COINC_MSG", ["XENONnT", "DS-20K"], 0),
        ("TEST UPDATE", ["XENONnT", "DS-20K"], 0),
        ("TEST RETRACTION", ["XENONnT"], 0)]
    assert sent[1]["neutrino_times"][0] == sent[1]["neutrino_times"][1]  # DS-20K moved to 40.1
