"""Poll task runs per event: one scheduled monitor per event vs one looping monitor per notice.

Run: ``python benchmarks/monitor_polls.py [--every 300] [--notices FILE ...]``

A real event, MS181101ab (its PRELIMINARY and its update, tests/data/lvk/avro),
goes through ``handle-notice`` with ``monitor: {mode: deployment}`` and
tooflow's example programs (GW kilonova search: ZTF, Gattini, DECam,
GROWTH-India, KPED; 48 h window) against a simulator service. The
simulator's clock is stepped by hand, ``--every`` seconds (the schedule of
prefect.yaml) before each ``monitor-events`` run, so the facility sees the
same polls it would in production, however long each run takes here. Runs
go on until the event's circulars are drafted; the ``poll`` task runs are
counted on the Prefect server.

Baseline, measured in the same run: the monitor before it (one
``monitor-event`` run per notice that submitted plans, a poll every 2 s of the
wall clock — the facility's in production — from its submission until no
request is open or the window closes; an earlier notice's monitor stopped
when a later one had submitted). Its polls are those spans, from the
facility-clock times this run measured, divided by 2 s: run literally, it
would take 2 s × polls of wall clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).parents[1]
AVRO = ROOT / "tests" / "data" / "lvk" / "avro"
DEFAULT_NOTICES = [AVRO / "MS181101ab-preliminary.avro", AVRO / "MS181101ab-ext-update.avro"]
#: Night of 2019-04-01 at Palomar: MS181101ab transits near local midnight.
NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
#: Seconds between two polls of the monitor before this change.
OLD_PERIOD = 2.0


class SteppedClock:
    """A wall clock (s) for the simulator that moves only when told to."""

    def __init__(self) -> None:
        self.t = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def step(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds


def count_polls(event_id: str) -> int:
    """``poll`` task runs of ``event_id`` on the current Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs, offset = [], 0
        while True:
            page = client.read_task_runs(task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_=f"poll-{event_id}")), limit=200, offset=offset)
            runs += page
            if len(page) < 200:
                return len(runs)
            offset += 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=float, default=300.0,
                    help="seconds of the facility's clock between monitor-events runs")
    ap.add_argument("--notices", type=Path, nargs="+", default=DEFAULT_NOTICES)
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness
    from sqlmodel import Session, select

    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.flows.monitor import monitor_events
    from tooflow.iers import configure_iers
    from tooflow.intake.store import store_notice
    from tooflow.models import EventMonitor, QueueRequestRow
    from tooflow.simulator.engine import Simulator
    from tooflow.simulator.server import SimulatorServer

    configure_iers(offline=True)
    clock = SteppedClock()
    sim = Simulator(speedup=1.0, weather_loss=0.1, seed=0, start=NIGHT, clock=clock)
    with SimulatorServer(sim) as server, tempfile.TemporaryDirectory() as tmp, \
            prefect_test_harness(server_startup_timeout=300):
        home = Path(tmp)
        (home / "tooflow.yaml").write_text(
            f"facilities:\n  simulator:\n    url: {server.url}\n"
            f"monitor:\n  mode: deployment\n  poll_every: {args.every:g}\n")
        os.environ["TOOFLOW_HOME"] = str(home)
        engine = get_engine(load_settings())
        create_schema(engine)
        submitted: list[dt.datetime] = []  # facility time of each notice's submission
        event_id = None
        for path in args.notices:
            notice_id = store_notice(path.read_bytes(), path.name, engine=engine).notice_id
            out = handle_notice(notice_id, plan_start=NIGHT)
            event_id = out.event_id or event_id
            if out.monitor == "scheduled":
                submitted.append(sim.now())
            clock.step(args.every)  # the next notice arrives a schedule period later
        if not submitted:
            raise SystemExit("no notice submitted plans")
        ticks, most = 0, int(4 * 86400 / args.every)  # the longest window is 48 h
        while ticks < most:
            monitor_events()
            ticks += 1
            with Session(engine) as session:
                monitor = session.exec(select(EventMonitor)).one()
            if monitor.status == "done":
                break
            clock.step(args.every)
        else:
            raise SystemExit(f"the monitor was still watching after {ticks} runs")
        end = sim.now()
        with Session(engine) as session:
            statuses = [q.status for q in session.exec(select(QueueRequestRow)).all()]
        polls = count_polls(event_id)
    # the monitor before: each notice's loop from its submission to the next one's
    # (hand-over), the last one's to the end of the work
    spans = [(b - a).total_seconds() for a, b in zip(submitted, [*submitted[1:], end],
                                                    strict=True)]
    before = sum(int(span // OLD_PERIOD) + 1 for span in spans)
    hours = (end - submitted[0]).total_seconds() / 3600
    print(f"{event_id}: {len(args.notices)} notice(s), {len(submitted)} submitted plans; "
          f"{len(statuses)} queue requests ({statuses.count('completed')} completed); "
          f"work finished {hours:.1f} h (facility clock) after the first submission")
    print(f"{'monitor':<52} {'monitor runs':>12} {'poll task runs':>15}")
    print(f"{'baseline: a monitor-event loop per notice, every 2 s':<52} {len(submitted):>12} "
          f"{before:>15}")
    print(f"{f'monitor-events every {args.every:g} s, one per event':<52} {ticks:>12} "
          f"{polls:>15}   (×{before / polls:.0f} fewer)")
    print(f"per-event monitor row: {monitor.polls} polls, drafted generation "
          f"{monitor.drafted_generation}")


if __name__ == "__main__":
    main()
