"""Counterpart recovery drill: is the injected counterpart observed, detected, ranked first?

Run: ``python benchmarks/recovery.py [--events N] [--nights 2] [--model kilonova]
[--data DIR]`` (default DIR: tests/data).

For each of N simulated events: one of the 3D GW sky maps of the test data
(BAYESTAR MS181101ab, the real O4 NSBH S230518h, the real LALInference maps of
S190814bv and S190425z), an event time spread over a year (so the map is seen
in every season), a counterpart drawn from the map's 3D posterior (position
and distance; its brightness offset from the model's population spread), a
ZTF plan per night for ``--nights`` nights observed by the simulator with its
depths (no weather loss), the simulated sky's background at ZTF-like rates,
association and ranking with the default weights. Printed: the fraction of
events where the counterpart was (a) on an exposure, (b) detected, (c) ranked
first, (d) in the top five, and the false positives in the top five per
event, with their distributions; the same ranking with the localization
term alone is the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections import Counter
from pathlib import Path

from tooflow.candidates.ranking import explain, rank_candidates
from tooflow.candidates.weights import RankingWeights
from tooflow.parsers import parse_notice
from tooflow.simulator.drill import run_drill
from tooflow.simulator.injection import draw_injection
from tooflow.skymap.read import read_skymap_bytes

#: (event id, file under the data directory, kind of file)
MAPS = [
    ("MS181101ab", "lvk/avro/MS181101ab-preliminary.avro", "notice"),
    ("S230518h", "lvk/json/S230518h-initial.json", "notice"),
    ("S190814bv", "skymaps/S190814bv_5_LALInference.v1.fits.gz", "map"),
    ("S190425z", "skymaps/S190425z_2_LALInference.fits.gz", "map"),
]

BASELINE = RankingWeights(distance=0, host=0, light_curve=0, colour=0, detections=0,
                          real_bogus=0, star=0, solar_system=0, threshold=-1e9)


def load_map(data: Path, path: str, kind: str):
    raw = (data / path).read_bytes()
    if kind == "notice":
        raw = parse_notice(raw).localization.skymap_bytes
    return read_skymap_bytes(raw)


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.0f} %" if d else "–"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=12)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--model", default="kilonova", choices=["kilonova", "afterglow"])
    parser.add_argument("--spread", type=float, default=1.0,
                        help="population spread of the model (mag)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="planner time limit per night (s)")
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "tests" / "data")
    parser.add_argument("--explain", action="store_true",
                        help="print why the counterpart and the top five ranked where they did")
    args = parser.parse_args(argv)

    maps = {}
    rows = []
    t_start = time.perf_counter()
    print(f"{'#':>3} {'event':<11} {'t0':<17} {'dist':>6} {'CL':>5} {'exp':>4} {'lim':>5} "
          f"{'cands':>6} {'assoc':>5} {'on':>3} {'det':>3} {'mag':>5} {'rank':>5} {'base':>5} "
          f"{'FP5':>3}  top five kinds")
    for i in range(args.events):
        event_id, path, kind = MAPS[i % len(MAPS)]
        if event_id not in maps:
            maps[event_id] = load_map(args.data, path, kind)
        moc = maps[event_id]
        # spread over a year, at a random-ish hour: every season, night or day at Palomar
        t0 = (dt.datetime(2026, 1, 7, tzinfo=dt.UTC)
              + dt.timedelta(days=(i * 97) % 365, hours=(i * 7.3) % 24))
        seed = args.seed * 1000 + i
        inj = draw_injection(moc, t0, event_id=f"{event_id}-{i}", model=args.model,
                             seed=seed, spread=args.spread)
        t = time.perf_counter()
        res = run_drill(moc, inj, nights=args.nights, seed=seed, time_limit=args.time_limit)
        base = rank_candidates([r.association for r in res.ranked],
                               _event(moc, inj), weights=BASELINE)
        base_rank = next((r.rank for r in base if r.candidate.name == inj.object_id), None)
        rows.append((res, base_rank))
        kinds = ",".join(x["kind"] for x in res.top5) or "-"
        mag = f"{min(res.counterpart_mags):.1f}" if res.counterpart_mags else "-"
        lim = (f"{res.mean_limiting_magnitude:.1f}"
               if res.mean_limiting_magnitude is not None else "-")
        print(f"{i:>3} {event_id:<11} {t0:%Y-%m-%d %H:%M} {inj.distance_mpc:>6.0f} "
              f"{inj.credible_level:>5.2f} {res.n_exposures:>4} {lim:>5} {res.n_candidates:>6} "
              f"{res.n_associated:>5} {'y' if res.on_exposure else 'n':>3} "
              f"{'y' if res.detected else 'n':>3} {mag:>5} {str(res.rank or '-'):>5} "
              f"{str(base_rank or '-'):>5} {res.false_positives_top5:>3}  {kinds}"
              f"   ({time.perf_counter() - t:.0f} s)", flush=True)
        if args.explain:
            shown = res.ranked[:5] + [r for r in res.ranked[5:]
                                      if r.candidate.name == inj.object_id]
            for r in shown:
                kind = _kind(r.candidate.name, inj, res)
                print("      " + explain(r).replace("\n", "\n      ") + f"   [{kind}]")

    n = len(rows)
    res_all = [r for r, _ in rows]
    det = [r for r in res_all if r.detected]
    first = [r for r in det if r.rank == 1 and r.listed]
    top5 = [r for r in det if r.rank is not None and r.rank <= 5 and r.listed]
    base_first = [r for r, b in rows if r.detected and b == 1]
    base_top5 = [r for r, b in rows if r.detected and b is not None and b <= 5]
    fp = [r.false_positives_top5 for r in res_all]
    print()
    print(f"{n} events, {args.nights} night(s) each, model {args.model} "
          f"(spread {args.spread:g} mag), {time.perf_counter() - t_start:.0f} s")
    print()
    print("| measure | all events | among detected | baseline (localization only), "
          "among detected |")
    print("| --- | --- | --- | --- |")
    print(f"| (a) on an exposure | {_pct(sum(r.on_exposure for r in res_all), n)} | | |")
    print(f"| (b) detected | {_pct(len(det), n)} | | |")
    print(f"| (c) ranked first | {_pct(len(first), n)} | {_pct(len(first), len(det))} | "
          f"{_pct(len(base_first), len(det))} |")
    print(f"| (d) in the top five | {_pct(len(top5), n)} | {_pct(len(top5), len(det))} | "
          f"{_pct(len(base_top5), len(det))} |")
    if fp:
        print(f"| false positives in the top five per event | mean {statistics.mean(fp):.2f}, "
              f"median {statistics.median(fp):g}, max {max(fp)} | | |")
    print()
    print("false positives in the top five: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(Counter(fp).items())) + " events")
    ranks = Counter(("-" if r.rank is None else (str(r.rank) if r.rank <= 5 else ">5"))
                    for r in det)
    print("rank of the detected counterpart: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(ranks.items())))
    kinds = Counter(x["kind"] for r in res_all for x in r.top5 if x["kind"] != "counterpart")
    print("false positives by kind: " + (", ".join(f"{k} {v}" for k, v in kinds.most_common())
                                         or "none"))
    from tooflow.simulator.transients import _footprint

    alerts = sum(r.n_detections for r in res_all)
    exposures = sum(r.n_exposures for r in res_all)
    area = _footprint("ZTF").area
    print(f"background: {alerts} simulated alerts on {exposures} ZTF exposures of "
          f"{area:.1f} deg² ({alerts / max(exposures, 1) / area:.1f} per deg² per exposure)")


def _kind(name, inj, res):
    return "counterpart" if name == inj.object_id else res.kinds.get(name, "?")


def _event(moc, inj):
    from tooflow.candidates.association import EventLocalization

    return EventLocalization.from_moc(moc, inj.t0_datetime, inj.event_id)


if __name__ == "__main__":
    main()
