"""Candidate alerts: parse and ingest rates of ZTF packets, against fastavro's bare decode.

Run from the repository root::

    python benchmarks/candidates.py [--n 2000] [--database-url URL] [--data DIR]

The packets are the four real ZTF alerts of ``DIR/candidates/ztf`` (default
tests/data). Parsing repeats them; ingesting needs distinct bytes (sha256
dedupe), so each real record is re-encoded with its own writer schema and
``candid``/``objectId`` made unique (``ZTF18aaxjdyr`` → ``ZTF18aaxjdyr-17``):
real content, distinct packets, each a new candidate with its history and
three cutouts.

Reported, each measured in this run:

* fastavro decode of a packet (the floor: nothing is checked or typed);
* ``parse_ztf_alert`` (decode + checks + typed alert), and its ratio to the floor;
* ``ingest_alert_bytes`` into a fresh database (store the bytes, commit, parse,
  write the candidate, ~20 photometry rows and 3 cutouts, commit), packets per
  second, and its ratio to parse alone;
* the listener's way: ``store_alert`` per packet (a commit each: the bytes are
  safe before the offset is committed), then ``process_alerts`` per batch of
  200 (one commit per batch), and its ratio to the one-by-one ingest;
* the load average before and after (the machine may be shared).

ZTF's public stream peaks at a few hundred thousand alerts a night (~10-30 per
second averaged over a night); the target is that one ingesting process keeps
up with ten times that (300 packets/s).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_PER_SECOND = 300.0


def _distinct(packets: list[bytes], n: int) -> list[bytes]:
    import fastavro

    out = []
    decoded = []
    for raw in packets:
        reader = fastavro.reader(io.BytesIO(raw))
        decoded.append((reader.writer_schema, next(reader)))
    for i in range(n):
        schema, record = decoded[i % len(decoded)]
        copy = dict(record)
        copy["objectId"] = f"{record['objectId']}-{i}"
        copy["candid"] = record["candid"] + 1_000_000 * (i + 1)
        copy["candidate"] = {**record["candidate"], "candid": copy["candid"]}
        buf = io.BytesIO()
        fastavro.writer(buf, schema, [copy])
        out.append(buf.getvalue())
    return out


def _per_call(fn, items, repeat: int = 3) -> float:
    """Median over ``repeat`` passes of seconds per item."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - t0) / len(items))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="packets to ingest")
    p.add_argument("--data", type=Path, default=ROOT / "tests" / "data")
    p.add_argument("--database-url", help="default: a fresh SQLite file")
    args = p.parse_args(argv)

    import fastavro

    load_before = os.getloadavg()
    from tooflow.candidates.store import ingest_alert_bytes, process_alerts, store_alert
    from tooflow.candidates.ztf import parse_ztf_alert
    from tooflow.db import create_schema, get_engine

    packets = [f.read_bytes() for f in sorted((args.data / "candidates" / "ztf").glob("*.avro"))]
    if not packets:
        print(f"no packets under {args.data / 'candidates' / 'ztf'}", file=sys.stderr)
        return 2
    sample = packets * 50
    floor = _per_call(lambda b: next(fastavro.reader(io.BytesIO(b))), sample)
    parse = _per_call(parse_ztf_alert, sample)
    distinct = _distinct(packets, 2 * args.n)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        engine = get_engine(url=url)
        create_schema(engine)
        t0 = time.perf_counter()
        for raw in distinct[:args.n]:
            out = ingest_alert_bytes(raw, "bench", engine=engine)
            assert out.status == "parsed", out.reason
        ingest = (time.perf_counter() - t0) / args.n
        t0 = time.perf_counter()
        batch: list[int] = []
        for raw in distinct[args.n:]:
            batch.append(store_alert(raw, "bench", engine=engine).alert_id)
            if len(batch) == 200:
                assert all(o.status == "parsed" for o in process_alerts(batch, engine=engine))
                batch = []
        if batch:
            process_alerts(batch, engine=engine)
        batched = (time.perf_counter() - t0) / args.n
        engine.dispose()
    rows = [("fastavro decode (floor)", floor, 1.0),
            ("parse_ztf_alert", parse, parse / floor),
            (f"ingest_alert_bytes ({url.split(':')[0]}, {args.n} packets)", ingest,
             ingest / parse),
            ("store each + process_alerts per 200", batched, batched / ingest)]
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (load_before,
                                                                    os.getloadavg()))
    print(f"load average (1, 5, 15 min): before {before}, after {after} "
          f"({os.cpu_count()} CPUs)")
    print(f"{'step':<48} {'ms/packet':>10} {'packets/s':>10} {'ratio':>8}")
    for name, sec, ratio in rows:
        print(f"{name:<48} {sec * 1e3:10.3f} {1 / sec:10.0f} {ratio:7.1f}x")
    met = "met" if 1 / min(ingest, batched) >= TARGET_PER_SECOND else "NOT met"
    print(f"\nratios: parse vs decode; ingest vs parse; batched vs one by one. Target: "
          f"ingest >= {TARGET_PER_SECOND:.0f} packets/s: {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
