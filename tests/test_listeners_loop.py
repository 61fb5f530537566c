"""The store → commit → trigger loop against a real Kafka broker (tansu) on loopback."""

from __future__ import annotations

import os
import random
from pathlib import Path

from sqlmodel import Session, func, select

from tests import kafka_fixtures
from tests.database_outage import DownFor
from tests.kafka_fixtures import RecordingTrigger, consumer_settings, run_source_until
from tests.waiting import HANG
from tooflow.intake.listeners.hop import hop_source
from tooflow.models import ListenerStatus, Notice, NoticeStatus

from .conftest import LISTENER_NOTICES, listener_notice

DATA = Path(__file__).parent / "data" / "listeners"
kafka_broker = kafka_fixtures.kafka_broker
NOTICES = LISTENER_NOTICES


def _source(broker, topic, group=None):
    return hop_source({"url": broker.url + topic, "group_id": group or f"g-{topic}",
                       "auth": False, "start_at": "earliest", "kafka": consumer_settings()})


def _count(engine, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Notice).where(*where)).one()


def _messages_seen(engine) -> int:
    """Messages the listener has recorded in its status (flushed every status_interval)."""
    with Session(engine) as s:
        return sum(s.exec(select(ListenerStatus.messages)).all())


def test_burst_of_real_notices_stored_once_and_triggered_once(kafka_broker, engine):
    topic = kafka_broker.create_topic()
    payloads = [p.read_bytes() for p in NOTICES]
    # every notice once, then five of them delivered again (a producer retry)
    kafka_broker.produce(topic, payloads + payloads[:5])
    trigger = RecordingTrigger(engine)
    run_source_until(_source(kafka_broker, topic), engine, trigger,
                     lambda: _count(engine) == len(payloads)
                     and len(trigger.calls) == len(payloads)
                     and _messages_seen(engine) == len(payloads) + 5)  # the re-deliveries too

    with Session(engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
        status = s.exec(select(ListenerStatus)).one()
    assert sorted(r.payload for r in rows) == sorted(payloads)
    assert all(r.source == f"hop:{topic}" for r in rows)
    assert sorted(trigger.calls) == [r.id for r in rows]  # once each, duplicates start nothing
    assert {r.status for r in rows} == {NoticeStatus.triggered.value}
    assert all(r.flow_run_id == f"fake-{r.id}" for r in rows)
    assert (status.source, status.topic, status.partition) == ("hop", topic, 0)
    assert status.messages == len(payloads) + 5 and status.created == len(payloads)
    assert status.last_offset == len(payloads) + 4 and status.errors == 0


def test_restart_resumes_at_committed_offset(kafka_broker, sqlite_engine):
    topic = kafka_broker.create_topic()
    payloads = [p.read_bytes() for p in NOTICES]
    kafka_broker.produce(topic, payloads[:8])
    trigger = RecordingTrigger(sqlite_engine)
    run_source_until(_source(kafka_broker, topic), sqlite_engine, trigger,
                     lambda: len(trigger.calls) == 8)
    kafka_broker.produce(topic, payloads[8:])
    # a new process in the same consumer group sees only the rest
    seen = []
    source = _source(kafka_broker, topic)
    real_commit = source.commit
    source.commit = lambda m: (seen.append(m.offset), real_commit(m))[1]
    run_source_until(source, sqlite_engine, trigger,
                     lambda: len(trigger.calls) == len(payloads))
    assert seen == list(range(8, len(payloads)))
    assert sorted(trigger.calls) == list(range(1, len(payloads) + 1))


def test_bad_payloads_keep_the_listener_up_and_are_rejected_at_parse(kafka_broker,
                                                                     sqlite_engine):
    from tooflow.stages.parse import parse_stored_notice

    topic = kafka_broker.create_topic()
    avro = (listener_notice("MS181101ab-retraction.avro")).read_bytes()
    random_bytes = random.Random(5).randbytes(2000)
    truncated = avro[: len(avro) // 2]
    huge = os.urandom(50 << 20)  # a 50 MB message
    good = (listener_notice("alert_247.json")).read_bytes()
    kafka_broker.produce(topic, [random_bytes, truncated, huge, good, avro])
    outcomes = {}
    trigger = RecordingTrigger(
        sqlite_engine,
        then=lambda nid: outcomes.setdefault(nid, parse_stored_notice(nid, engine=sqlite_engine)))
    run_source_until(_source(kafka_broker, topic), sqlite_engine, trigger,
                     lambda: _count(sqlite_engine) == 5 and len(outcomes) == 4)

    with Session(sqlite_engine) as s:
        rows = {r.id: r for r in s.exec(select(Notice))}
    by_size = {r.size: r for r in rows.values()}
    oversize = by_size[len(huge)]
    assert oversize.status == NoticeStatus.rejected.value
    assert "exceeds" in oversize.rejection_reason and len(oversize.payload) == 4096
    assert oversize.id not in trigger.calls  # rejected on arrival: no flow run
    for bad in (random_bytes, truncated):
        row = by_size[len(bad)]
        assert row.status == NoticeStatus.rejected.value, row.rejection_reason
        assert row.rejection_reason
    for ok in (good, avro):
        assert by_size[len(ok)].status not in (NoticeStatus.rejected.value,
                                               NoticeStatus.received.value)


def test_prefect_down_leaves_notices_pending_until_reconcile(kafka_broker, sqlite_engine):
    from tooflow.intake.trigger import reconcile

    topic = kafka_broker.create_topic()
    payloads = [p.read_bytes() for p in NOTICES[:6]]
    kafka_broker.produce(topic, payloads)
    down = RecordingTrigger(sqlite_engine, fail=True)
    run_source_until(_source(kafka_broker, topic), sqlite_engine, down,
                     lambda: _count(sqlite_engine) == 6)
    assert _count(sqlite_engine, Notice.status == NoticeStatus.received.value) == 6
    with Session(sqlite_engine) as s:
        status = s.exec(select(ListenerStatus)).one()
    assert status.errors == 6 and "Prefect API unreachable" in status.last_error

    assert reconcile(sqlite_engine, trigger=down) == 0  # still down: stops at once
    back = RecordingTrigger(sqlite_engine)
    assert reconcile(sqlite_engine, trigger=back) == 6
    assert back.calls == sorted(back.calls) and len(set(back.calls)) == 6
    assert _count(sqlite_engine, Notice.status == NoticeStatus.triggered.value) == 6
    assert reconcile(sqlite_engine, trigger=back) == 0


def test_database_outage_blocks_the_commit_until_the_row_is_stored(kafka_broker, sqlite_engine,
                                                                   monkeypatch):
    """While the database refuses writes, nothing is acknowledged and the listener keeps
    going, round after round of the database's retry policy; then all is stored, once."""
    import functools

    import tooflow.intake.listeners.loop as loop
    from tooflow.db.retry import ATTEMPTS, until_stored

    topic = kafka_broker.create_topic()
    payloads = [p.read_bytes() for p in NOTICES[:4]]
    kafka_broker.produce(topic, payloads)
    outage = ATTEMPTS + 1  # longer than one round of the policy: a round gives up
    flaky_store = DownFor(loop.store_notice, outage)

    monkeypatch.setattr(loop, "store_notice", flaky_store)
    # the policy as it is, its waits short (2, 4, 8 s → 20, 40, 80 ms)
    monkeypatch.setattr(loop, "until_stored", functools.partial(until_stored, backoff=0.02))
    source = _source(kafka_broker, topic)
    committed = []
    real_commit = source.commit
    source.commit = lambda m: (committed.append((m.offset, _count(sqlite_engine))),
                               real_commit(m))[1]
    trigger = RecordingTrigger(sqlite_engine)
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == 4,
                     store=flaky_store)
    # each offset was committed only once its row existed (count at commit time = offset + 1)
    assert committed == [(i, i + 1) for i in range(4)]
    assert flaky_store.left == 0
    with Session(sqlite_engine) as s:
        rows = s.exec(select(Notice)).all()
        status = s.exec(select(ListenerStatus)).one()
    assert sorted(r.payload for r in rows) == sorted(payloads)  # none lost, none rejected
    assert {r.status for r in rows} == {NoticeStatus.triggered.value}
    # the round that gave up is where operators look
    assert status.errors == 1
    assert status.last_error.startswith(
        f"store: hop:{topic}: store: database unavailable after {ATTEMPTS} attempt(s)")


def test_postgresql_connections_killed_mid_burst(kafka_broker, postgres_url, monkeypatch):
    """pg_terminate_backend on the listener's connections, repeatedly: nothing lost or doubled."""
    import threading

    from sqlalchemy import create_engine, text

    from tooflow.db import create_schema, drop_schema, get_engine

    engine = get_engine(url=postgres_url)
    drop_schema(engine)
    create_schema(engine)
    base = [p.read_bytes() for p in NOTICES if p.suffix != ".avro"]
    payloads = [data + b"\n" * k for k in range(8) for data in base]
    topic = kafka_broker.create_topic()
    kafka_broker.produce(topic, payloads)
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    db = postgres_url.rsplit("/", 1)[1]
    killed, done = [], threading.Event()

    def kill_connections():
        while not done.wait(0.15):
            with killer.connect() as conn:
                killed.append(conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": db}).scalar())

    thread = threading.Thread(target=kill_connections, daemon=True)
    thread.start()
    trigger = RecordingTrigger(engine)
    try:
        run_source_until(_source(kafka_broker, topic), engine, trigger,
                         lambda: len(set(trigger.calls)) == len(payloads))
    finally:
        done.set()
        thread.join()
        killer.dispose()
    assert sum(killed) > 0, "no connection was ever terminated"
    # a trigger whose "triggered" mark lost its connection left the notice pending:
    # the listener's periodic reconcile asks again (Prefect's key: same run)
    from tooflow.intake.trigger import reconcile

    pending = _count(engine, Notice.status == NoticeStatus.received.value)
    assert reconcile(engine, trigger=trigger) == pending
    with Session(engine) as s:
        rows = s.exec(select(Notice)).all()
    assert sorted(r.payload for r in rows) == sorted(payloads)  # each stored once
    assert {r.status for r in rows} == {NoticeStatus.triggered.value}
    assert len(trigger.calls) == len(payloads) + pending
    drop_schema(engine)


def test_broker_restart_while_listening(kafka_broker, sqlite_engine):
    """The broker goes away and comes back (tansu keeps no data across a restart)."""
    import threading
    import time

    from tests.kafka_fixtures import Broker
    from tooflow.intake.listeners import run_source

    broker = Broker(kafka_broker.binary)
    broker.start()
    stop = threading.Event()
    trigger = RecordingTrigger(sqlite_engine)
    try:
        topic = broker.create_topic()
        payloads = [p.read_bytes() for p in NOTICES]
        broker.produce(topic, payloads[:6])
        thread = threading.Thread(target=run_source, daemon=True, kwargs=dict(
            source=_source(broker, topic), engine=sqlite_engine, trigger=trigger, stop=stop,
            poll_timeout=0.2, status_interval=0.5))
        thread.start()

        def wait_for(n, timeout=HANG):
            t0 = time.monotonic()
            while _count(sqlite_engine) < n or len(trigger.calls) < n:
                assert thread.is_alive() and time.monotonic() - t0 < timeout
                time.sleep(0.1)

        wait_for(6)
        broker.stop()
        time.sleep(3)  # the listener polls a dead broker
        assert thread.is_alive()
        broker.start()
        broker.create_topic(topic)
        broker.produce(topic, payloads[6:])
        wait_for(len(payloads))
    finally:
        stop.set()
        broker.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert sorted(trigger.calls) == list(range(1, len(payloads) + 1))
