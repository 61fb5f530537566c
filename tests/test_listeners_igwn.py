"""The GraceDB igwn-alert listener: group-prefixed topics, netrc credentials, real broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import kafka_fixtures
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tooflow.cli import main as tooflow_main
from tooflow.intake.listeners import MissingCredentials
from tooflow.intake.listeners.igwn import igwn_auth_config, igwn_source, igwn_topics

kafka_broker = kafka_fixtures.kafka_broker
LVK_JSON = Path(__file__).parent / "data" / "lvk" / "json"


def test_topics_carry_the_gracedb_group():
    assert igwn_topics("gracedb-playground", ["superevent", "cbc_gstlal"]) == [
        "gracedb-playground.superevent", "gracedb-playground.cbc_gstlal"]


def test_netrc_credentials_as_igwn_alert_reads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no hop auth.toml
    netrc = tmp_path / "netrc"
    netrc.write_text("machine kafka.scimma.org login lvk-robot password not-a-real-secret\n")
    netrc.chmod(0o600)
    config = igwn_auth_config({"netrc": str(netrc)}, "kafka.scimma.org", 9092)
    assert config["sasl.username"] == "lvk-robot"
    with pytest.raises(MissingCredentials, match="machine other.example"):
        igwn_auth_config({"netrc": str(netrc)}, "other.example", 9092)


def test_tooflow_send_then_igwn_listener_in_batches(kafka_broker, sqlite_engine, tmp_path):
    group = f"gracedb-{kafka_broker.create_topic()[2:]}"
    kafka_broker.create_topic(f"{group}.superevent")
    files = [LVK_JSON / f for f in ("S230518h-initial.json", "MS260605l-retraction.json",
                                    "MS181101ab-retraction.json")]
    assert tooflow_main(["send", *map(str, files), "--topic", "superevent", "--group", group,
                         "--server", kafka_broker.url, "--no-auth"]) == 0
    trigger = RecordingTrigger(sqlite_engine)
    source = igwn_source({"group": group, "topics": ["superevent"], "consumer_group": "tf",
                          "server": f"kafka://127.0.0.1:{kafka_broker.port}/",
                          "batch_size": 5, "batch_timeout": 0.5, "no_auth": True,
                          "start_at": "earliest", "kafka": consumer_settings()})
    assert source.batch_size == 5 and source.batch_timeout == 0.5
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == len(files))
    from sqlmodel import Session, select

    from tooflow.models import Notice

    with Session(sqlite_engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
    assert [json.loads(r.payload)["superevent_id"] for r in rows] == [
        json.loads(f.read_bytes())["superevent_id"] for f in files]
    assert {r.source for r in rows} == {f"igwn:{group}.superevent"}
