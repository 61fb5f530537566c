"""The hop (SCiMMA Hopskotch) listener: URL, credentials from hop's auth.toml, real broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests import kafka_fixtures
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tooflow.intake.listeners import MissingCredentials
from tooflow.intake.listeners.hop import hop_auth_config, hop_source
from tooflow.intake.listeners.kafka import parse_kafka_url
from tooflow.models import Notice

from .conftest import listener_notice

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"


def test_parse_kafka_url_like_hop():
    assert parse_kafka_url("kafka://kafka.scimma.org/igwn.gwalert,snews.alert") == (
        "kafka.scimma.org:9092", ["igwn.gwalert", "snews.alert"])
    assert parse_kafka_url("kafka://127.0.0.1:19092/") == ("127.0.0.1:19092", [])
    with pytest.raises(ValueError, match="not a kafka:// URL"):
        parse_kafka_url("https://kafka.scimma.org/igwn.gwalert")


def test_missing_auth_toml_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(MissingCredentials, match="hop auth add"):
        hop_source({"url": "kafka://kafka.scimma.org/igwn.gwalert", "group_id": "g"})


def test_credentials_from_hop_auth_toml(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    auth = tmp_path / "hop" / "auth.toml"
    auth.parent.mkdir()
    auth.write_text('[[auth]]\nusername = "tooflow-test"\npassword = "not-a-real-secret"\n'
                    'hostname = "kafka.scimma.org"\nprotocol = "SASL_SSL"\n'
                    'mechanism = "SCRAM_SHA_512"\n')
    auth.chmod(0o600)
    config = hop_auth_config(True, "kafka.scimma.org:9092")
    assert config["sasl.username"] == "tooflow-test"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    with pytest.raises(MissingCredentials, match="no usable credential for other.example"):
        hop_auth_config(True, "other.example:9092")


def test_igwn_gwalert_avro_through_the_broker(kafka_broker, sqlite_engine):
    topic = kafka_broker.create_topic("igwn.gwalert-" + kafka_broker.create_topic()[2:])
    avro = (listener_notice("MS181101ab-retraction.avro")).read_bytes()
    snews = listener_notice("alert_247.json")
    kafka_broker.produce(topic, [avro, snews.read_bytes()])
    trigger = RecordingTrigger(sqlite_engine)
    source = hop_source({"url": kafka_broker.url + topic, "group_id": "tooflow-hop",
                         "auth": False, "start_at": "earliest", "kafka": consumer_settings()})
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == 2)
    with Session(sqlite_engine) as s:
        first = s.exec(select(Notice).order_by(Notice.id)).first()
    assert first.payload == avro and first.source == f"hop:{topic}"
