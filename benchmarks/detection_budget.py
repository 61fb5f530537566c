"""Detection planning against its budget: ≤ 30 s and ≤ 1.5 GB for four telescopes over 24 h.

Run from the repository root::

    .venv/bin/python benchmarks/detection_budget.py                       # all maps, a table
    .venv/bin/python benchmarks/detection_budget.py --save after.json     # keep the figures
    .venv/bin/python benchmarks/detection_budget.py --before before.json  # before/after ratios
    .venv/bin/python benchmarks/detection_budget.py --data DIR  # a data folder with MS181101ab too

Per map (looked up by file name under ``--data``, default tests/data; one not
found is skipped with a message): ``plan_skymap(..., objective="detection")``
for ZTF, DECam, Gattini and GROWTH-India over the map's event time + 24 h, default
strategies, solver time limit ``--time-limit`` (default 20 s, the programs'
default). Each map runs in a fresh process, so the peak RSS (``ru_maxrss``,
imports and map reading included) is that case's alone.

Columns: ``wall s`` (the ``plan_skymap`` call), ``CPU s`` (the process's user +
system CPU seconds during that call: on a machine shared with other jobs it is
what the planning itself costs, where wall time also counts the waiting),
``RSS MB``, the plan's detection probability, the bound (of the block model:
see docs/planning.md, *What the bound is a bound of*), the gap, the status, the
model's size and the load average (1 min) at the start and end of the case. The
budget ratios are wall and RSS over 30 s and 1.5 GB; with ``--before`` (a file
``--save`` wrote at another commit) the before/after ratios of wall, CPU, RSS and
objective, map by map.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TELESCOPES = ["ZTF", "DECam", "Gattini", "GROWTH-India"]
#: (label, file name)
MAPS = [
    ("S190425z", "S190425z_2_LALInference.fits.gz"),
    ("S190814bv", "S190814bv_5_LALInference.v1.fits.gz"),
    ("MS181101ab", "bayestar.multiorder.fits"),
    ("MS190227n", "MS190227n_bayestar.fits.gz"),
]
BUDGET_S = 30.0
BUDGET_MB = 1500.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_case(path: str, time_limit: float) -> dict:
    """Plan one map for detection in this process; returns the measurements."""
    from astropy.time import Time
    from ligo.skymap.io import read_sky_map

    from tooflow.iers import configure_iers
    from tooflow.planning import plan_skymap

    configure_iers(offline=True)
    load0 = os.getloadavg()[0]
    moc = read_sky_map(path, moc=True)
    start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    end = start + dt.timedelta(hours=24)
    c0, t0 = _cpu(), time.perf_counter()
    plan = plan_skymap(moc, TELESCOPES, start, end, time_limit=time_limit,
                       objective="detection")
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    model = next((n for n in plan.notes if n.startswith("model:")), "")
    nvar = re.search(r"(\d+) variables", model)
    return {"wall": wall, "cpu": cpu,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "objective": plan.objective, "bound": plan.bound, "gap": plan.gap,
            "status": plan.status, "solve": plan.solve_time,
            "variables": int(nvar.group(1)) if nvar else 0,
            "exposures": len(plan.observations), "load": [load0, os.getloadavg()[0]]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-limit", type=float, default=20.0, help="solver limit (s)")
    p.add_argument("--data", type=Path, default=DATA,
                   help="directory searched for the maps by name (default: tests/data)")
    p.add_argument("--map", action="append", help="only this map (label), repeatable")
    p.add_argument("--save", type=Path, help="write the figures to this JSON file")
    p.add_argument("--before", type=Path, help="figures --save wrote at another commit")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_case(args.one, args.time_limit)))
        return 0
    results: dict[str, dict] = {}
    for label, name in MAPS:
        if args.map and label not in args.map:
            continue
        path = next(iter(sorted(args.data.rglob(name))), None)
        if path is None:
            print(f"skipping {label}: no {name} under {args.data}", file=sys.stderr)
            continue
        out = subprocess.run([sys.executable, __file__, "--time-limit", str(args.time_limit),
                              "--one", str(path)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{label} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"done: {label}", file=sys.stderr)
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    before = json.loads(args.before.read_text()) if args.before else {}
    head = ["map", "wall s", "CPU s", "RSS MB", "detection %", "bound %", "gap %", "status",
            "variables", "load", "wall/30 s", "RSS/1.5 GB"]
    if before:
        head += ["wall ×", "CPU ×", "RSS ×", "objective ×"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for label, r in results.items():
        row = [label, f"{r['wall']:.1f}", f"{r['cpu']:.1f}", f"{r['rss_mb']:.0f}",
               f"{100 * r['objective']:.2f}", f"{100 * r['bound']:.2f}", f"{100 * r['gap']:.2f}",
               r["status"], str(r["variables"]), f"{r['load'][0]:.1f}–{r['load'][1]:.1f}",
               f"{r['wall'] / BUDGET_S:.2f}", f"{r['rss_mb'] / BUDGET_MB:.2f}"]
        if before:
            b = before.get(label)

            def ratio(key, b=b, r=r):
                return f"{r[key] / b[key]:.2f}" if b and b[key] else "–"
            row += [ratio("wall"), ratio("cpu"), ratio("rss_mb"), ratio("objective")]
        print("| " + " | ".join(row) + " |")
    print(f"(time limit {args.time_limit:g} s; budget {BUDGET_S:g} s, {BUDGET_MB:g} MB; "
          f"load: 1-min load average at the start and end of each case, 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
