"""``tooflow plan EVENT_ID`` or ``tooflow plan --skymap FILE``: plan a telescope network.

With an event id, the event's stored map (its joint map if it has a
multi-messenger coincidence) is planned with a program's telescopes and
strategy (``--program``; ``--telescope`` overrides the telescopes); with
``--skymap``, any local sky map file, no event needed.

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
    p.add_argument("event_id", nargs="?", metavar="EVENT_ID",
                   help="a stored event (e.g. S230518h); or give --skymap")
    p.add_argument("--skymap", metavar="FILE",
                   help="sky map FITS file (multi-order or flat HEALPix, gzip or not)")
    p.add_argument("--program", metavar="NAME",
                   help="with EVENT_ID: plan as this science program does (telescopes, "
                        "strategy, window)")
    p.add_argument("--telescope", "-t", action="append", metavar="NAME",
                   help="telescope to plan for, repeatable (default: ZTF); "
                        "known: ZTF, DECam, Gattini, GROWTH-India, KPED")
    p.add_argument("--start", metavar="ISO",
                   help="window start, UTC (default: the map's event time, else now)")
    p.add_argument("--duration", type=float, metavar="HOURS",
                   help="window length in hours (default: the program's window, else 24)")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="solver time limit in seconds (default: the program's, else 20)")
    p.add_argument("--greedy", action="store_true",
                   help="use the greedy baseline instead of the optimiser")
    p.add_argument("--objective", choices=["coverage", "detection"],
                   help="what to maximise: probability covered (default), or probability "
                        "of detecting the counterpart model, exposure times chosen "
                        "(with EVENT_ID --program: the program's strategy.objective)")
    p.add_argument("--counterpart", choices=["kilonova", "afterglow"],
                   help="counterpart model (default: kilonova, AT2017gfo-like)")
    p.add_argument("--spread", type=float, default=1.0, metavar="MAG",
                   help="the counterpart population's spread in magnitude (default 1)")
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


def _progress(line: str) -> None:
    """Planning steps on stderr as they happen (the plan itself goes to stdout)."""
    import sys

    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tooflow.iers import ensure_iers
    from tooflow.planning import load_telescope, plan_skymap
    from tooflow.skymap import read_skymap_bytes

    if bool(args.event_id) == bool(args.skymap):
        raise ValueError("give either EVENT_ID or --skymap FILE")
    if args.event_id:
        return _run_event(args)
    path = Path(args.skymap)
    if not path.is_file():
        raise FileNotFoundError(f"--skymap: no such file: {path}")
    if args.out and Path(args.out).suffix.lower() not in {".json", ".csv"}:
        raise ValueError("--out must end in .json or .csv")
    duration = 24.0 if args.duration is None else args.duration
    if duration <= 0:
        raise ValueError("--duration must be positive")
    ensure_iers()
    moc = read_skymap_bytes(path.read_bytes())
    tels = [load_telescope(n) for n in (args.telescope or ["ZTF"])]
    start = parse_time(args.start) if args.start else (_event_time(moc)
                                                      or dt.datetime.now(dt.UTC))
    end = start + dt.timedelta(hours=duration)
    plan = plan_skymap(moc, tels, start, end, time_limit=args.time_limit or 20.0,
                       method="greedy" if args.greedy else "optimal", progress=_progress,
                       objective=args.objective or "coverage",
                       counterpart=_counterpart(args, None))
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


def _counterpart(args: argparse.Namespace, program) -> dict | None:
    """The counterpart model from the options, else the program's, else the default."""
    if args.counterpart or args.spread != 1.0:
        return {"model": args.counterpart or "kilonova", "spread": args.spread}
    return program.strategy.get("counterpart") if program is not None else None


def _run_event(args: argparse.Namespace) -> int:
    """Plan a stored event's map (not stored: the flow stores the plans it submits)."""
    from dataclasses import replace
    from pathlib import Path

    from sqlmodel import Session, select

    from tooflow.config import load_settings
    from tooflow.db import get_engine
    from tooflow.iers import ensure_iers
    from tooflow.models import Event
    from tooflow.planning import load_telescope
    from tooflow.programs import Program
    from tooflow.stages.plan import plan_program, program_by_name

    settings = load_settings()
    ensure_iers()
    if args.program:
        program = program_by_name(settings, args.program)
    else:  # the telescopes named, with the configured planning defaults
        program = Program(name="tooflow plan", telescopes=tuple(args.telescope or ["ZTF"]))
    overrides: dict = {"window_hours": args.duration, "objective": args.objective,
                       "counterpart": _counterpart(args, None)}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:  # the options say otherwise than the program
        program = replace(program, strategy={**program.strategy, **overrides})
    with Session(get_engine(settings)) as session:
        event = session.exec(select(Event).where(Event.event_id == args.event_id)).first()
        if event is None:
            raise LookupError(f"no event {args.event_id!r}; `tooflow events` lists them")
        # the plan stage's own code path: window, start, strategies, targets, objective
        planned = plan_program(session, event, program, settings,
                               start=parse_time(args.start) if args.start else None,
                               time_limit=args.time_limit, telescopes=args.telescope,
                               method="greedy" if args.greedy else "optimal",
                               progress=_progress)
    if planned is None:
        raise LookupError(f"{args.event_id}: no sky map stored for this event")
    plan, moc = planned.plan, planned.moc
    tels = [load_telescope(n) for n in plan.telescopes]
    print(f"{event.event_id} ({event.kind}, {event.time:%Y-%m-%d %H:%M:%S} UTC)"
          + (f", program {program.name}" if args.program else ""))
    print(plan.summary())
    if args.out:
        out = Path(args.out)
        out.write_text(plan.to_json() if out.suffix.lower() == ".json" else plan.to_csv())
        print(f"wrote {out} ({len(plan.observations)} observations)")
    if args.png:
        import warnings

        from tooflow.planning.plot import plot_plan

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*reproject.healpix.utils.*")
            plot_plan(plan, moc, args.png, telescopes=tels, title=event.event_id)
        print(f"wrote {args.png}")
    return 0
