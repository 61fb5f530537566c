"""No property of one Kafka message may cost another (issue 10, "a batch lost for good").

Six real Einstein Probe notices go through the real (tansu) broker to the hop
listener; one of them carries a property the listener cannot represent — a
CreateTime in year 11476, odd headers, a binary key. All six must be stored and
committed; a message that cannot be stored as itself is a rejected notice with
the reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, select

from tests import kafka_fixtures
from tests.conftest import listener_notice
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tooflow.intake.listeners.hop import hop_source
from tooflow.models import Notice, NoticeStatus

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"

#: 11476-01-01T00:00:00Z in milliseconds: a CreateTime Python's datetime cannot hold.
YEAR_11476_MS = int((dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
                     - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1000
                    ) + (11476 - 9999) * 31_556_952_000


def _ep_notices(n: int) -> list[bytes]:
    return [listener_notice(f"alert_{247 + i}.json").read_bytes() for i in range(n)]


def _source(broker, topic, group):
    return hop_source({"url": broker.url + topic, "group_id": group, "auth": False,
                       "start_at": "earliest", "kafka": consumer_settings()})


def test_a_timestamp_out_of_range_costs_no_message(kafka_broker, sqlite_engine):
    import confluent_kafka

    topic = kafka_broker.create_topic()
    payloads = _ep_notices(6)
    producer = confluent_kafka.Producer({"bootstrap.servers": kafka_broker.bootstrap})
    for i, payload in enumerate(payloads):
        extra = {}
        if i == 2:
            extra = {"timestamp": YEAR_11476_MS, "key": b"\xff\xfe\x00key",
                     "headers": [("\xe9t\xe9", b"\xff\x00"), ("empty", None)]}
        producer.produce(topic, payload, **extra)
    assert producer.flush(30) == 0

    trigger = RecordingTrigger(sqlite_engine)
    run_source_until(_source(kafka_broker, topic, "poison"), sqlite_engine, trigger,
                     lambda: len(trigger.calls) == 6)
    with Session(sqlite_engine) as s:
        stored = s.exec(select(Notice).order_by(Notice.id)).all()
    assert [n.payload for n in stored] == payloads
    assert all(n.source == f"hop:{topic}" for n in stored)

    assert all(n.status == NoticeStatus.triggered.value for n in stored)

    # all six committed: the same group, restarted, gets only what comes next
    kafka_broker.produce(topic, [(DATA / "alert_253.json").read_bytes()])
    again = RecordingTrigger(sqlite_engine)
    run_source_until(_source(kafka_broker, topic, "poison"), sqlite_engine, again,
                     lambda: len(again.calls) == 1)
    with Session(sqlite_engine) as s:
        assert len(s.exec(select(Notice)).all()) == 7
    assert again.calls == [stored[-1].id + 1]


def test_a_message_with_a_problem_is_stored_rejected_and_acknowledged(sqlite_engine):
    from tooflow.intake.listeners.loop import Message, handle_message

    class Recorder:
        name = "hop"
        committed: list = []

        def commit(self, message):
            self.committed.append(message.offset)

    source = Recorder()
    message = Message(payload=_ep_notices(1)[0], topic="t", offset=7,
                      problem="hop: message value unreadable: boom")
    calls = []
    stored = handle_message(source, message, engine=sqlite_engine, trigger=calls.append)
    assert stored.status == NoticeStatus.rejected.value and calls == []
    assert source.committed == [7]
    with Session(sqlite_engine) as s:
        row = s.get(Notice, stored.notice_id)
    assert row.rejection_reason == "hop: message value unreadable: boom"
    assert row.payload == message.payload
