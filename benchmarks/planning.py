"""Benchmark of tooflow's network planner against a greedy baseline on real sky maps.

Run from the repository root::

    .venv/bin/python benchmarks/planning.py            # all cases, prints a table
    .venv/bin/python benchmarks/planning.py --markdown # same, as a markdown table
    .venv/bin/python benchmarks/planning.py --data DIR # maps found by name under DIR

The maps are looked up by file name under ``--data`` (default: the repository's
tests/data); a map not found there is skipped with a message. A checkout of the
public sources named in tests/data/skymaps/SOURCES.md gives the missing ones.

Each case (map × telescope set) runs in a fresh Python process so that the peak
memory (ru_maxrss) belongs to that case alone. The window is the event time + 24 h,
every telescope uses its default strategy (ZTF: g then r, 30 s each, ≥ 30 min
apart; DECam i 90 s; Gattini J 40.5 s; GROWTH-India r 600 s), airmass ≤ 2.5, Sun
below -12°, Moon ≥ 10°. The greedy baseline (highest-probability visible field
first, per telescope, no coordination) runs in the same process on the same
candidate fields, visibility and overheads, and is scored the same way: sky
probability of the union of completed fields.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"

#: (label, file name, event time or None to read gps_time from the map)
MAPS = [
    ("S190425z (LALInference)", "S190425z_2_LALInference.fits.gz", None),
    ("S190814bv (LALInference)", "S190814bv_5_LALInference.v1.fits.gz", None),
    ("MS181101ab (bayestar)", "bayestar.multiorder.fits", None),
    ("MS190227n (bayestar)", "MS190227n_bayestar.fits.gz", None),
    # bn180116026: day fraction .026 -> 00:37:26 UTC
    ("GRB180116A (Fermi GBM)", "glg_healpix_all_bn180116026.fit", "2018-01-16T00:37:26"),
]


def find_map(data: Path, name: str) -> Path | None:
    """The first file called ``name`` under ``data`` (sorted), or None."""
    return next(iter(sorted(data.rglob(name))), None)

SETS = {
    "ZTF": ["ZTF"],
    "ZTF+DECam+Gattini+GROWTH-India": ["ZTF", "DECam", "Gattini", "GROWTH-India"],
}


def run_case(path: str, when: str | None, names: list[str], time_limit: float) -> dict:
    """Plan one map for one telescope set; returns the measurements."""
    from astropy.time import Time
    from ligo.skymap.io import read_sky_map

    from tooflow.iers import configure_iers
    from tooflow.planning import plan_skymap

    configure_iers(offline=True)
    t_read = time.perf_counter()
    moc = read_sky_map(path, moc=True)
    t_read = time.perf_counter() - t_read
    if when:
        start = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
    else:
        start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    end = start + dt.timedelta(hours=24)
    tracemalloc.start()
    t0 = time.perf_counter()
    plan = plan_skymap(moc, names, start, end, time_limit=time_limit)
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    greedy = plan_skymap(moc, names, start, end, method="greedy")
    return {
        "tooflow": plan.objective, "greedy": greedy.objective, "bound": plan.bound,
        "gap": plan.gap, "status": plan.status, "solve": plan.solve_time, "wall": wall,
        "read": t_read, "traced_mb": peak / 2**20,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "exposures": len(plan.observations),
        "per_telescope": plan.per_telescope,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    p.add_argument("--time-limit", type=float, default=20.0, help="solver limit (s)")
    p.add_argument("--data", type=Path, default=DATA,
                   help="directory searched for the maps by name (default: tests/data)")
    p.add_argument("--one", nargs=3, metavar=("PATH", "WHEN", "NAMES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        path, when, names = args.one
        res = run_case(path, None if when == "-" else when, names.split(","), args.time_limit)
        print(json.dumps(res))
        return 0
    rows = []
    for label, name, when in MAPS:
        path = find_map(args.data, name)
        if path is None:
            print(f"skipping {label}: no {name} under {args.data}", file=sys.stderr)
            continue
        for set_name, names in SETS.items():
            out = subprocess.run(
                [sys.executable, __file__, "--time-limit", str(args.time_limit), "--one",
                 str(path), when or "-", ",".join(names)],
                capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{label} / {set_name} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            res = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((label, set_name, res))
            print(f"done: {label} / {set_name}", file=sys.stderr)
    head = ["map", "telescopes", "tooflow %", "greedy %", "bound %", "gap %", "status",
            "solve s", "plan wall s", "read s", "traced MB", "peak RSS MB"]
    lines = []
    for label, set_name, r in rows:
        lines.append([label, set_name, f"{100 * r['tooflow']:.2f}", f"{100 * r['greedy']:.2f}",
                      f"{100 * r['bound']:.2f}", f"{100 * r['gap']:.2f}", r["status"],
                      f"{r['solve']:.1f}", f"{r['wall']:.1f}", f"{r['read']:.1f}",
                      f"{r['traced_mb']:.0f}", f"{r['rss_mb']:.0f}"])
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for row in lines:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        for row in lines:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
