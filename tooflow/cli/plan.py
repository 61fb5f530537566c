"""``tooflow plan --skymap FILE``: plan a telescope network on a local sky map.

Prints the probability covered per telescope and in total (union, counted once),
the solver's bound, the gap and the solve time; ``--out`` writes the planned
observations (``.json`` or ``.csv``) and ``--png`` the picture.
"""

from __future__ import annotations

import argparse
import datetime as dt

__all__ = ["add_parser", "run", "parse_time"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "plan", help="plan observations of a sky map (OR-Tools)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skymap", required=True, metavar="FILE",
                   help="sky map FITS file (multi-order or flat HEALPix, gzip or not)")
    p.add_argument("--telescope", "-t", action="append", metavar="NAME",
                   help="telescope to plan for, repeatable (default: ZTF); "
                        "known: ZTF, DECam, Gattini, GROWTH-India, KPED")
    p.add_argument("--start", metavar="ISO",
                   help="window start, UTC (default: the map's event time, else now)")
    p.add_argument("--duration", type=float, default=24.0, metavar="HOURS",
                   help="window length in hours (default 24)")
    p.add_argument("--time-limit", type=float, default=20.0, metavar="S",
                   help="solver time limit in seconds (default 20)")
    p.add_argument("--greedy", action="store_true",
                   help="use the greedy baseline instead of the optimiser")
    p.add_argument("--out", metavar="FILE", help="write the plan: .json or .csv")
    p.add_argument("--png", metavar="FILE", help="write the sky map with planned fields")
    p.set_defaults(func=run)
    return p


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 time; naive times are UTC."""
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"--start: not an ISO time: {text!r}") from exc
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _event_time(moc) -> dt.datetime | None:
    gps = moc.meta.get("gps_time")
    if gps is None:
        return None
    from astropy.time import Time

    return Time(float(gps), format="gps").utc.to_datetime(timezone=dt.UTC)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tooflow.iers import configure_iers
    from tooflow.planning import load_telescope, plan_skymap
    from tooflow.skymap import read_skymap_bytes

    path = Path(args.skymap)
    if not path.is_file():
        raise FileNotFoundError(f"--skymap: no such file: {path}")
    if args.out and Path(args.out).suffix.lower() not in {".json", ".csv"}:
        raise ValueError("--out must end in .json or .csv")
    if args.duration <= 0:
        raise ValueError("--duration must be positive")
    configure_iers()
    moc = read_skymap_bytes(path.read_bytes())
    tels = [load_telescope(n) for n in (args.telescope or ["ZTF"])]
    start = parse_time(args.start) if args.start else (_event_time(moc)
                                                      or dt.datetime.now(dt.UTC))
    end = start + dt.timedelta(hours=args.duration)
    plan = plan_skymap(moc, tels, start, end, time_limit=args.time_limit,
                       method="greedy" if args.greedy else "optimal")
    print(plan.summary())
    if args.out:
        out = Path(args.out)
        out.write_text(plan.to_json() if out.suffix.lower() == ".json" else plan.to_csv())
        print(f"wrote {out} ({len(plan.observations)} observations)")
    if args.png:
        from tooflow.planning.plot import plot_plan

        plot_plan(plan, moc, args.png, telescopes=tels, title=f"{path.name}")
        print(f"wrote {args.png}")
    return 0
