"""Detection versus coverage: how many counterparts does each plan find, on a population?

Run from the repository root (the command docs/planning.md quotes)::

    # 1. the population: BAYESTAR maps, fixed seed (~15 min on a loaded machine)
    WORK=$(mktemp -d)  # scratch: maps, venvs, results (not in the repository)
    .venv/bin/python benchmarks/detection.py --maps $WORK/maps --make 30 --make-only
    # 2. gwemopt and m4opt in their own environments (their pins clash with tooflow's)
    uv venv -p 3.11 $WORK/gwemopt-venv
    VIRTUAL_ENV=$WORK/gwemopt-venv uv pip install gwemopt==0.4.2
    uv venv -p 3.11 $WORK/m4opt-venv
    VIRTUAL_ENV=$WORK/m4opt-venv uv pip install m4opt "typer<0.17"  # its CLI imports
                                          # typer.main.get_click_type, gone in typer 0.17
    # 3. plan, observe and score every event (shards in parallel share --results)
    nice -n 10 .venv/bin/python benchmarks/detection.py --maps $WORK/maps --limit 30 \\
        --gwemopt-python $WORK/gwemopt-venv/bin/python \\
        --m4opt-python $WORK/m4opt-venv/bin/python \\
        --results $WORK/detection.jsonl --shard 0/2 --time-limit 10
    .venv/bin/python benchmarks/detection.py --maps $WORK/maps --limit 30 \\
        --results $WORK/detection.jsonl --report-only --markdown --plot out.png

The population: BNS and NSBH mergers simulated with ligo.skymap's own tools (no
download): ``bayestar-sample-model-psd`` (aLIGO zero-detuned high power H1/L1,
AdVirgo), ``bayestar-inject --distribution-samples`` (1.4+1.35 and 1.33+1.3 M☉
neutron stars, a 5 M☉ black hole with spin 0.5 and a 1.4 M☉ neutron star; uniform
in comoving volume to 400 Mpc; the horizon is computed for these three rows only,
where the preset distributions' 10⁴-cell horizon grid takes about an hour),
``bayestar-realize-coincs`` (H1 L1 V1, Gaussian noise, network SNR ≥ 12),
``bayestar-localize-coincs`` → one BAYESTAR multi-order map per detected event,
all with ``--seed`` (default 1) and TaylorF2; ``--make N`` stops after N maps.

Two comparison sets, each with the same telescopes, window (merger + ``--hours``)
and solver time limit for every column:

* ``network``: ZTF, DECam, Gattini, GROWTH-India;
* ``ZTF``: ZTF alone — the set gwemopt and m4opt are run in (gwemopt's shipped
  configurations and m4opt's missions share ZTF with tooflow's catalogue).

Columns (methods):

* ``coverage``: tooflow's optimiser maximising the probability covered (default
  strategies and exposure times);
* ``detection``: the optimiser maximising the probability of detection under the
  counterpart model (AT2017gfo-like kilonova, spread 1 mag), choosing exposure times;
* ``greedy``: tooflow's greedy baseline (most probable visible field next, default
  exposures), on the coverage candidates;
* ``gwemopt``: gwemopt 0.4.2 as a new user runs it (ZTF primary grid, greedy
  scheduler, power-law time allocation, g,r 30 s, IERS download off), its
  schedule's exposures (field centre, start, exposure time, filter) scored like ours;
* ``m4opt``: m4opt's ``schedule`` for its ``ztf`` mission (30 s exposures, two
  visits ≥ 30 min apart: ZTF's default strategy in tooflow) when it runs offline;
  otherwise the column says why not (m4opt 2.3.1 does not: importing its missions
  fetches astropy's site registry from data.astropy.org; docs/planning.md).

Counterparts: ``--draws`` per event from the map's own 3D posterior (a sky pixel by
probability, a distance from ligo.skymap's conditional ansatz there, a brightness
offset from the model's spread), the same draws for every plan of every set. A
counterpart is detected by a plan when one of its exposures covers it (the
telescope's real footprint) and it is at least as bright as that exposure's
limiting magnitude at that time (the catalogue's depth model, the one the telescope
simulator observes with: airmass, Moon, twilight from a full astropy AltAz
transform at the exposure's middle). Per set the table gives, per method, the
fraction of all drawn counterparts detected, the fraction inside a footprint
whatever its depth (coverage measured on the same draws), the exposure time spent,
the planning time, and the events where ``detection`` detects fewer than
``coverage`` beyond the draws' noise (paired: the same draws, 2σ of the
discordant draws).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
TEST_MAPS = ["skymaps/S190814bv_5_LALInference.v1.fits.gz",
             "skymaps/MS220722v_bayestar.multiorder.fits"]
TELESCOPES = ["ZTF", "DECam", "Gattini", "GROWTH-India"]
SETS = {"network": TELESCOPES, "ZTF": ["ZTF"]}
METHODS = ["coverage", "detection", "greedy", "gwemopt", "m4opt"]
#: one waveform for injection, noise realisation and localisation: the O2 "uberbank"
#: default picks SEOBNRv4_ROM above 4 M☉ total, whose data file (lalsuite-waveform-data)
#: is not installed and would be a download
WAVEFORM = "TaylorF2threePointFivePN"


def make_population(out: Path, n: int, seed: int = 1, ids: list[int] | None = None) -> None:
    """Simulate BNS/NSBH events and localize them with BAYESTAR (ligo.skymap's tools).

    ``ids``: localize only these coincidences (``bayestar-localize-coincs
    --coinc-event-id``; several processes can share the work this way), else the
    first ``n``."""
    out.mkdir(parents=True, exist_ok=True)
    binp = Path(sys.executable).parent

    def run(*args: str) -> None:
        print("$", " ".join(args), flush=True)
        subprocess.run([str(binp / args[0]), *args[1:]], check=True, cwd=out)

    if not (out / "psd.xml").exists():
        run("bayestar-sample-model-psd", "-o", "psd.xml", "--H1=aLIGOZeroDetHighPower",
            "--L1=aLIGOZeroDetHighPower", "--V1=AdvVirgo")
    if not (out / "inj.xml").exists() or (out / "inj.xml").stat().st_size == 0:
        # --distribution-samples: the horizon is computed for these few mass/spin
        # rows only (the preset distributions' 10^4-cell horizon grid takes ~1 h on
        # a loaded core). Two BNS and one NSBH whose neutron star is disrupted (a
        # light, aligned-spin black hole: the NSBH systems that make a kilonova).
        (out / "samples.csv").write_text("mass1,mass2,spin1z,spin2z\n1.4,1.35,0.0,0.0\n"
                                         "1.33,1.3,0.0,0.0\n5.0,1.4,0.5,0.0\n")
        run("bayestar-inject", "--seed", str(seed), "--distribution-samples", "samples.csv",
            "--reference-psd", "psd.xml", "--nsamples", str(10 * n), "--max-distance", "400",
            "--waveform", WAVEFORM, "-o", "inj.xml")
    if not (out / "coinc.xml").exists() or (out / "coinc.xml").stat().st_size == 0:
        run("bayestar-realize-coincs", "--seed", str(seed), "-o", "coinc.xml", "inj.xml",
            "--reference-psd", "psd.xml", "--detector", "H1", "L1", "V1",
            "--measurement-error", "gaussian-noise", "--net-snr-threshold", "12",
            "--waveform", WAVEFORM)
    localize = [str(binp / "bayestar-localize-coincs"), "coinc.xml", "-o", "maps",
                "--waveform", WAVEFORM, "--seed", str(seed)]
    if ids:
        todo = [i for i in ids if not (out / "maps" / f"{i}.fits").exists()]
        if todo:
            subprocess.run([*localize, "--coinc-event-id", *map(str, todo)], check=True,
                           cwd=out)
        return
    if len(list((out / "maps").glob("*.fits"))) >= n:
        return
    proc = subprocess.Popen(localize, cwd=out)
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
        # a uniform point inside the pixel: a random child pixel 8 orders down
        sub = 8
        child = (int(nest[i]) << (2 * sub)) + int(rng.integers(0, 4 ** sub))
        ra[j], dec[j] = hp.pix2ang(1 << (int(order[i]) + sub), child, nest=True, lonlat=True)
        dist[j] = sample_distance(float(moc["DISTMU"][i]), float(moc["DISTSIGMA"][i]), rng)
    offset = rng.normal(0.0, model.spread, n) if model.spread else np.zeros(n)
    return {"ra": ra, "dec": dec, "distance": dist, "offset": offset}


def observe(observations, src: dict, model, t_merger: float) -> tuple[np.ndarray, np.ndarray]:
    """Which counterparts the exposures cover, and which they detect.

    Returns ``(inside, detected)``: boolean arrays over the drawn counterparts —
    inside the footprint of at least one exposure; and at least as bright, at the
    middle of such an exposure, as its limiting magnitude there and then."""
    from tooflow.planning import coverage as cv
    from tooflow.telescopes import limiting_magnitude, load_telescope
    from tooflow.telescopes.conditions import observing_conditions

    inside = np.zeros(len(src["ra"]), bool)
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
        inside[pidx] = True
        used = np.unique(fidx)
        pos = {int(f): j for j, f in enumerate(used)}
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
            if hit[p]:
                continue
            o = obs[f]
            days = (mids[pos[int(f)]].timestamp() - t_merger) / 86400.0
            mag = float(model.apparent_magnitude(o.filter, days, src["distance"][p])) \
                + src["offset"][p]
            if np.isfinite(mlim[f]) and mag <= mlim[f]:
                hit[p] = True
    return inside, hit


# -- gwemopt ------------------------------------------------------------------------

GWEMOPT_WRAPPER = """
import sys
from astropy.utils import iers
iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = "warn"
import gwemopt.run
gwemopt.run.run(sys.argv[1:])
"""


def run_gwemopt(python: str, path: Path, start: dt.datetime, end: dt.datetime,
                timeout: float) -> list:
    """gwemopt 0.4.2's ZTF schedule for one map, as PlannedObservation rows.

    The command a new user runs (benchmarks/gwemopt_compare.py): primary grid, greedy
    scheduler, power-law time allocation, g,r at 30 s, over ``start``–``end``.
    Each schedule row (field, ra, dec, start MJD, exposure s, filter) is one exposure."""
    from astropy.time import Time

    from tooflow.observations import PlannedObservation

    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        argv = ["-t", "ZTF", "--doTiles", "--tilesType", "moc", "--doSchedule",
                "--scheduleType", "greedy", "--timeallocationType", "powerlaw",
                "--doUsePrimary", "--doAlternatingFilters", "--filters", "g,r",
                "--exposuretimes", "30,30",
                "--start_time", start.strftime("%Y-%m-%dT%H:%M:%S"),
                "--end_time", end.strftime("%Y-%m-%dT%H:%M:%S"), "-e", str(path), "-o", tmp]
        res = subprocess.run([python, "-c", GWEMOPT_WRAPPER, *argv], capture_output=True,
                             text=True, check=False, timeout=timeout)
        sched = Path(tmp) / "schedule_ZTF.dat"
        if res.returncode != 0 or not sched.exists():
            raise RuntimeError((res.stderr or res.stdout)[-600:])
        rows = [line.split() for line in sched.read_text().splitlines() if line.strip()]
    obs = []
    for field, ra, dec, mjd, _mag, texp, prob, _airmass, filt in rows:
        t0 = Time(float(mjd), format="mjd").to_datetime(timezone=dt.UTC)
        obs.append(PlannedObservation(telescope="ZTF", ra=float(ra), dec=float(dec),
                                      filter=filt, exposure_time=float(texp), start_time=t0,
                                      probability=float(prob), field_id=int(field)))
    return obs


# -- m4opt --------------------------------------------------------------------------

M4OPT_WRAPPER = """
import sys
from astropy.utils import iers
iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = "warn"
from m4opt._cli import app
sys.argv = ["m4opt", "schedule", *sys.argv[1:]]
app()
"""


def run_m4opt(python: str, path: Path, out_dir: Path, hours: float, time_limit: float,
              timeout: float) -> list:
    """m4opt's ZTF schedule for one map, as PlannedObservation rows (ZTF r, 30 s).

    ``m4opt schedule MAP OUT.ecsv --mission ztf --exptime-min 30s --visits 2
    --cadence 30min --deadline HOURS``; its ``observe`` rows become exposures.
    Raises RuntimeError with m4opt's own last words when it does not run."""
    from astropy.table import QTable

    from tooflow.observations import PlannedObservation

    out = out_dir / (path.stem + ".ecsv")
    argv = [str(path), str(out), "--mission=ztf", "--exptime-min=30s", "--no-appmag-dist",
            "--visits=2",
            "--cadence=30min", f"--deadline={hours}h", f"--timelimit={time_limit}s",
            "--jobs=1"]
    res = subprocess.run([python, "-c", M4OPT_WRAPPER, *argv], capture_output=True,
                         text=True, check=False, timeout=timeout)
    if res.returncode != 0 or not out.exists():
        text = (res.stderr or res.stdout).strip().splitlines()
        raise RuntimeError(text[-1] if text else f"exit {res.returncode}")
    table = QTable.read(out, format="ascii.ecsv")
    obs = []
    for row in table:
        if str(row["action"]) != "observe":
            continue
        coord = row["target_coord"].icrs
        t0 = row["start_time"].utc.to_datetime(timezone=dt.UTC)
        obs.append(PlannedObservation(telescope="ZTF", ra=float(coord.ra.deg),
                                      dec=float(coord.dec.deg), filter="r",
                                      exposure_time=float(row["duration"].to_value("s")),
                                      start_time=t0))
    return obs


#: failures of an external planner's installation rather than of an event
_SETUP_ERRORS = ("URLError", "ImportError", "ModuleNotFoundError", "No module named")
_SETUP_FAILED: dict[str, str] = {}


# -- one event ----------------------------------------------------------------------

def score(obs, src, model, t_merger) -> dict:
    """The detection record of one method's exposures."""
    inside, hit = observe(obs, src, model, t_merger)
    return {"found": int(hit.sum()), "inside": int(inside.sum()),
            "hits": np.flatnonzero(hit).tolist(), "exposures": len(obs),
            "exposure_s": float(sum(o.exposure_time for o in obs)),
            "telescopes": sorted({o.telescope for o in obs})}


def run_event(path: Path, args, shift_days: float = 0.0) -> dict:
    """Plan one event with every method of every set, score all on the same draws.

    ``shift_days`` moves the merger time (the same localization seen at another
    time of year and Moon phase)."""
    from astropy.time import Time
    from ligo.skymap.io import read_sky_map
    from ligo.skymap.moc import uniq2pixarea
    from ligo.skymap.postprocess import find_greedy_credible_levels

    from tooflow.counterparts import kilonova
    from tooflow.iers import configure_iers
    from tooflow.planning import plan_skymap
    from tooflow.planning.pipeline import solve_problem

    configure_iers(offline=True)
    load0 = os.getloadavg()[0]
    t_event = time.perf_counter()
    moc = read_sky_map(str(path), moc=True)
    moc.meta["gps_time"] = float(moc.meta["gps_time"]) + 86400.0 * shift_days
    t_merger = float(Time(moc.meta["gps_time"], format="gps").unix)
    start = dt.datetime.fromtimestamp(round(t_merger), dt.UTC)
    end = start + dt.timedelta(hours=args.hours)
    model = kilonova(spread=args.spread)
    name = path.name + (f"@{shift_days:+g}d" if shift_days else "")
    rng = np.random.default_rng(sum(map(ord, name)))
    src = draw_counterparts(moc, args.draws, model, rng)
    area = uniq2pixarea(np.asarray(moc["UNIQ"]))
    prob = np.asarray(moc["PROBDENSITY"]) * area
    cls = find_greedy_credible_levels(prob, np.asarray(moc["PROBDENSITY"]))
    out = {"event": name, "map": str(path), "distmean": float(moc.meta.get("distmean", np.nan)),
           "area90": float(np.sum(area[cls <= 0.9]) * (180 / np.pi) ** 2),
           "draws": args.draws, "start": start.isoformat(), "hours": args.hours,
           "time_limit": args.time_limit, "sets": {}}
    for set_name in args.sets:
        tels = SETS[set_name]
        res: dict = {}
        want = set(args.methods)
        if want & {"coverage", "greedy"}:
            t0 = time.perf_counter()
            cov, problem = plan_skymap(moc, tels, start, end, time_limit=args.time_limit,
                                       objective="coverage", counterpart=model,
                                       return_problem=True)
            t_cov = time.perf_counter() - t0
            t0 = time.perf_counter()
            greedy = solve_problem(problem, method="greedy")
            t_greedy = time.perf_counter() - t0
            plans = [("coverage", cov, t_cov), ("greedy", greedy, t_greedy)]
        else:
            plans = []
        if "detection" in want:
            t0 = time.perf_counter()
            det = plan_skymap(moc, tels, start, end, time_limit=args.time_limit,
                              objective="detection", counterpart=model)
            plans.append(("detection", det, time.perf_counter() - t0))
        for m, plan, t in plans:
            res[m] = score(plan.observations, src, model, t_merger)
            res[m].update(seconds=round(t, 1), status=plan.status,
                          covered=float(plan.covered if plan.covered is not None
                                        else plan.objective),
                          model_detection=float(plan.detected or 0.0),
                          gap=float(plan.gap) if np.isfinite(plan.gap) else None)
        if set(tels) == {"ZTF"}:
            for m, python, runner in (
                    ("gwemopt", args.gwemopt_python,
                     lambda py: run_gwemopt(py, path, start, end, args.external_timeout)),
                    ("m4opt", args.m4opt_python,
                     lambda py: run_m4opt(py, path, args.scratch, args.hours,
                                          args.time_limit, args.external_timeout))):
                if not python or m not in want:
                    continue
                if m in _SETUP_FAILED:
                    res[m] = {"error": _SETUP_FAILED[m], "seconds": 0.0}
                    continue
                t0 = time.perf_counter()
                try:
                    obs = runner(python)
                except subprocess.TimeoutExpired:
                    res[m] = {"error": f"timed out after {args.external_timeout:g} s",
                              "seconds": round(time.perf_counter() - t0, 1)}
                    continue
                except RuntimeError as exc:
                    error = str(exc).strip().splitlines()[-1][:400]
                    res[m] = {"error": error, "seconds": round(time.perf_counter() - t0, 1)}
                    if any(w in error for w in _SETUP_ERRORS):
                        # fails before it reads the map: the same on every event
                        _SETUP_FAILED[m] = f"{error} (as on {name})"
                    continue
                res[m] = score(obs, src, model, t_merger)
                res[m]["seconds"] = round(time.perf_counter() - t0, 1)
        out["sets"][set_name] = res
    out["wall"] = round(time.perf_counter() - t_event, 1)
    out["load"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return out


# -- report -------------------------------------------------------------------------

def paired_worse(a: dict, b: dict, k: float = 2.0) -> bool:
    """``b`` detects fewer of the same draws than ``a`` by more than ``k`` σ.

    Only discordant draws (one method detects, the other not) carry information
    on the difference; under no difference their split is binomial(n, ½), so the
    count difference has σ = √n (sign test)."""
    ha, hb = set(a["hits"]), set(b["hits"])
    only_a, only_b = len(ha - hb), len(hb - ha)
    n = only_a + only_b
    return n > 0 and (only_a - only_b) > k * np.sqrt(n)


def bootstrap_ratio(x: np.ndarray, y: np.ndarray, rng, n: int = 2000) -> tuple[float, float]:
    """95 % interval of Σy/Σx over events resampled with replacement."""
    idx = rng.integers(0, len(x), size=(n, len(x)))
    sx, sy = x[idx].sum(axis=1), y[idx].sum(axis=1)
    r = sy[sx > 0] / sx[sx > 0]
    return float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def report(results: list[dict], args) -> None:
    """Per set: the fraction detected per method; events lost beyond noise; plot."""
    md = args.markdown
    loads = [x for r in results for x in r.get("load", [])]
    limits = sorted({r.get("time_limit", args.time_limit) for r in results})
    print(f"\n{len(results)} events, {args.draws} counterparts each (the same draws for every "
          f"column), window {args.hours:g} h, solver time limit "
          f"{'/'.join(f'{x:g}' for x in limits)} s"
          + (f"; load average during the run {min(loads):.1f}–{max(loads):.1f} "
             f"(mean {np.mean(loads):.1f})" if loads else ""))
    rng = np.random.default_rng(0)
    for set_name in args.sets:
        have = [r for r in results if set_name in r.get("sets", {})]
        present = {m for r in have for m, x in r["sets"][set_name].items() if "error" not in x}
        # side by side: only the events every column of the set that ran has run on
        def ok(r, m, set_name=set_name):
            return "error" not in r["sets"][set_name].get(m, {"error": "not run"})

        rs = [r for r in have if all(ok(r, m) for m in present)]
        if not rs:
            continue
        pending = [r for r in have if not all(m in r["sets"][set_name] for m in present)]
        failed = {r["event"]: [f"{m} {_short_error(r['sets'][set_name][m])}" for m in present
                               if m in r["sets"][set_name] and not ok(r, m)]
                  for r in have if r not in pending and r not in rs}
        print(f"\n{set_name} ({', '.join(SETS[set_name])}), {len(rs)} events"
              + (f"; left out: {len(pending)} without every column yet" if pending else "")
              + ("".join(f"; {e}: {', '.join(w)}" for e, w in failed.items()))
              + ":\n")
        head = ["method", "detected", "fraction", "vs coverage", "in a footprint",
                "exposure h / event", "planning s / event"]
        if md:
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * len(head))
        else:
            print("  ".join(head))
        for m in METHODS:
            ran = [r for r in rs if m in r["sets"][set_name]
                   and "error" not in r["sets"][set_name][m]]
            failed = [r for r in rs if m in r["sets"][set_name]
                      and "error" in r["sets"][set_name][m]]
            if not ran and not failed:
                continue
            if not ran:
                why = _short_error(failed[0]["sets"][set_name][m])
                row = [m, f"did not run ({len(failed)} events): {why}", "", "", "", "", ""]
            else:
                n = sum(r["draws"] for r in ran)
                found = sum(r["sets"][set_name][m]["found"] for r in ran)
                inside = sum(r["sets"][set_name][m]["inside"] for r in ran)
                base = sum(r["sets"][set_name]["coverage"]["found"] for r in ran)
                expo = np.mean([r["sets"][set_name][m]["exposure_s"] for r in ran]) / 3600
                secs = np.mean([r["sets"][set_name][m]["seconds"] for r in ran])
                note = f" ({len(ran)} events; failed on {len(failed)})" if failed else ""
                row = [m + note, f"{found}/{n}", f"{found / n:.3f}",
                       f"{found / max(base, 1):.2f}×", f"{inside / n:.3f}", f"{expo:.2f}",
                       f"{secs:.0f}" if m != "greedy" else f"{secs:.0f} (+ coverage's problem)"]
            print(("| " + " | ".join(row) + " |") if md else "  ".join(row))
        # detection vs coverage on every event both ran on (also those left out above)
        cd = [r for r in have if {"coverage", "detection"} <= set(r["sets"][set_name])]
        det = np.array([r["sets"][set_name]["detection"]["found"] for r in cd], float)
        cov = np.array([r["sets"][set_name]["coverage"]["found"] for r in cd], float)
        lo, hi = bootstrap_ratio(cov, det, rng)
        worse = [r for r in cd if paired_worse(r["sets"][set_name]["coverage"],
                                               r["sets"][set_name]["detection"])]
        better = [r for r in cd if paired_worse(r["sets"][set_name]["detection"],
                                                r["sets"][set_name]["coverage"])]
        print(f"\ndetection vs coverage on all {len(cd)} events: {int(det.sum())} vs "
              f"{int(cov.sum())} counterparts ({det.sum() / (len(cd) * args.draws):.3f} vs "
              f"{cov.sum() / (len(cd) * args.draws):.3f}), relative gain "
              f"{det.sum() / max(cov.sum(), 1) - 1:+.1%} (95 % bootstrap over events "
              f"{lo - 1:+.1%} … {hi - 1:+.1%}); detection finds more beyond 2σ on "
              f"{len(better)} events, fewer beyond 2σ on {len(worse)}"
              + ("" if not worse else ": " + "; ".join(
                  f"{r['event']} {r['sets'][set_name]['coverage']['found']} vs "
                  f"{r['sets'][set_name]['detection']['found']}" for r in worse)))
        for m in ("greedy", "gwemopt", "m4opt"):
            both = [r for r in rs if "error" not in r["sets"][set_name].get(m, {"error": 1})]
            if not both:
                continue
            a = sum(r["sets"][set_name][m]["found"] for r in both)
            b = sum(r["sets"][set_name]["detection"]["found"] for r in both)
            lost = [r["event"] for r in both if paired_worse(r["sets"][set_name][m],
                                                             r["sets"][set_name]["detection"])]
            won = [r["event"] for r in both if paired_worse(r["sets"][set_name]["detection"],
                                                            r["sets"][set_name][m])]
            print(f"detection vs {m}: {b} vs {a} counterparts on {len(both)} events, relative "
                  f"gain {b / max(a, 1) - 1:+.1%}; more beyond 2σ on {len(won)} events, fewer "
                  f"on {len(lost)}" + (f" ({', '.join(lost)})" if lost else ""))
    if args.per_event:
        per_event(results, args)
    if args.plot:
        plot(results, args)


def _short_error(record: dict) -> str:
    """An external planner's failure in a table cell (a subprocess timeout's message
    is the whole command line: said as a timeout)."""
    error = record["error"]
    if error.startswith("Command '[") or error.startswith("timed out"):
        return f"timed out ({record['seconds']:.0f} s)"
    return error if len(error) < 160 else error[:160] + " …"


def per_event(results: list[dict], args) -> None:
    """One row per event: distance, 90 % area, counterparts found per column and set."""
    cols = [(s, m) for s in args.sets for m in METHODS
            if any(m in r.get("sets", {}).get(s, {}) for r in results)]
    head = ["event", "Mpc", "deg² (90 %)"] + [f"{s} {m}" for s, m in cols] \
        + [f"{s} detection status" for s in args.sets]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in sorted(results, key=lambda r: _natural(Path(r["event"]))):
        row = [r["event"], f"{r['distmean']:.0f}", f"{r['area90']:.0f}"]
        for s, m in cols:
            x = r["sets"].get(s, {}).get(m)
            row.append("" if x is None else "timed out" if "error" in x and _short_error(x)
                       .startswith("timed out") else "error" if "error" in x
                       else str(x["found"]))
        row += [str(r["sets"].get(s, {}).get("detection", {}).get("status", "")) for s in args.sets]
        print("| " + " | ".join(row) + " |")


def plot(results: list[dict], args) -> None:
    """Per-event scatter: fraction detected, detection vs coverage, one panel per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s for s in args.sets if any(s in r.get("sets", {}) for r in results)]
    fig, axes = plt.subplots(1, len(sets), figsize=(4.6 * len(sets) + 1, 4.6), squeeze=False,
                             layout="constrained")
    dist = [r["distmean"] for r in results]
    norm = matplotlib.colors.Normalize(min(dist), max(dist))
    for ax, set_name in zip(axes[0], sets, strict=True):
        rs = [r for r in results if set_name in r.get("sets", {})]
        x = np.array([r["sets"][set_name]["coverage"]["found"] / r["draws"] for r in rs])
        y = np.array([r["sets"][set_name]["detection"]["found"] / r["draws"] for r in rs])
        worse = np.array([paired_worse(r["sets"][set_name]["coverage"],
                                       r["sets"][set_name]["detection"]) for r in rs], bool)
        sc = ax.scatter(x, y, c=[r["distmean"] for r in rs], cmap="viridis", norm=norm,
                        s=[12 + 4 * np.sqrt(r["area90"]) for r in rs], edgecolors="none")
        if worse.any():
            ax.scatter(x[worse], y[worse], facecolors="none", edgecolors="red", s=160,
                       label="detection finds fewer (> 2σ)")
            ax.legend(loc="lower right", fontsize=8)
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("fraction detected, coverage objective")
        ax.set_ylabel("fraction detected, detection objective")
        ax.set_title(f"{set_name}: {', '.join(SETS[set_name])} ({len(rs)} events)",
                     fontsize=9)
    fig.colorbar(sc, ax=axes[0].tolist(), label="mean distance (Mpc); size ∝ √(90 % area)")
    fig.savefig(args.plot, dpi=110)


# -- command line -------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", type=Path, required=True, help="directory of BAYESTAR maps")
    p.add_argument("--make", type=int, default=0, help="simulate this many maps first")
    p.add_argument("--make-only", action="store_true", help="stop after making the maps")
    p.add_argument("--coinc-ids", type=_id_ranges, metavar="A-B,C,...",
                   help="with --make: localize exactly these coincidences (e.g. 0-7,10-17)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated population")
    p.add_argument("--with-test-maps", action="store_true")
    p.add_argument("--map", type=Path, action="append", default=[],
                   help="a map to add to the population (repeatable)")
    p.add_argument("--shifts", type=lambda s: [float(x) for x in s.split(",")], default=[0.0],
                   help="merger time shifts (days), each map planned once per shift: the "
                        "same localization at other times of year and Moon phases")
    p.add_argument("--limit", type=int, default=0, help="at most this many maps")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="run only the events whose number (a simulated map's id, else "
                        "a CRC of its name) is I modulo N (parallel processes sharing "
                        "--results; the report reads every result there)")
    p.add_argument("--report-only", action="store_true",
                   help="print the table from --results without planning")
    p.add_argument("--sets", type=lambda s: s.split(","), default=list(SETS),
                   help="comparison sets (network, ZTF)")
    p.add_argument("--methods", type=lambda s: s.split(","), default=METHODS,
                   help="columns this process computes (several processes may share "
                        "--results: an event's record is the union of theirs)")
    p.add_argument("--follow", type=float, default=0.0, metavar="MIN",
                   help="keep taking new maps as --make writes them, until --limit "
                        "maps or none new for MIN minutes")
    p.add_argument("--reverse", action="store_true",
                   help="take the shard's events from the last: a second process on the "
                        "same shard meets the first in the middle")
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--spread", type=float, default=1.0)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--time-limit", type=float, default=20.0,
                   help="solver time limit per plan (s), tooflow's and m4opt's")
    p.add_argument("--gwemopt-python", help="python of a venv with gwemopt 0.4.2")
    p.add_argument("--m4opt-python", help="python of a venv with m4opt")
    p.add_argument("--external-timeout", type=float, default=900.0,
                   help="total deadline of one gwemopt or m4opt run (s)")
    p.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()),
                   help="where m4opt writes its schedules")
    p.add_argument("--results", type=Path, help="JSON lines: append each event's result")
    p.add_argument("--plot", type=Path, help="per-event scatter plot (PNG)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--per-event", action="store_true", help="also a row per event")
    args = p.parse_args(argv)
    unknown = set(args.sets) - set(SETS)
    if unknown:
        p.error(f"unknown set(s) {', '.join(sorted(unknown))}; one of {', '.join(SETS)}")
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        p.error(f"unknown method(s) {', '.join(sorted(unknown))}; of {', '.join(METHODS)}")
    if args.make:
        make_population(args.maps, args.make, args.seed, args.coinc_ids)
        if args.make_only:
            return 0
    done_here: list[dict] = []
    index, count = (int(x) for x in args.shard.split("/"))
    last_new, seen = time.monotonic(), 0
    while True:
        events = population(args)
        if len(events) > seen:
            last_new, seen = time.monotonic(), len(events)
        done = read_results(args.results)
        for r in done_here:
            done[r["event"]] = merge(done.get(r["event"]), r)
        todo = [(path, shift) for path, shift in events
                if shard_of(path, shift, args.shifts) % count == index
                and not complete(done.get(event_key(path, shift)), args)]
        if args.report_only or not todo:
            enough = args.limit and len(events) >= args.limit * len(args.shifts)
            if (args.report_only or not args.follow or enough
                    or time.monotonic() - last_new > 60 * args.follow):
                break
            time.sleep(20)
            continue
        path, shift = todo[-1 if args.reverse else 0]
        r = run_event(path, args, shift)
        print(json.dumps({k: v for k, v in r.items() if k != "sets"}
                         | {s: {m: x.get("found", x.get("error"))
                                for m, x in v.items()} for s, v in r["sets"].items()}),
              flush=True)
        if args.results:
            with args.results.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
        else:
            done_here.append(r)
    done = read_results(args.results)
    for r in done_here:
        done[r["event"]] = merge(done.get(r["event"]), r)
    report([done[event_key(*e)] for e in population(args) if event_key(*e) in done], args)
    return 0


def population(args) -> list[tuple[Path, float]]:
    """The events: maps (natural order, at most ``--limit``) × merger time shifts."""
    paths = sorted((args.maps / "maps").glob("*.fits"), key=_natural) \
        or sorted(args.maps.glob("*.fits"), key=_natural)
    if args.limit:
        paths = paths[: args.limit]
    if args.with_test_maps:
        paths += [DATA / m for m in TEST_MAPS]
    paths += args.map
    return [(path, shift) for path in paths for shift in args.shifts]


def shard_of(path: Path, shift: float, shifts: list[float]) -> int:
    """A number fixed by the event alone (not by its place in a growing list, so
    that shards do not trade events while --follow sees maps arrive): the
    simulated map's coincidence id (``12.fits``), else a CRC of its name."""
    stem = path.name.split(".")[0]
    base = int(stem) if stem.isdigit() else zlib.crc32(path.name.encode())
    return base * len(shifts) + shifts.index(shift)


def event_key(path: Path, shift: float) -> str:
    return path.name + (f"@{shift:+g}d" if shift else "")


def merge(a: dict | None, b: dict) -> dict:
    """One event's record from several processes (e.g. tooflow's columns in one,
    gwemopt's in another): the union of their sets and methods, loads concatenated."""
    if a is None:
        return b
    out = dict(a)
    out["sets"] = {s: dict(v) for s, v in a["sets"].items()}
    for s, v in b["sets"].items():
        out["sets"].setdefault(s, {}).update(v)
    out["load"] = a.get("load", []) + b.get("load", [])
    out["wall"] = a.get("wall", 0) + b.get("wall", 0)
    return out


def read_results(path: Path | None) -> dict[str, dict]:
    """Every event's merged record in a JSON-lines results file."""
    done: dict[str, dict] = {}
    if path and path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[r["event"]] = merge(done.get(r["event"]), r)
    return done


def complete(record: dict | None, args) -> bool:
    """Whether ``record`` already holds every column this process would compute."""
    if record is None:
        return False
    for s in args.sets:
        have = record["sets"].get(s, {})
        for m in args.methods:
            external = {"gwemopt": args.gwemopt_python, "m4opt": args.m4opt_python}
            if m in external and (s != "ZTF" or not external[m]):
                continue
            if m not in have:
                return False
    return True


def _id_ranges(text: str) -> list[int]:
    """``"0-7,10,12-13"`` → [0, …, 7, 10, 12, 13]."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def _natural(path: Path):
    """Sort 2.fits before 10.fits."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


if __name__ == "__main__":
    raise SystemExit(main())
