"""Depth model benchmark: limiting magnitudes per second, vectorised against one call each.

Run: ``python benchmarks/depth.py [--n 1000000] [--scalar 2000]``

Rows:

1. **vectorised** — :func:`tooflow.telescopes.limiting_magnitude` on ``--n``
   exposures at once (random airmass 1–2.5, Moon illumination, altitude and
   separation, Sun altitude), ZTF r;
2. **one call each** (the baseline, measured in the same run) — the same model
   called once per exposure, as a loop would, on ``--scalar`` exposures;
3. **conditions** — :func:`tooflow.telescopes.conditions.observing_conditions`
   (astropy: airmass, Sun, Moon) for ZTF's 597 S190425z exposures, the inputs
   of the model, so the cost of the whole chain is visible;
4. **conditions, grid** — the same for ZTF's primary field grid (column) against
   a night of 96 five-minute times (row): one frame per time.

Times are wall-clock (``time.perf_counter``), best of three.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import time
from pathlib import Path

import numpy as np

from tooflow.telescopes import limiting_magnitude, load_telescope
from tooflow.telescopes.conditions import observing_conditions

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "telescopes"


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def inputs(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"airmass": rng.uniform(1.0, 2.5, n), "moon_illumination": rng.uniform(0, 1, n),
            "moon_altitude": rng.uniform(-30, 80, n), "moon_separation": rng.uniform(5, 180, n),
            "sun_altitude": rng.uniform(-40, -12, n)}


def s190425z() -> tuple[np.ndarray, np.ndarray, list[dt.datetime]]:
    fields = {}
    for line in (DATA / "ztf" / "ZTF_Fields.txt").read_text().splitlines():
        if line.strip() and not line.startswith("%"):
            cols = line.split()
            fields[int(cols[0])] = (float(cols[1]), float(cols[2]))
    path = DATA / "skyportal" / "observations" / "ZTF_GW190425_observation_data.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    ra, dec = np.array([fields[int(r["field_id"])] for r in rows]).T
    times = [dt.datetime.fromisoformat(r["obstime"]).replace(tzinfo=dt.UTC) for r in rows]
    return ra, dec, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--scalar", type=int, default=2000)
    args = parser.parse_args()
    ztf = load_telescope("ZTF")
    big = inputs(args.n)
    vec = best_of(lambda: limiting_magnitude(ztf, "r", 30.0, **big))
    small = inputs(args.scalar)
    rows = [dict(zip(small, v, strict=True)) for v in zip(*small.values(), strict=True)]
    one = best_of(lambda: [limiting_magnitude(ztf, "r", 30.0, **r) for r in rows])
    same = np.allclose(limiting_magnitude(ztf, "r", 30.0, **small),
                       [float(limiting_magnitude(ztf, "r", 30.0, **r)) for r in rows])
    ra, dec, times = s190425z()
    cond = best_of(lambda: observing_conditions(ztf, ra, dec, times))
    ids, fra, fdec = ztf.fields
    night = [dt.datetime(2019, 4, 25, 4, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=5 * i)
             for i in range(96)]
    grid = best_of(lambda: observing_conditions(ztf, fra[:, None], fdec[:, None], night), 1)
    n_grid = len(ids) * len(night)
    per_vec, per_one = vec / args.n, one / args.scalar
    print("| what | exposures | wall s | µs per exposure | per second |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| vectorised | {args.n} | {vec:.3f} | {1e6 * per_vec:.3f} | {1 / per_vec:,.0f} |")
    print(f"| one call each (baseline) | {args.scalar} | {one:.3f} | {1e6 * per_one:.1f} | "
          f"{1 / per_one:,.0f} |")
    print(f"| conditions (astropy), S190425z | {len(times)} | {cond:.3f} | "
          f"{1e6 * cond / len(times):.0f} | {len(times) / cond:,.0f} |")
    print(f"| conditions (astropy), {len(ids)} fields x {len(night)} times | {n_grid} | "
          f"{grid:.3f} | {1e6 * grid / n_grid:.1f} | {n_grid / grid:,.0f} |")
    print(f"\nvectorised / one call each: {per_one / per_vec:,.0f}x faster per exposure; "
          f"same values: {same}")


if __name__ == "__main__":
    main()
