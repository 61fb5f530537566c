"""Compare tooflow with gwemopt (PyPI 0.4.2) for ZTF on real maps, scored the same way.

gwemopt needs its own virtual environment (its pins clash with tooflow's)::

    uv venv -p 3.11 /tmp/gwemopt-venv
    VIRTUAL_ENV=/tmp/gwemopt-venv uv pip install gwemopt==0.4.2
    .venv/bin/python benchmarks/gwemopt_compare.py --gwemopt-python /tmp/gwemopt-venv/bin/python

gwemopt runs as a new user would (the command the issue quotes: ZTF primary grid,
greedy scheduler, power-law time allocation, filters g,r with 30 s exposures,
airmass 2.5) with IERS auto-download off, over the event time + 24 h. Its
schedule is then re-scored with tooflow's coverage code (same 64-quadrant ZTF
footprint, same map rasterisation), and compared with tooflow planning the same
window for ZTF with the visits gwemopt actually scheduled (one r visit per field,
30 s). gwemopt's own "cumulative probability" is printed too: it counts about
67 deg² per ZTF field (inclusive HEALPix pixels of a 6.86° square) instead of 47.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
#: (label, file name looked up under --data)
MAPS = [
    ("S190425z", "S190425z_2_LALInference.fits.gz"),
    ("S190814bv", "S190814bv_5_LALInference.v1.fits.gz"),
    ("MS190227n", "MS190227n_bayestar.fits.gz"),
]

WRAPPER = """
import sys
from astropy.utils import iers
iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = "warn"
import gwemopt.run
gwemopt.run.run(sys.argv[1:])
"""


def run_gwemopt(python: str, path: Path, start: dt.datetime, end: dt.datetime, out: Path):
    """Run gwemopt for ZTF; returns (schedule rows, its cumulative probability, wall s)."""
    argv = ["-t", "ZTF", "--doTiles", "--tilesType", "moc", "--doSchedule",
            "--scheduleType", "greedy", "--timeallocationType", "powerlaw", "--doUsePrimary",
            "--doAlternatingFilters", "--filters", "g,r", "--exposuretimes", "30,30",
            "--start_time", start.strftime("%Y-%m-%dT%H:%M:%S"),
            "--end_time", end.strftime("%Y-%m-%dT%H:%M:%S"), "-e", str(path), "-o", str(out)]
    t = time.perf_counter()
    res = subprocess.run([python, "-c", WRAPPER, *argv], capture_output=True, text=True,
                         check=False)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-1500:])
    cum = re.findall(r"Cumultative probability: ([0-9.]+)", res.stdout)
    sched = np.loadtxt(out / "schedule_ZTF.dat", usecols=(0, 5), ndmin=2, dtype=str)
    return sched, float(cum[0]) if cum else float("nan"), wall


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gwemopt-python", required=True, help="python of gwemopt's venv")
    p.add_argument("--data", type=Path, default=DATA,
                   help="directory searched for the maps by name (default: tests/data)")
    args = p.parse_args(argv)

    from astropy.time import Time
    from ligo.skymap.io import read_sky_map

    from tooflow.iers import configure_iers
    from tooflow.planning import Strategy, load_telescope, plan_skymap
    from tooflow.planning import coverage as cv

    configure_iers(offline=True)
    ztf = load_telescope("ZTF")
    ids, ra, dec = ztf.fields
    print("| map | gwemopt fields | gwemopt own % | gwemopt rescored % | tooflow r-only % "
          "| tooflow g+r % | gwemopt s | tooflow s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, name in MAPS:
        path = next(iter(sorted(args.data.rglob(name))), None)
        if path is None:
            print(f"| {label} | no {name} under {args.data} |||||||")
            continue
        moc = read_sky_map(str(path), moc=True)
        start = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
        start = start.replace(microsecond=0)
        end = start + dt.timedelta(hours=24)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                sched, own, gw_wall = run_gwemopt(args.gwemopt_python, path, start, end,
                                                  Path(tmp))
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"| {label} | gwemopt failed: {str(exc).splitlines()[-1]} |||||||")
                continue
        fields = np.unique(sched[:, 0].astype(int))
        grid = cv.probability_grid(moc)
        sel = np.isin(ids, fields)
        _, ipix = cv.footprint_pixels(ztf.footprint, ra[sel], dec[sel], grid.order)
        rescored = float(grid.prob[np.unique(ipix)].sum())
        t = time.perf_counter()
        r_only = plan_skymap(moc, [ztf], start, end, {"ZTF": Strategy(filters=["r"])})
        tf_wall = time.perf_counter() - t
        gr = plan_skymap(moc, [ztf], start, end)
        print(f"| {label} | {len(fields)} | {100 * own:.2f} | {100 * rescored:.2f} | "
              f"{100 * r_only.objective:.2f} | {100 * gr.objective:.2f} | {gw_wall:.0f} | "
              f"{tf_wall:.0f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
