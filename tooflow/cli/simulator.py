"""Run the telescope simulator service (queue API and TAP) in the foreground."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``tooflow simulator serve``."""
    p = subparsers.add_parser("simulator", help="telescope simulator service",
                              description=__doc__)
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    s = sub.add_parser("serve", help="serve the simulator over HTTP until interrupted",
                       description="Serve the simulated telescope queues and TAP endpoint.")
    s.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    s.add_argument("--port", type=int, default=8765, help="TCP port (default: %(default)s)")
    s.add_argument("--speedup", type=float, default=60.0,
                   help="simulated seconds per wall-clock second (default: %(default)s)")
    s.add_argument("--weather-loss", type=float, default=0.1,
                   help="fraction of exposures lost to weather/faults (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    s.add_argument("--start", default=None,
                   help="simulated start time, ISO 8601 UTC (default: now)")
    s.set_defaults(func=_serve)
    return p


def _serve(args: argparse.Namespace) -> int:
    from tooflow.simulator.engine import parse_time
    from tooflow.simulator.server import serve

    if not 0 <= args.weather_loss <= 1:
        raise ValueError(f"--weather-loss must be within [0, 1], got {args.weather_loss}")
    if args.speedup <= 0:
        raise ValueError(f"--speedup must be positive, got {args.speedup}")
    start = parse_time(args.start) if args.start else None
    print(f"tooflow simulator on http://{args.host}:{args.port} (TAP: /tap), "
          f"speed-up {args.speedup:g}x, weather loss {args.weather_loss:g}, seed {args.seed}")
    serve(args.host, args.port, speedup=args.speedup, weather_loss=args.weather_loss,
          seed=args.seed, start=start)
    return 0
