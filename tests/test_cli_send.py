"""``tooflow send``: notice files published unchanged; undeliverable messages are an error."""

from __future__ import annotations

import socket
from pathlib import Path

import confluent_kafka
import pytest

from tests import kafka_fixtures
from tooflow.cli import main as tooflow_main
from tooflow.cli.send import send_files

from .conftest import listener_notice

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"


def test_files_arrive_byte_for_byte(kafka_broker, capsys):
    topic = kafka_broker.create_topic()
    files = [listener_notice("MS181101ab-retraction.avro"), DATA / "AMON_ICECUBE_BRONZE_190819.xml"]
    assert tooflow_main(["send", *map(str, files), "-t", topic, "-s", kafka_broker.url,
                         "--no-auth"]) == 0
    assert capsys.readouterr().out.strip() == f"published 2 message(s) to {topic}"
    consumer = confluent_kafka.Consumer({"bootstrap.servers": kafka_broker.bootstrap,
                                         "group.id": "check", "auto.offset.reset": "earliest",
                                         **kafka_fixtures.consumer_settings()})
    consumer.subscribe([topic])
    got = []
    try:
        for _ in range(100):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            if len(got) == 2:
                break
    finally:
        consumer.close()
    assert got == [f.read_bytes() for f in files]


def test_unreachable_broker_is_an_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RuntimeError, match="1 of 1 message"):
        send_files([listener_notice("alert_247.json")], "t", f"kafka://127.0.0.1:{port}/",
                   auth=False, timeout=2)


def test_missing_file_is_a_clear_error(capsys):
    assert tooflow_main(["send", "no-such-notice.xml", "-t", "t", "--no-auth"]) == 1
    assert "no such file: no-such-notice.xml" in capsys.readouterr().err
