"""``tooflow listen`` as operators run it: config file, refusal without credentials,
SIGTERM, and ``tooflow health`` reading what the listener recorded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import yaml
from sqlmodel import Session, func, select

from tests import kafka_fixtures
from tests.kafka_fixtures import consumer_settings
from tests.waiting import HANG, wait_for
from tooflow.cli import main as tooflow_main
from tooflow.models import ListenerStatus, Notice, NoticeStatus

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"
ROOT = Path(__file__).parent.parent


def test_refuses_to_start_without_credentials(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no hop auth.toml
    monkeypatch.delenv("TOOFLOW_GCN_CLIENT_ID", raising=False)
    config = tmp_path / "tooflow.yaml"
    config.write_text(yaml.safe_dump({"listeners": {
        "hop": {"url": "kafka://kafka.scimma.org/igwn.gwalert", "group_id": "tooflow-me"},
        "gcn": {"topics": ["gcn.notices.einstein_probe.wxt.alert"], "group_id": "tooflow-me"},
    }}))
    assert tooflow_main(["listen", "--config", str(config), "--check"]) == 1
    err = capsys.readouterr().err
    assert "refusing to start" in err and "hop auth add" in err
    assert "TOOFLOW_GCN_CLIENT_ID" in err
    # only the source asked for is checked
    assert tooflow_main(["listen", "--config", str(config), "--source", "gcn", "--check"]) == 1
    assert "hop" not in capsys.readouterr().err.split("refusing to start")[1]


def test_listen_stores_records_health_and_stops_on_sigterm(kafka_broker, sqlite_engine,
                                                           tmp_path, capsys):
    topic, gcn_topic = kafka_broker.create_topic(), kafka_broker.create_topic()
    payloads = [(DATA / f).read_bytes() for f in ("alert_251.json", "alert_252.json")]
    kafka_broker.produce(topic, payloads)
    kafka_broker.produce(gcn_topic, [(DATA / "alert_253.json").read_bytes()])
    config = tmp_path / "tooflow.yaml"
    config.write_text(yaml.safe_dump({"listeners": {  # two sources in one process
        "hop": {"url": kafka_broker.url + topic, "group_id": "tooflow-cli", "auth": False,
                "start_at": "earliest", "kafka": consumer_settings()},
        "gcn": {"topics": [gcn_topic], "group_id": "tooflow-cli", "no_auth": True,
                "start_at": "earliest",
                "kafka": {"bootstrap.servers": kafka_broker.bootstrap, **consumer_settings()}},
        "status_interval": 0.5, "reconcile_interval": 1}}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    env = {**os.environ, "TOOFLOW_DATABASE_URL": str(sqlite_engine.url),
           "PREFECT_API_URL": f"http://127.0.0.1:{dead}/api"}  # Prefect is down
    proc = subprocess.Popen([str(Path(sys.executable).with_name("tooflow")), "listen",
                             "--config", str(config)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    def stored_and_recorded():
        assert proc.poll() is None, proc.stdout.read().decode()
        with Session(sqlite_engine) as s:
            n = s.exec(select(func.count()).select_from(Notice)).one()
            seen = {(r.source, r.messages) for r in s.exec(select(ListenerStatus))}
        return n == 3 and seen == {("hop", 2), ("gcn", 1)}

    try:
        wait_for(stored_and_recorded, "3 notices stored and the listener's status recorded")
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=HANG)[0].decode()
    assert proc.returncode == 0, out
    assert "stays pending" in out and "stopping after the current message" in out
    with Session(sqlite_engine) as s:
        statuses = set(s.exec(select(Notice.status)))
    assert statuses == {NoticeStatus.received.value}

    capsys.readouterr()
    assert tooflow_main(["health"]) == 1  # notices are waiting for a flow run
    out = capsys.readouterr().out
    assert f"ok    hop:{topic}[0] lag 0" in out, out
    assert f"ok    gcn:{gcn_topic}[0] lag 0" in out, out
    assert "2 messages (2 new)" in out and "3 notice(s) waiting for a flow run" in out
