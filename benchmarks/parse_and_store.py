"""Median time to store and parse one notice, per kind, through the real path.

Run: ``python benchmarks/parse_and_store.py [--repeat N] [--database-url URL]``

Each sample is what ``tooflow ingest`` and the listeners do before the gate:
``store_notice`` (sha256 dedupe, raw bytes committed) then
``parse_stored_notice`` (parse, event upsert, sky map → multi-order, summary
numbers, content-addressed store). Every repetition uses a fresh database so
that nothing is deduplicated away. The baseline column is ``parse_notice``
alone on the same bytes, measured in the same run, so the ratio shows what
storage and sky-map handling add.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parents[1] / "tests" / "data"

#: One real notice per kind (public sources in tests/data/*/SOURCES.md).
SAMPLES = {
    "LVK Avro + map": "lvk/avro/MS181101ab-preliminary.avro",
    "LVK Avro RAVEN (2 maps)": "lvk/avro/MS181101ab-ext-update.avro",
    "LVK Avro retraction": "lvk/avro/MS181101ab-retraction.avro",
    "LVK JSON + map (S230518h)": "lvk/json/S230518h-initial.json",
    "LVK VOEvent (URL only)": "lvk/voevent/S190425z-1-Initial.xml",
    "Fermi GBM VOEvent": "gcn/voevent/gcn-notice-parser/fermi_gbm_trig797497441/"
                         "fermi_gbm_gnd_pos_1828.xml",
    "Swift BAT VOEvent": "gcn/voevent/skyportal/SWIFT_1125809-092.xml",
    "IceCube gold VOEvent": "gcn/voevent/fink-mm/AMON_ICECUBE_GOLD_Event2022-12-23T07_43_00"
                            ".52_24_137467_064735045_0.xml",
    "SVOM ECLAIRs VOEvent": "gcn/voevent/gcn-notice-parser/svom/grm/grm_285.xml",
    "SNEWS VOEvent": "gcn/snews/voevent/snews_gcn.xml",
    "Einstein Probe JSON": "gcn/json/einstein_probe/alert_247.json",
    "IceCube LVK nu JSON": "gcn/gcn-schema/notices/icecube/lvk_nu_track_search.example.json",
    "Fermi GBM JSON + map": "gcn/json/gwcelery/kafka_alert_fermi.json",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--database-url", help="default: a fresh SQLite file per repetition")
    args = ap.parse_args()
    os.environ["TOOFLOW_SKYMAP_FETCH_RETRIES"] = "1"
    os.environ["TOOFLOW_SKYMAP_FETCH_TIMEOUT"] = "0.5"

    from sqlmodel import SQLModel

    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.intake.store import store_notice
    from tooflow.parsers import parse_notice
    from tooflow.stages.parse import parse_stored_notice

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TOOFLOW_HOME"] = tmp
        settings = load_settings()
        for name, rel in SAMPLES.items():
            payload = (DATA / rel).read_bytes()
            parse_notice(payload)  # warm-up: imports, schemas
            base, full = [], []
            for i in range(args.repeat + 1):
                url = args.database_url or f"sqlite:///{tmp}/bench-{name[:8]}-{i}.sqlite"
                engine = get_engine(url=url)
                if args.database_url:
                    SQLModel.metadata.drop_all(engine)
                    with engine.begin() as c:
                        c.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
                create_schema(engine)
                t0 = time.perf_counter()
                parse_notice(payload)
                t1 = time.perf_counter()
                stored = store_notice(payload, "bench", engine=engine)
                out = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
                t2 = time.perf_counter()
                if i:  # the first round warms the sky-map code up
                    base.append(t1 - t0)
                    full.append(t2 - t1)
            state = "rejected: " + out.reason if out.rejected else out.summary.get(
                "localization_state", "no localization")
            rows.append((name, len(payload), statistics.median(base) * 1e3,
                         statistics.median(full) * 1e3, state))
    print(f"{'kind':<28} {'bytes':>9} {'parse (ms)':>11} {'store+parse (ms)':>17} "
          f"{'ratio':>6}  localization")
    for name, size, b, f, state in rows:
        print(f"{name:<28} {size:>9} {b:>11.2f} {f:>17.1f} {f / b:>6.0f}  {state}")


if __name__ == "__main__":
    main()
