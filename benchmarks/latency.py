"""Time from a notice's arrival to its first queue submission, stage by stage.

Run: ``python benchmarks/latency.py [--runs N] [--notice FILE] [--program NAME]``

For each run a fresh SQLite database and a real simulator service on loopback
take the notice through the same plain functions the ``handle-notice`` tasks
call: store → parse → gate → notify → plan → submit. The table gives the median
and max of each stage over the runs. The baseline row, measured in the same
run, is the notice taken through the whole ``handle-notice`` flow on a temporary
Prefect server with a zero monitor budget (one poll, then the circular draft
and its notification): the difference is Prefect's orchestration plus those
last stages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DEFAULT_NOTICE = ROOT / "tests" / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"
#: Night of 2019-04-01 at Palomar: MS181101ab transits near local midnight.
NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
STAGES = ["store", "parse", "gate", "notify", "plan", "submit"]


def one_run(payload: bytes, program: str, home: Path, url: str) -> dict[str, float]:
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.intake.store import store_notice
    from tooflow.stages.gate import gate_notice
    from tooflow.stages.notify import notify_event
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.stages.plan import plan_for_program
    from tooflow.stages.submit import submit_plan

    (home / "tooflow.yaml").write_text(f"facilities:\n  simulator:\n    url: {url}\n")
    os.environ["TOOFLOW_HOME"] = str(home)
    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    times: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        times[name] = now - t
        t = now

    stored = store_notice(payload, "bench", engine=engine)
    lap("store")
    out = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
    lap("parse")
    triggered = [d.program for d in gate_notice(stored.notice_id, engine=engine,
                                                settings=settings) if d.triggered]
    lap("gate")
    if program not in triggered:
        raise SystemExit(f"{program!r} did not trigger (triggered: {triggered})")
    notify_event(out.event_pk, "program_triggered", programs=triggered, flow_run_url=None,
                 engine=engine, settings=settings, environ={})
    lap("notify")
    plan_id = plan_for_program(stored.notice_id, program, engine=engine, settings=settings,
                               start=NIGHT)
    lap("plan")
    result = submit_plan(plan_id, engine=engine, settings=settings)
    lap("submit")
    if not result.submitted:
        raise SystemExit(f"nothing submitted: {result}")
    times["total"] = sum(times[s] for s in STAGES)
    return times


def flow_run(payload: bytes, home: Path, url: str) -> float:
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.intake.store import store_notice

    (home / "tooflow.yaml").write_text(f"facilities:\n  simulator:\n    url: {url}\n"
                                       "monitor:\n  max_wall_seconds: 0\n")
    os.environ["TOOFLOW_HOME"] = str(home)
    engine = get_engine(load_settings())
    create_schema(engine)
    t0 = time.perf_counter()
    notice_id = store_notice(payload, "bench", engine=engine).notice_id
    summary = handle_notice(notice_id, plan_start=NIGHT)
    elapsed = time.perf_counter() - t0
    if not summary.submitted:
        raise SystemExit(f"the flow submitted nothing: {summary}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--notice", type=Path, default=DEFAULT_NOTICE)
    ap.add_argument("--program", default="GW kilonova search")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from tooflow.iers import configure_iers
    from tooflow.simulator.server import SimulatorServer

    configure_iers(offline=True)
    payload = args.notice.read_bytes()
    runs = []
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as server, \
            tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "warm-up").mkdir()
        one_run(payload, args.program, Path(tmp) / "warm-up", server.url)
        for i in range(args.runs):
            home = Path(tmp) / f"run{i}"
            home.mkdir()
            runs.append(one_run(payload, args.program, home, server.url))
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=120):
            flows = []
            for i in range(args.runs):
                home = Path(tmp) / f"flow{i}"
                home.mkdir()
                flows.append(flow_run(payload, home, server.url))
    print(f"{args.notice.name}, program {args.program!r}, {args.runs} runs "
          f"(after one warm-up run)")
    print(f"{'stage':<28} {'median (s)':>10} {'max (s)':>8}")
    for stage in [*STAGES, "total"]:
        values = [r[stage] for r in runs]
        print(f"{stage:<28} {statistics.median(values):>10.3f} {max(values):>8.3f}")
    med = statistics.median(flows)
    print(f"{'baseline: handle-notice flow':<28} {med:>10.3f} {max(flows):>8.3f}"
          f"   (×{med / statistics.median(r['total'] for r in runs):.2f} of the stages)")


if __name__ == "__main__":
    main()
