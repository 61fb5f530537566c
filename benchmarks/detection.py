"""Detection versus coverage: how many counterparts does each plan find, on a population?

Run from the repository root::

    .venv/bin/python benchmarks/detection.py --make 30 --maps /tmp/bns-maps   # simulate maps once
    .venv/bin/python benchmarks/detection.py --maps /tmp/bns-maps [--markdown] [--plot out.png]

The population: BNS events simulated with ligo.skymap's own tools (no download):
``bayestar-sample-model-psd`` (aLIGO zero-detuned high power H1/L1, AdVirgo),
``bayestar-inject`` (1.33-1.4 M☉ neutron stars, uniform in comoving volume to
400 Mpc), ``bayestar-realize-coincs`` (H1 L1 V1, Gaussian noise, network SNR ≥ 12),
``bayestar-localize-coincs`` → one BAYESTAR multi-order map per detected event;
``--make N`` stops after N maps. The real test maps with distance layers
(S190814bv, MS220722v) are added with ``--with-test-maps``.

Per event, with the same telescopes, window (merger + ``--hours``) and solver
time limit:

* ``coverage``: tooflow's optimiser maximising the probability covered (default
  strategies and exposure times);
* ``detection``: the optimiser maximising the probability of detection under the
  counterpart model (AT2017gfo-like kilonova, spread 1 mag), choosing exposure times;
* ``greedy``: tooflow's greedy baseline (most probable visible field next, default
  exposures), on the coverage candidates.

Counterparts: ``--draws`` per event from the map's own 3D posterior (a sky pixel by
probability, a distance from ligo.skymap's conditional ansatz there, a brightness
offset from the model's spread), the same draws for every plan. A counterpart is
detected by a plan when one of its exposures covers it (the real footprint) and it is
at least as bright as that exposure's limiting magnitude (the catalogue's depth model,
the one the simulator observes with: airmass, Moon, twilight from a full astropy
AltAz transform at the exposure's middle) at that time. The table gives, per method,
the fraction of all drawn counterparts detected, the number of events where
``detection`` detects fewer than ``coverage`` by more than the binomial noise of the
draws (2σ), and the planning time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
TEST_MAPS = ["skymaps/S190814bv_5_LALInference.v1.fits.gz",
             "skymaps/MS220722v_bayestar.multiorder.fits"]
TELESCOPES = ["ZTF", "DECam", "Gattini", "GROWTH-India"]


def make_population(out: Path, n: int, seed: int = 1) -> None:
    """Simulate BNS events and localize them with BAYESTAR (ligo.skymap's tools)."""
    out.mkdir(parents=True, exist_ok=True)
    binp = Path(sys.executable).parent

    def run(*args: str) -> None:
        print("$", " ".join(args), flush=True)
        subprocess.run([str(binp / args[0]), *args[1:]], check=True, cwd=out)

    if not (out / "psd.xml").exists():
        run("bayestar-sample-model-psd", "-o", "psd.xml", "--H1=aLIGOZeroDetHighPower",
            "--L1=aLIGOZeroDetHighPower", "--V1=AdvVirgo")
    if not (out / "inj.xml").exists():
        (out / "samples.csv").write_text("mass1,mass2,spin1z,spin2z\n1.4,1.35,0.0,0.0\n"
                                         "1.33,1.3,0.0,0.0\n")
        run("bayestar-inject", "--seed", str(seed), "--distribution-samples", "samples.csv",
            "--reference-psd", "psd.xml", "--nsamples", str(10 * n), "--max-distance", "400",
            "-o", "inj.xml")
    if not (out / "coinc.xml").exists() or (out / "coinc.xml").stat().st_size == 0:
        run("bayestar-realize-coincs", "--seed", str(seed), "-o", "coinc.xml", "inj.xml",
            "--reference-psd", "psd.xml", "--detector", "H1", "L1", "V1",
            "--measurement-error", "gaussian-noise", "--net-snr-threshold", "12")
    proc = subprocess.Popen([str(binp / "bayestar-localize-coincs"), "coinc.xml", "-o", "maps"],
                            cwd=out)
    try:
        while proc.poll() is None:
            if len(list((out / "maps").glob("*.fits"))) >= n:
                proc.terminate()
                break
            time.sleep(5)
    finally:
        proc.wait()


def draw_counterparts(moc, n: int, model, rng: np.random.Generator) -> dict:
    """``n`` counterparts from the map's 3D posterior: position, distance, offset."""
    import healpy as hp
    from ligo.skymap.moc import uniq2nest

    from tooflow.counterparts import sample_distance

    order, nest = uniq2nest(np.asarray(moc["UNIQ"], np.int64))
    area = 4 * np.pi / (12 * 4.0 ** order)
    p = np.asarray(moc["PROBDENSITY"]) * area
    k = rng.choice(len(p), size=n, p=p / p.sum())
    ra, dec, dist = np.empty(n), np.empty(n), np.empty(n)
    for j, i in enumerate(k):
        # a uniform point inside the pixel: pick a random child at order 29 - cheap
        # approximation at order + 8
        sub = 8
        child = (int(nest[i]) << (2 * sub)) + int(rng.integers(0, 4 ** sub))
        ra[j], dec[j] = hp.pix2ang(1 << (int(order[i]) + sub), child, nest=True, lonlat=True)
        dist[j] = sample_distance(float(moc["DISTMU"][i]), float(moc["DISTSIGMA"][i]), rng)
    offset = rng.normal(0.0, model.spread, n) if model.spread else np.zeros(n)
    return {"ra": ra, "dec": dec, "distance": dist, "offset": offset}


def detected(observations, src: dict, model, t_merger: float) -> np.ndarray:
    """Which counterparts at least one exposure detects (footprint, depth, time)."""
    from tooflow.planning import coverage as cv
    from tooflow.telescopes import limiting_magnitude, load_telescope
    from tooflow.telescopes.conditions import observing_conditions

    hit = np.zeros(len(src["ra"]), bool)
    by_tel: dict = {}
    for o in observations:
        by_tel.setdefault(o.telescope, []).append(o)
    for name, obs in by_tel.items():
        tel = load_telescope(name)
        ra = np.array([o.ra for o in obs])
        dec = np.array([o.dec for o in obs])
        fidx, pidx = cv.points_in_fields(tel.footprint, ra, dec, src["ra"], src["dec"])
        if not len(fidx):
            continue
        used = np.unique(fidx)
        mids = [obs[i].start_time + dt.timedelta(seconds=obs[i].exposure_time / 2) for i in used]
        cond = observing_conditions(tel, ra[used], dec[used], mids)
        mlim = {}
        for j, i in enumerate(used):
            o = obs[i]
            mlim[i] = float(limiting_magnitude(
                tel, o.filter, o.exposure_time, cond["airmass"][j],
                moon_illumination=cond["moon_illumination"][j],
                moon_separation=cond["moon_separation"][j],
                moon_altitude=cond["moon_altitude"][j], sun_altitude=cond["sun_altitude"][j]))
        for f, p in zip(fidx, pidx, strict=True):
            o = obs[f]
            days = ((mids[list(used).index(f)]).timestamp() - t_merger) / 86400.0
            mag = float(model.apparent_magnitude(o.filter, days, src["distance"][p])) \
                + src["offset"][p]
            if np.isfinite(mlim[f]) and mag <= mlim[f]:
                hit[p] = True
    return hit


def run_event(path: Path, args, shift_days: float = 0.0) -> dict:
    """Plan one event three ways and score each on the same drawn counterparts.

    ``shift_days`` moves the merger time (the same localization seen at another
    time of year and Moon phase)."""
    from astropy.time import Time
    from ligo.skymap.io import read_sky_map

    from tooflow.counterparts import kilonova
    from tooflow.iers import configure_iers
    from tooflow.planning import plan_skymap
    from tooflow.planning.plan import solve_problem

    configure_iers(offline=True)
    moc = read_sky_map(str(path), moc=True)
    moc.meta["gps_time"] = float(moc.meta["gps_time"]) + 86400.0 * shift_days
    t_merger = float(Time(moc.meta["gps_time"], format="gps").unix)
    start = dt.datetime.fromtimestamp(t_merger, dt.UTC)
    end = start + dt.timedelta(hours=args.hours)
    model = kilonova(spread=args.spread)
    name = path.name + (f"@{shift_days:+g}d" if shift_days else "")
    rng = np.random.default_rng(sum(map(ord, name)))
    src = draw_counterparts(moc, args.draws, model, rng)
    out = {"event": name, "distmean": float(moc.meta.get("distmean", np.nan))}
    t0 = time.perf_counter()
    cov, problem = plan_skymap(moc, args.telescopes, start, end, time_limit=args.time_limit,
                               objective="coverage", counterpart=model, return_problem=True)
    out["t_coverage"] = time.perf_counter() - t0
    greedy = solve_problem(problem, method="greedy")
    t0 = time.perf_counter()
    det = plan_skymap(moc, args.telescopes, start, end, time_limit=args.time_limit,
                      objective="detection", counterpart=model)
    out["t_detection"] = time.perf_counter() - t0
    for name, plan in (("coverage", cov), ("detection", det), ("greedy", greedy)):
        hits = detected(plan.observations, src, model, t_merger)
        out[name] = {"found": int(hits.sum()), "covered": float(plan.covered or plan.objective),
                     "model_detection": float(plan.detected or 0.0),
                     "exposures": len(plan.observations), "status": plan.status,
                     "gap": float(plan.gap) if np.isfinite(plan.gap) else None}
    out["draws"] = args.draws
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", type=Path, required=True, help="directory of BAYESTAR maps")
    p.add_argument("--make", type=int, default=0, help="simulate this many maps first")
    p.add_argument("--with-test-maps", action="store_true")
    p.add_argument("--map", type=Path, action="append", default=[],
                   help="a map to add to the population (repeatable)")
    p.add_argument("--shifts", type=lambda s: [float(x) for x in s.split(",")], default=[0.0],
                   help="merger time shifts (days), each map planned once per shift: the "
                        "same localization at other times of year and Moon phases")
    p.add_argument("--limit", type=int, default=0, help="at most this many events")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="run only events I, I+N, I+2N... (parallel processes sharing "
                        "--results; the report reads every result there)")
    p.add_argument("--report-only", action="store_true",
                   help="print the table from --results without planning")
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--spread", type=float, default=1.0)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--time-limit", type=float, default=20.0)
    p.add_argument("--telescopes", type=lambda s: s.split(","), default=TELESCOPES)
    p.add_argument("--results", type=Path, help="JSON lines: append each event's result")
    p.add_argument("--plot", type=Path, help="per-event scatter plot (PNG)")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    if args.make:
        make_population(args.maps, args.make)
    paths = sorted((args.maps / "maps").glob("*.fits")) or sorted(args.maps.glob("*.fits"))
    if args.limit:
        paths = paths[: args.limit]
    if args.with_test_maps:
        paths += [DATA / m for m in TEST_MAPS]
    paths += args.map
    events = [(path, shift) for path in paths for shift in args.shifts]
    done = {}
    if args.results and args.results.exists():
        for line in args.results.read_text().splitlines():
            r = json.loads(line)
            done[r["event"]] = r
    def key(path, shift):
        return path.name + (f"@{shift:+g}d" if shift else "")

    if args.report_only:
        report([done[key(*e)] for e in events if key(*e) in done], args)
        return 0
    index, count = (int(x) for x in args.shard.split("/"))
    results = []
    for j, (path, shift) in enumerate(events):
        if key(path, shift) in done:
            results.append(done[key(path, shift)])
            continue
        if j % count != index:
            continue
        r = run_event(path, args, shift)
        results.append(r)
        print(json.dumps(r), flush=True)
        if args.results:
            with args.results.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
    report(results, args)
    return 0


def report(results: list[dict], args) -> None:
    """Table of the fraction detected per method; per-event scatter plot."""
    methods = ["coverage", "detection", "greedy"]
    n = sum(r["draws"] for r in results)
    found = {m: sum(r[m]["found"] for r in results) for m in methods}
    worse = []
    for r in results:
        a, b, k = r["coverage"]["found"], r["detection"]["found"], r["draws"]
        pa, pb = a / k, b / k
        noise = 2 * np.sqrt(max(pa * (1 - pa) + pb * (1 - pb), 1.0 / k) / k)
        if pb < pa - noise:
            worse.append((r["event"], a, b))
    sep = " | " if args.markdown else "  "
    head = ["method", "detected (fraction of counterparts)", "vs coverage",
            "mean P(covered)", "mean P(detect) model", "mean planning time (s)"]
    rows = []
    for m in methods:
        t = np.mean([r["t_detection" if m == "detection" else "t_coverage"] for r in results])
        rows.append([m, f"{found[m]}/{n} = {found[m] / n:.3f}",
                     f"{found[m] / max(found['coverage'], 1):.2f}×",
                     f"{np.mean([r[m]['covered'] for r in results]):.3f}",
                     f"{np.mean([r[m]['model_detection'] for r in results]):.3f}",
                     f"{t:.1f}" if m != "greedy" else "(coverage's problem)"])
    print(f"\n{len(results)} events, {args.draws} counterparts each, telescopes "
          f"{', '.join(args.telescopes)}, window {args.hours:g} h, "
          f"time limit {args.time_limit:g} s")
    if args.markdown:
        print("| " + sep.join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + sep.join(row) + " |")
    else:
        print(sep.join(head))
        for row in rows:
            print(sep.join(row))
    print(f"events where detection finds fewer than coverage beyond 2σ noise: {len(worse)}"
          + ("" if not worse else " — " + "; ".join(f"{e}: {a} vs {b}" for e, a, b in worse)))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 5))
        x = [r["coverage"]["found"] / r["draws"] for r in results]
        y = [r["detection"]["found"] / r["draws"] for r in results]
        d = [r["distmean"] for r in results]
        sc = ax.scatter(x, y, c=d, cmap="viridis")
        fig.colorbar(sc, label="distance (Mpc)")
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.set_xlabel("fraction detected, coverage objective")
        ax.set_ylabel("fraction detected, detection objective")
        ax.set_title(f"{len(results)} events")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
