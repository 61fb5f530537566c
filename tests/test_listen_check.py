"""``tooflow listen --check`` connects for real; repeated Kafka errors are counted, not repeated."""

from __future__ import annotations

import http.server
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from tests import kafka_fixtures
from tests.kafka_fixtures import consumer_settings
from tooflow.cli import main as tooflow_main
from tooflow.guards.log_repeats import RepeatLimiter

kafka_broker = kafka_fixtures.kafka_broker


class Refuses(http.server.BaseHTTPRequestHandler):
    """A Prefect API whose key has expired: 401 for everything."""

    def _answer(self) -> None:
        body = b'{"detail": "Invalid authentication credentials"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def _config(tmp_path, hop: dict) -> str:
    path = tmp_path / "tooflow.yaml"
    path.write_text(yaml.safe_dump({"listeners": {"hop": hop, "check_timeout": 5}}))
    return str(path)


def test_check_fails_on_a_prefect_api_that_refuses_the_key(kafka_broker, tmp_path):
    topic = kafka_broker.create_topic()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    config = _config(tmp_path, {"url": kafka_broker.url + topic, "group_id": "tooflow-check",
                                "auth": False, "kafka": consumer_settings()})
    # Its own process, as an operator runs it (no Prefect test harness settings).
    env = {**os.environ, "TOOFLOW_HOME": str(tmp_path),
           "PREFECT_API_URL": f"http://127.0.0.1:{server.server_address[1]}/api",
           "PREFECT_API_KEY": "pnu_expired0123456789"}
    try:
        proc = subprocess.run([str(Path(sys.executable).with_name("tooflow")), "listen",
                               "--config", config, "--check"], env=env, capture_output=True,
                              timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert "prefect: FAILED" in out and "401" in out
    assert f"hop: OK: 1 broker(s); {topic} (1 partition(s))" in out
    assert "pnu_expired0123456789" not in out


def test_check_fails_on_a_password_the_broker_refuses(kafka_broker, tmp_path, capsys):
    topic = kafka_broker.create_topic()
    config = _config(tmp_path, {
        "url": kafka_broker.url + topic, "group_id": "tooflow-check", "auth": False,
        "kafka": consumer_settings(**{"security.protocol": "SASL_PLAINTEXT",
                                      "sasl.mechanisms": "SCRAM-SHA-512",
                                      "sasl.username": "tooflow",
                                      "sasl.password": "wrong-password-123"})})
    assert tooflow_main(["listen", "--config", config, "--check", "--source", "hop"]) == 1
    out = capsys.readouterr().out
    assert "hop: FAILED: hop: cannot read the broker's metadata within 5 s" in out
    assert "wrong-password-123" not in out


def test_check_fails_on_a_topic_that_does_not_exist(kafka_broker, tmp_path, capsys):
    config = _config(tmp_path, {"url": kafka_broker.url + "no.such.topic",
                                "group_id": "tooflow-check", "auth": False,
                                "kafka": consumer_settings(
                                    **{"allow.auto.create.topics": False})})
    assert tooflow_main(["listen", "--config", config, "--check", "--source", "hop"]) == 1
    assert "hop: FAILED: hop: topic no.such.topic" in capsys.readouterr().out


def test_identical_errors_are_logged_once_per_window_with_a_count():
    now = [0.0]
    limiter = RepeatLimiter(window=60, clock=lambda: now[0])
    logger = logging.getLogger("tooflow.test.repeats")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger.addHandler(Keep())
    logger.addFilter(limiter)
    logger.propagate = False
    for i in range(745):  # 745 SASL failures in 40 s, elapsed milliseconds differing
        now[0] = i * 40 / 745
        logger.error("SASL authentication error: Authentication failed (after %d ms)", i)
    logger.error("a different error")
    now[0] = 61.0
    logger.error("SASL authentication error: Authentication failed (after %d ms)", 9)
    assert records == [
        "SASL authentication error: Authentication failed (after 0 ms)",
        "a different error",
        "SASL authentication error: Authentication failed (after 9 ms) "
        "(744 identical message(s) suppressed in the last 60 s)",
    ]


def test_check_connects_to_the_voevent_server_for_real(tmp_path, capsys):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    server = socket.create_server(("127.0.0.1", 0))
    alive = server.getsockname()[1]
    try:
        for port, ok in ((dead, False), (alive, True)):
            path = tmp_path / f"voevent-{port}.yaml"
            path.write_text(yaml.safe_dump({"listeners": {
                "voevent": {"host": "127.0.0.1", "port": port}, "check_timeout": 5}}))
            result = tooflow_main(["listen", "--config", str(path), "--check",
                                   "--source", "voevent"])
            out = capsys.readouterr().out
            line = next(x for x in out.splitlines() if x.startswith("voevent:"))
            if ok:
                assert line == f"voevent: OK: connected to 127.0.0.1:{port}"
            else:
                assert result == 1
                assert line.startswith("voevent: FAILED: voevent: no server accepts a "
                                       f"connection: 127.0.0.1:{port}")
    finally:
        server.close()
