"""Time from a notice's arrival to its first queue submission, stage by stage.

Run: ``python benchmarks/latency.py [--runs N] [--flow-runs N] [--notice FILE] [--program NAME]``

For each run a fresh SQLite database and a real simulator service on loopback
take the notice through the same plain functions the ``handle-notice`` tasks
call: store → parse → gate → notify → plan → submit. The table gives the median
(p50), p90 and max wall time of each stage over the runs, and the median
process CPU seconds (``time.process_time``: all threads of this process, the
in-process simulator answering the submissions included), which the machine's
load affects less than wall time; the load average is printed before and after.

First light (docs/planning.md) is measured beside today's path in the same run:

* the sky map (default MS181101ab, five telescopes, 48 h): arrival → the first
  block's requests queued (greedy incumbent), and arrival → the optimal plan
  queued after it (replacing what has not started), against today's arrival →
  the optimal plan queued (no first block);
* a single pointing (a Swift XRT position, ``--pointing FILE``): arrival → the
  pointing queued, against today's path (the optimiser on the circle's map).

The fresh-process rows (``--fresh-runs``) run the first-light path once in a new
Python process each, as ``tooflow ingest`` does and as Prefect's runner does for
every flow run of a served deployment (a spawned subprocess): the imports, then
arrival → first block (or pointing) queued with every cache cold.

The listener rows (``--listener-runs``) hand the notice to the listener's own
loop (:func:`tooflow.intake.listeners.loop.handle_message`: store, acknowledge,
then the trigger pool, whose threads run first light before the trigger,
:mod:`tooflow.stages.warm_first_light`) in this warm process: message handed to
the loop → first request stored in ``queue_request``, and the notice's arrival
(its ``received`` time) → the same. The fresh-process listener rows do it
once in a new process after :func:`~tooflow.stages.warm_first_light.warm_up`,
as a listener that has just started and warmed up in its background thread.

The flow rows take the map notice through the whole ``handle-notice`` flow on a
temporary Prefect server with a zero monitor budget, first light off (today) and
on: arrival → first request queued (the first ``queue_request`` row), and the
whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DEFAULT_NOTICE = ROOT / "tests" / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"
POINTING = ROOT / "tests" / "data" / "gcn" / "classic-json" / "SWIFT_XRT_POSITION" / "example.json"
#: Night of 2019-04-01 at Palomar: MS181101ab transits near local midnight.
NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
STAGES = ["store", "parse", "gate", "notify", "plan", "submit"]


def _settings(home: Path, url: str, first_light: bool, monitor: bool = False):
    """Fresh settings and database under ``home`` (simulator at ``url``)."""
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine

    text = (f"facilities:\n  simulator:\n    url: {url}\n"
            f"planning:\n  first_light: {str(first_light).lower()}\n")
    if monitor:
        text += "monitor:\n  max_wall_seconds: 0\n"
    (home / "tooflow.yaml").write_text(text)
    os.environ["TOOFLOW_HOME"] = str(home)
    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    return settings, engine


def one_run(payload: bytes, program: str, home: Path, url: str, *, first_light: bool,
            start: dt.datetime | None = NIGHT, source: str = "bench",
            cold: bool = False, optimal: bool = True) -> dict[str, float]:
    """One notice through the stages; times per stage and from arrival.

    Today (``first_light`` False): plan (optimal) → submit. First light: the
    fast plan → submit, then (unless it was a final single pointing, or
    ``optimal`` is False) the optimal plan → submit. ``start`` None: the window
    opens at the event time. ``cold``: the process-wide Sun/Moon cache is
    emptied first (as in a fresh process: a ``tooflow ingest``, a deployment's
    flow-run subprocess).
    """
    from sqlmodel import Session

    from tooflow.intake.store import store_notice
    from tooflow.models import Event
    from tooflow.stages.first_light import plan_first_light
    from tooflow.stages.gate import gate_notice
    from tooflow.stages.notify import notify_event
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.stages.plan import plan_for_program
    from tooflow.stages.submit import submit_plan
    from tooflow.telescopes import ephemeris

    settings, engine = _settings(home, url, first_light)
    if cold:
        ephemeris.clear_cache()
    times: dict[str, float] = {}
    t0 = t = time.perf_counter()
    c0 = c = time.process_time()

    def lap(name: str) -> None:
        nonlocal t, c
        now, cpu = time.perf_counter(), time.process_time()
        times[name], times[f"cpu {name}"] = now - t, cpu - c
        t, c = now, cpu

    stored = store_notice(payload, source, engine=engine)  # the file name tells GCN Classic
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
    if start is None:
        with Session(engine) as session:
            start = session.get(Event, out.event_pk).time
    final = False
    if first_light:
        first = plan_first_light(stored.notice_id, program, engine=engine, settings=settings,
                                 start=start)
        lap("plan first light")
        if first.plan_id is None:
            raise SystemExit("no first-light plan (nothing observable in the first block)")
        if not sum(submit_plan(first.plan_id, engine=engine,
                               settings=settings).submitted.values()):
            raise SystemExit("the first-light plan submitted nothing")
        lap("submit first light")
        times["first queued"] = time.perf_counter() - t0
        times["cpu first queued"] = time.process_time() - c0
        final = first.final or not optimal
    if not final:
        plan_id = plan_for_program(stored.notice_id, program, engine=engine,
                                   settings=settings, start=start)
        lap("plan")
        result = submit_plan(plan_id, engine=engine, settings=settings)
        lap("submit")
        if not first_light and not result.submitted:
            raise SystemExit(f"nothing submitted: {result}")
        times["optimal queued"] = time.perf_counter() - t0
        times["cpu optimal queued"] = time.process_time() - c0
        times.setdefault("first queued", times["optimal queued"])
        times.setdefault("cpu first queued", times["cpu optimal queued"])
    return times


def flow_run(payload: bytes, home: Path, url: str, first_light: bool) -> tuple[float, float]:
    """Arrival → first request queued, and the whole run, through ``handle-notice``."""
    from sqlmodel import Session, func, select

    from tooflow.flows.handle_notice import handle_notice
    from tooflow.intake.store import store_notice
    from tooflow.models import QueueRequestRow

    _settings_, engine = _settings(home, url, first_light, monitor=True)
    arrival = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    notice_id = store_notice(payload, "bench", engine=engine).notice_id
    summary = handle_notice(notice_id, plan_start=NIGHT)
    elapsed = time.perf_counter() - t0
    if not summary.submitted:
        raise SystemExit(f"the flow submitted nothing: {summary}")
    with Session(engine) as session:
        first = session.exec(select(func.min(QueueRequestRow.submitted))).one()
    first = first.replace(tzinfo=dt.UTC) if first.tzinfo is None else first
    return (first - arrival).total_seconds(), elapsed


class _Source:
    """The loop's source protocol for one message handed to it (the benchmark's broker)."""

    name = "bench"

    def commit(self, message) -> None:
        pass


def listener_run(payload: bytes, program: str, home: Path, url: str, *,
                 start: dt.datetime, topic: str) -> dict[str, float]:
    """One notice through the listener's loop, first light in front of the trigger.

    Times from the moment the message is handed to the loop's handler: stored and
    acknowledged, first request stored in ``queue_request``, trigger called; and
    from the notice's arrival (``received``) to its first request queued.
    """
    import threading

    from sqlmodel import Session, func, select

    from tooflow.intake.listeners.loop import Message, TriggerPool, handle_message
    from tooflow.models import Notice, QueueRequestRow
    from tooflow.stages.warm_first_light import first_light_then_trigger

    settings, engine = _settings(home, url, True)
    triggered = threading.Event()
    failed: list[str] = []

    def trigger(notice_id: int) -> None:  # stands in for run_deployment
        triggered.set()

    warm = first_light_then_trigger(trigger, engine=engine, settings=settings, start=start,
                                    on_warning=lambda n, why: failed.append(why))
    pool = TriggerPool(warm, 4, lambda n, exc, where: failed.append(str(exc)))
    times: dict[str, float] = {}
    handed = dt.datetime.now(dt.UTC)
    t0, c0 = time.perf_counter(), time.process_time()
    stored = handle_message(_Source(), Message(payload, topic), engine=engine,
                            trigger=pool.submit)
    times["stored + acknowledged"] = time.perf_counter() - t0
    times["cpu stored + acknowledged"] = time.process_time() - c0
    if not triggered.wait(600):
        raise SystemExit("the listener's trigger was not called")
    times["triggered"] = time.perf_counter() - t0
    times["cpu triggered"] = time.process_time() - c0
    pool.close()
    if failed:
        raise SystemExit(f"first light in the listener failed: {failed}")
    with Session(engine) as session:
        first = session.exec(select(func.min(QueueRequestRow.submitted))).one()
        notice = session.get(Notice, stored.notice_id)
    if first is None:
        raise SystemExit(f"the listener queued nothing: {notice.first_light}")
    first = first.replace(tzinfo=dt.UTC) if first.tzinfo is None else first
    received = notice.received.replace(tzinfo=dt.UTC) if notice.received.tzinfo is None \
        else notice.received
    times["first queued"] = (first - handed).total_seconds()
    times["arrival → first queued"] = (first - received).total_seconds()
    times["cpu first queued"] = times["cpu arrival → first queued"] = times["cpu triggered"]
    times["warm plan"] = (notice.first_light or {}).get("seconds") or 0.0
    return times


def _listener_notice(kind: str) -> tuple[bytes, str, dt.datetime, str]:
    """Payload, program, window start and topic of the listener rows."""
    if kind == "map":
        return DEFAULT_NOTICE.read_bytes(), "GW kilonova search", NIGHT, "igwn.gwalert"
    from tooflow.parsers import parse_notice

    topic = "gcn.classic.json.SWIFT_XRT_POSITION"
    payload = POINTING.read_bytes()
    # the window opens when the notice arrives: at the event's time
    return payload, "GRB afterglow", parse_notice(payload, source=f"bench:{topic}").time, topic


#: What the first-light path imports before its first stage runs.
FIRST_LIGHT_IMPORTS = ("tooflow.intake.store", "tooflow.stages.parse", "tooflow.stages.gate",
                       "tooflow.stages.notify", "tooflow.stages.first_light",
                       "tooflow.stages.submit", "tooflow.planning.first_light")


def fresh_child(kind: str, url: str, home: Path) -> None:
    """In a new process: import the first-light path, then one run to the first queued.

    ``listener-map``/``listener-pointing``: the listener's warm-up (as its
    background thread at start), then one notice through its loop.
    """
    import importlib
    import json

    if kind.startswith("listener-"):
        from tooflow.config import load_settings
        from tooflow.iers import configure_iers
        from tooflow.stages.warm_first_light import warm_up

        configure_iers(offline=True)
        t0, c0 = time.perf_counter(), time.process_time()
        os.environ["TOOFLOW_HOME"] = str(home)
        warm_up(load_settings())
        times = {"warm-up": time.perf_counter() - t0, "cpu warm-up": time.process_time() - c0}
        payload, program, start, topic = _listener_notice(kind.split("-", 1)[1])
        times.update(listener_run(payload, program, home / "run", url, start=start,
                                  topic=topic))
        print("FRESH " + json.dumps(times))
        return
    t0, c0 = time.perf_counter(), time.process_time()
    for module in FIRST_LIGHT_IMPORTS:
        importlib.import_module(module)
    from tooflow.iers import configure_iers

    configure_iers(offline=True)
    times = {"imports": time.perf_counter() - t0, "cpu imports": time.process_time() - c0}
    if kind == "map":
        run = one_run(DEFAULT_NOTICE.read_bytes(), "GW kilonova search", home, url,
                      first_light=True, optimal=False)
    else:
        run = one_run(POINTING.read_bytes(), "GRB afterglow", home, url, first_light=True,
                      start=None, source=str(POINTING))
    times.update(run)
    times["process start → first queued"] = time.perf_counter() - t0
    times["cpu process start → first queued"] = time.process_time() - c0
    print("FRESH " + json.dumps(times))


def fresh_run(kind: str, url: str, home: Path) -> dict[str, float]:
    """:func:`fresh_child` in a new interpreter; its times."""
    import json
    import subprocess

    if kind.startswith("listener-"):
        (home / "run").mkdir()
    out = subprocess.run([sys.executable, __file__, "--fresh-child", kind, url, str(home)],
                         capture_output=True, text=True, timeout=900, check=True,
                         env={**os.environ, "TOOFLOW_HOME": str(home)})
    line = next(x for x in out.stdout.splitlines() if x.startswith("FRESH "))
    return json.loads(line[len("FRESH "):])


def _p90(values: list[float]) -> float:
    """90th percentile (linear interpolation between the sorted values)."""
    v = sorted(values)
    x = 0.9 * (len(v) - 1)
    i = int(x)
    return v[i] if i + 1 >= len(v) else v[i] + (x - i) * (v[i + 1] - v[i])


def _row(label: str, values: list[float], cpu: list[float] | None = None) -> str:
    line = (f"{label:<48} {statistics.median(values):>8.2f} {_p90(values):>8.2f} "
            f"{max(values):>8.2f}")
    return line + (f" {statistics.median(cpu):>8.2f}" if cpu else "")


def _stage(label: str, runs: list[dict[str, float]], key: str) -> str:
    return _row(label, [r[key] for r in runs], [r[f"cpu {key}"] for r in runs])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--flow-runs", type=int, default=1,
                    help="runs of the whole handle-notice flow, first light off and on")
    ap.add_argument("--notice", type=Path, default=DEFAULT_NOTICE)
    ap.add_argument("--program", default="GW kilonova search")
    ap.add_argument("--pointing", type=Path, default=POINTING)
    ap.add_argument("--pointing-program", default="GRB afterglow")
    ap.add_argument("--fresh-runs", type=int, default=2,
                    help="runs of the first-light path in a new process each, map and pointing")
    ap.add_argument("--listener-runs", type=int, default=3,
                    help="notices through the listener's loop, warm; map and pointing each")
    ap.add_argument("--fresh-listener-runs", type=int, default=1,
                    help="the same in a new process after the listener's warm-up")
    ap.add_argument("--fresh-child", nargs=3, metavar=("KIND", "URL", "HOME"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if args.fresh_child:
        kind, url, home = args.fresh_child
        fresh_child(kind, url, Path(home))
        return
    from tooflow.iers import configure_iers
    from tooflow.simulator.server import SimulatorServer

    configure_iers(offline=True)
    payload = args.notice.read_bytes()
    pointing = args.pointing.read_bytes()
    today, fast, p_today, p_fast, flows = [], [], [], [], {False: [], True: []}
    cold, p_cold = [], []
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as server, \
            tempfile.TemporaryDirectory() as tmp:
        n = 0

        def home() -> Path:
            nonlocal n
            n += 1
            path = Path(tmp) / f"run{n}"
            path.mkdir()
            return path

        load_before = _load()
        one_run(payload, args.program, home(), server.url, first_light=True)  # warm-up
        for _ in range(args.runs):
            today.append(one_run(payload, args.program, home(), server.url,
                                 first_light=False))
            fast.append(one_run(payload, args.program, home(), server.url, first_light=True))
            p_today.append(one_run(pointing, args.pointing_program, home(), server.url,
                                   first_light=False, start=None, source=str(args.pointing)))
            p_fast.append(one_run(pointing, args.pointing_program, home(), server.url,
                                  first_light=True, start=None, source=str(args.pointing)))
            cold.append(one_run(payload, args.program, home(), server.url, first_light=True,
                                cold=True, optimal=False))
            p_cold.append(one_run(pointing, args.pointing_program, home(), server.url,
                                  first_light=True, start=None, source=str(args.pointing),
                                  cold=True))
        print(f"{args.notice.name} ({args.program!r}) and {args.pointing.name} "
              f"({args.pointing_program!r}), {args.runs} runs after one warm-up run; seconds")
        print(f"before: {load_before}; after: {_load()}")
        print(f"{'':<48} {'p50':>8} {'p90':>8} {'max':>8} {'CPU p50':>8}")
        print(f"sky map: {args.notice.name}")
        for stage in [*STAGES[:-2], "plan", "submit"]:
            print(_stage(f"  today: {stage}", today, stage))
        print(_stage("  today: arrival → optimal plan queued", today, "optimal queued"))
        for stage in ("plan first light", "submit first light"):
            print(_stage(f"  first light: {stage}", fast, stage))
        print(_stage("  first light: arrival → first block queued", fast, "first queued"))
        print(_row("  first light: optimal plan (plan + submit)",
                   [r["plan"] + r["submit"] for r in fast],
                   [r["cpu plan"] + r["cpu submit"] for r in fast]))
        print(_stage("  first light: arrival → optimal plan queued", fast, "optimal queued"))
        print(_stage("  cold Sun/Moon cache: plan first light", cold, "plan first light"))
        print(_stage("  cold Sun/Moon cache: arrival → first block queued", cold,
                     "first queued"))
        print(f"single pointing: {args.pointing.name}")
        print(_stage("  today: plan (optimiser)", p_today, "plan"))
        print(_stage("  today: arrival → first request queued", p_today, "first queued"))
        for stage in STAGES[:-2]:
            print(_stage(f"  first light: {stage}", p_fast, stage))
        print(_stage("  first light: plan (single pointing)", p_fast, "plan first light"))
        print(_stage("  first light: submit (single pointing)", p_fast, "submit first light"))
        print(_stage("  first light: arrival → pointing queued", p_fast, "first queued"))
        print(_stage("  cold Sun/Moon cache: plan (single pointing)", p_cold,
                     "plan first light"))
        print(_stage("  cold Sun/Moon cache: arrival → pointing queued", p_cold,
                     "first queued"))
        sys.stdout.flush()
        listener = {"map": [], "pointing": []}
        for _ in range(args.listener_runs):
            for kind in listener:
                payload_, program_, start_, topic_ = _listener_notice(kind)
                listener[kind].append(listener_run(payload_, program_, home(), server.url,
                                                   start=start_, topic=topic_))
        for kind, runs in listener.items():
            if not runs:
                continue
            print(f"listener, warm process ({kind}), {len(runs)} run(s):")
            print(_stage("  message handed → stored + acknowledged", runs,
                         "stored + acknowledged"))
            print(_row("  first light in the listener (parse … submit)",
                       [r["warm plan"] for r in runs]))
            print(_stage("  message handed → first request queued", runs, "first queued"))
            print(_stage("  arrival → first request queued", runs, "arrival → first queued"))
            print(_stage("  message handed → flow triggered", runs, "triggered"))
        sys.stdout.flush()
        fresh_listener = {"listener-map": [], "listener-pointing": []}
        for _ in range(args.fresh_listener_runs):
            for kind in fresh_listener:
                fresh_listener[kind].append(fresh_run(kind, server.url, home()))
        for kind, runs in fresh_listener.items():
            if not runs:
                continue
            print(f"listener, new process after its warm-up ({kind[9:]}), {len(runs)} run(s):")
            print(_stage("  warm-up (background thread at start)", runs, "warm-up"))
            print(_stage("  message handed → first request queued", runs, "first queued"))
            print(_stage("  arrival → first request queued", runs, "arrival → first queued"))
        sys.stdout.flush()
        fresh = {"map": [], "pointing": []}
        for _ in range(args.fresh_runs):
            for kind in fresh:
                fresh[kind].append(fresh_run(kind, server.url, home()))
        for kind, runs in fresh.items():
            if not runs:
                continue
            print(f"fresh process ({kind}), {len(runs)} run(s):")
            for key in ("imports", "parse", "plan first light", "submit first light",
                        "first queued", "process start → first queued"):
                label = "arrival → first queued" if key == "first queued" else key
                print(_stage(f"  {label}", runs, key))
        sys.stdout.flush()
        if args.flow_runs:
            from prefect.testing.utilities import prefect_test_harness

            with prefect_test_harness(server_startup_timeout=120):
                for _ in range(args.flow_runs):
                    for on in (False, True):
                        flows[on].append(flow_run(payload, home(), server.url, on))
    for on in (False, True):
        if flows[on]:
            label = "first light" if on else "today"
            print(_row(f"flow ({label}): arrival → first request queued",
                       [f[0] for f in flows[on]]))
            print(_row(f"flow ({label}): whole handle-notice run", [f[1] for f in flows[on]]))
    med = statistics.median
    print(f"ratios (p50): first block / today {med(r['first queued'] for r in fast) / med(r['optimal queued'] for r in today):.2f}; "  # noqa: E501
          f"single pointing / today {med(r['first queued'] for r in p_fast) / med(r['first queued'] for r in p_today):.2f}")  # noqa: E501


if __name__ == "__main__":
    main()
