"""Candidate alerts from a Kafka topic: stored, committed, parsed, batched (a real broker)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from tests import kafka_fixtures
from tests.kafka_fixtures import consumer_settings, run_source_until
from tooflow.candidates.listener import (
    CandidateBatcher,
    candidate_source,
    store_candidate_message,
)
from tooflow.models import Candidate, CandidateAlert

kafka_broker = kafka_fixtures.kafka_broker

DATA = Path(__file__).parent / "data"
PACKETS = sorted((DATA / "candidates" / "ztf").glob("*.avro"))


def test_real_packets_and_bad_ones_through_the_broker(kafka_broker, sqlite_engine):
    topic = kafka_broker.create_topic()
    good = [p.read_bytes() for p in PACKETS]
    truncated = good[0][:3000]
    lvk = (DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes()
    kafka_broker.produce(topic, [*good, truncated, lvk, good[1]])  # good[1] re-delivered
    batches: list[list[int]] = []
    batcher = CandidateBatcher(sqlite_engine, batches.append, batch_size=4,
                               batch_seconds=3600)
    source = candidate_source({"url": kafka_broker.url + topic, "group_id": "cands-test",
                               "auth": False, "kafka": consumer_settings()})

    def stored() -> int:
        with Session(sqlite_engine) as s:
            return len(s.exec(select(CandidateAlert)).all())

    run_source_until(source, sqlite_engine, batcher, lambda: stored() == 6 and batches,
                     store=store_candidate_message, trigger_workers=0)
    batcher.close()
    with Session(sqlite_engine) as s:
        alerts = s.exec(select(CandidateAlert).order_by(CandidateAlert.id)).all()
        names = {c.name for c in s.exec(select(Candidate)).all()}
    assert [a.status for a in alerts] == ["parsed"] * 4 + ["rejected"] * 2
    assert all(a.source == f"candidates:{topic}" for a in alerts)
    assert "corrupt or truncated Avro" in alerts[4].rejection_reason
    assert "not a ZTF alert" in alerts[5].rejection_reason
    assert names == {"ZTF18aaxjdyr", "ZTF17aaacxxf", "ZTF18aagqxtf", "ZTF17aaajnnn"}
    assert batches == [[a.id for a in alerts[:4]]]  # one batch of the four, none twice
    assert not batcher.errors
