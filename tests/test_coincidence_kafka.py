"""The coincidence service through a real Kafka broker (tansu on loopback)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from sqlmodel import Session, select

from tests.database_outage import DownFor
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, kafka_broker  # noqa: F401
from tests.kafka_fixtures import run_until as run_loop_until
from tests.waiting import HANG
from tooflow.models import Notice, SnewsAlert, SnewsMessage
from tooflow.parsers import parse_notice
from tooflow.snews.kafka import alert_publisher, observation_source
from tooflow.snews.service import CoincidenceService, run_service

DATA = Path(__file__).parent / "data" / "snews"


def scenario(name: str) -> list[bytes]:
    return [json.dumps(e).encode()
            for e in json.loads((DATA / "scenarios.json").read_text())[name]]


def read_topic(broker, topic: str, n: int, timeout: float = HANG) -> list:
    import confluent_kafka

    consumer = confluent_kafka.Consumer(consumer_settings(**{
        "bootstrap.servers": broker.bootstrap, "group.id": f"read-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    out, t0 = [], time.monotonic()
    try:
        while len(out) < n and time.monotonic() - t0 < timeout:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                out.append(msg)
    finally:
        consumer.close()
    return out


def run_until(service, conf, done, timeout=HANG) -> float:
    """Run the coincidence service on the observation topic until ``done()``."""
    return run_loop_until(lambda stop: run_service(service, observation_source(conf), stop=stop,
                                                   poll_timeout=0.2),
                          done, timeout=timeout)


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return len(list(session.exec(select(model).where(*where))))


def test_service_consumes_alerts_and_resumes(kafka_broker, sqlite_engine):  # noqa: F811
    engine = sqlite_engine
    obs, alerts = kafka_broker.create_topic(), kafka_broker.create_topic()
    conf = {"url": f"{kafka_broker.url}{obs}", "alert_url": f"{kafka_broker.url}{alerts}",
            "group_id": "tooflow-snews-test", "auth": False, "start_at": "earliest",
            "kafka": consumer_settings()}
    first, second = scenario("simple coincidence")
    kafka_broker.produce(obs, [first, b"\xffnot json at all", second])
    trigger = RecordingTrigger(engine)

    def service():
        return CoincidenceService(engine, publish=alert_publisher(conf), trigger=trigger)

    run_until(service(), conf,
              lambda: count(engine, SnewsAlert, SnewsAlert.triggered_at.is_not(None)) == 1)
    (msg,) = read_topic(kafka_broker, alerts, 1)
    assert dict(msg.headers()) == {"_format": b"json"}
    alert = json.loads(msg.value())
    assert alert["alert_type"] == "TEST COINC_MSG"  # snews_cs's name
    assert alert["detector_names"] == ["XENONnT", "DS-20K"]
    # the bad message was logged and stored as rejected; the service kept going
    assert count(engine, SnewsMessage, SnewsMessage.rejection_reason.is_not(None)) == 1
    with Session(engine) as session:
        (notice,) = session.exec(select(Notice)).all()
    assert parse_notice(notice.payload).event_id == "SNEWS-20300101T123445"
    assert trigger.calls == [notice.id]

    # a restart resumes after the committed offset: one more detector, one UPDATE
    kafka_broker.produce(obs, [json.dumps({
        "detector_name": "JUNO", "neutrino_time_utc": "2030-01-01T12:34:50.1",
        "p_val": 0.5, "is_test": True}).encode()])
    run_until(service(), conf,
              lambda: count(engine, SnewsAlert, SnewsAlert.kafka_published_at.is_not(None)) == 2)
    got = [json.loads(m.value()) for m in read_topic(kafka_broker, alerts, 2)]
    assert [a["alert_type"] for a in got] == ["TEST COINC_MSG", "TEST COINC_MSG"]  # JUNO joined
    assert got[1]["detector_names"] == ["XENONnT", "DS-20K", "JUNO"]
    assert count(engine, SnewsMessage) == 4  # nothing consumed twice


def test_database_outage_blocks_the_commit_until_stored(kafka_broker, sqlite_engine,  # noqa: F811
                                                        monkeypatch):
    """The database refuses the service's writes for longer than one round of its retry
    policy: the service keeps running, acknowledges nothing meanwhile, then stores each
    message and its alert once."""
    import functools

    import tooflow.snews.service as service_module
    from tooflow.db.retry import ATTEMPTS, until_stored

    engine = sqlite_engine
    obs, alerts = kafka_broker.create_topic(), kafka_broker.create_topic()
    conf = {"url": f"{kafka_broker.url}{obs}", "alert_url": f"{kafka_broker.url}{alerts}",
            "group_id": "tooflow-snews-outage", "auth": False, "start_at": "earliest",
            "kafka": consumer_settings()}
    kafka_broker.produce(obs, scenario("simple coincidence"))
    service = CoincidenceService(engine, publish=alert_publisher(conf),
                                 trigger=RecordingTrigger(engine))
    flaky_store = DownFor(service._store, ATTEMPTS + 1)  # a round gives up, the next stores
    monkeypatch.setattr(service, "_store", flaky_store)
    # the policy as it is, its waits short (2, 4, 8 s → 20, 40, 80 ms)
    monkeypatch.setattr(service_module, "until_stored",
                        functools.partial(until_stored, backoff=0.02))
    source = observation_source(conf)
    committed = []
    real_commit = source.commit
    source.commit = lambda m: (committed.append((m.offset, count(engine, SnewsMessage))),
                               real_commit(m))[1]
    run_loop_until(lambda stop: run_service(service, source, stop=stop, poll_timeout=0.2),
                   lambda: count(engine, SnewsAlert, SnewsAlert.triggered_at.is_not(None)) == 1)
    assert flaky_store.left == 0
    assert committed == [(0, 1), (1, 2)]  # each offset committed once its message was stored
    assert count(engine, SnewsMessage) == 2 and count(engine, SnewsAlert) == 1
    (msg,) = read_topic(kafka_broker, alerts, 1)
    assert json.loads(msg.value())["detector_names"] == ["XENONnT", "DS-20K"]
