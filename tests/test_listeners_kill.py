"""Kill the listener process mid-burst, restart it: nothing lost, nothing stored twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlmodel import Session, func, select

from tests import kafka_fixtures
from tests.waiting import HANG
from tooflow.models import Notice, NoticeStatus

kafka_broker = kafka_fixtures.kafka_broker
DATA = Path(__file__).parent / "data" / "listeners"
ROOT = Path(__file__).parent.parent


def _burst() -> list[bytes]:
    """Distinct real notices: each text notice also with 1..9 trailing newlines."""
    out = []
    for path in sorted(DATA.iterdir()):
        if path.suffix not in {".json", ".xml", ".avro"}:
            continue
        data = path.read_bytes()
        out.append(data)
        if path.suffix != ".avro":
            out.extend(data + b"\n" * k for k in range(1, 10))
    return out


def _start(broker, topic, db, log, delay):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.listener_process", "--url", broker.url + topic,
         "--group", f"g-{topic}", "--db", db, "--log", str(log), "--delay", str(delay)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Notice)).one()


def _wait(cond, proc, timeout):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_sigkill_mid_burst_then_restart_loses_nothing(kafka_broker, engine, tmp_path):
    payloads = _burst()
    topic = kafka_broker.create_topic()
    kafka_broker.produce(topic, payloads)
    db = engine.url.render_as_string(hide_password=False)
    log = tmp_path / "triggers.log"

    first = _start(kafka_broker, topic, db, log, delay=0.01)
    try:
        _wait(lambda: _count(engine) >= 40, first, HANG)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    stored_at_kill = _count(engine)
    assert stored_at_kill < len(payloads), "the kill should land mid-burst"

    second = _start(kafka_broker, topic, db, log, delay=0.0)
    try:
        _wait(lambda: _count(engine) == len(payloads)
              and log.read_text().count("\n") >= len(payloads), second, HANG)
        time.sleep(0.5)  # let it settle: nothing more may arrive
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    # a notice stored just before the kill was triggered by the restart's reconcile
    with Session(engine) as s:
        rows = s.exec(select(Notice)).all()
    assert sorted(r.payload for r in rows) == sorted(payloads)  # all there, each once
    assert {r.status for r in rows} == {NoticeStatus.triggered.value}
    calls = Counter(int(line) for line in log.read_text().split())
    assert set(calls) == {r.id for r in rows}
    # Only the triggers in flight at the kill (one per trigger thread, 4) are asked
    # twice; the real trigger's idempotency key makes Prefect return the same run.
    assert sum(calls.values()) - len(calls) <= 4, calls.most_common(6)
    assert max(calls.values()) <= 2
