"""The NASA GCN Kafka listener: client credentials from the environment, real broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests import kafka_fixtures
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tooflow.intake.listeners import ListenerConfigError, MissingCredentials
from tooflow.intake.listeners.gcn_kafka import gcn_source
from tooflow.models import Notice

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"
EP = "gcn.notices.einstein_probe.wxt.alert"


def test_missing_client_credentials_refused():
    with pytest.raises(MissingCredentials, match="TOOFLOW_GCN_CLIENT_ID"):
        gcn_source({"topics": [EP], "group_id": "g"}, environ={})
    with pytest.raises(MissingCredentials, match="TOOFLOW_GCN_CLIENT_SECRET"):
        gcn_source({"topics": [EP], "group_id": "g"},
                   environ={"TOOFLOW_GCN_CLIENT_ID": "id-only"})


def test_topics_and_group_are_required():
    with pytest.raises(ListenerConfigError, match="topics"):
        gcn_source({"group_id": "g"}, environ={})
    with pytest.raises(ListenerConfigError, match="group_id"):
        gcn_source({"topics": [EP]}, environ={})


def test_einstein_probe_json_through_the_broker(kafka_broker, sqlite_engine):
    topic = kafka_broker.create_topic(f"{EP}.{kafka_broker.create_topic()[2:]}")
    alerts = [(DATA / f"alert_25{i}.json").read_bytes() for i in range(4)]
    voevent = (DATA / "GRB180116A_Fermi_GBM_Alert.xml").read_bytes()
    kafka_broker.produce(topic, alerts + [voevent])
    trigger = RecordingTrigger(sqlite_engine)
    source = gcn_source({"topics": [topic], "group_id": "tooflow-gcn", "no_auth": True,
                         "start_at": "earliest",
                         "kafka": {"bootstrap.servers": kafka_broker.bootstrap,
                                   **consumer_settings()}}, environ={})
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == 5)
    with Session(sqlite_engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
    assert [r.payload for r in rows] == alerts + [voevent]
    assert {r.source for r in rows} == {f"gcn:{topic}"}
