"""``tooflow rerun EVENT_ID [--notice N]``: run the handle-notice flow again for an event.

Uses the event's latest notice unless ``--notice`` names one. Queue submissions
that already exist are not repeated (the flow's request keys make them idempotent).
With PREFECT_API_URL set, it starts a run of the deployment for the workers; on
the embedded default it runs the flow here and prints its summary, unless
`tooflow listen` or `tooflow server serve` serves the deployment.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rerun", help="run the handle-notice flow again for an event",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("event_id", metavar="EVENT_ID", help="e.g. S230518h")
    p.add_argument("--notice", type=int, metavar="N", help="notice id (default: the latest)")
    p.add_argument("--deployment", default="handle-notice/handle-notice",
                   help="deployment to run (default: %(default)s)")
    p.set_defaults(func=_rerun)


def _step(line: str) -> None:
    """Progress on stderr, so the wait is not silent."""
    import sys

    print(line, file=sys.stderr, flush=True)


def _rerun(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..db import get_engine
    from ..db.state import require_current_schema
    from ..intake.rerun import rerun_notice_id
    from ._start import notice_starter

    settings = load_settings()
    engine = get_engine(settings)
    require_current_schema(engine)  # the flow writes: stop here, not inside its run
    notice_id = rerun_notice_id(args.event_id, args.notice, engine=engine)  # fail fast
    _step(f"{args.event_id}: notice #{notice_id}; connecting to Prefect "
          "(the first start of the local server takes 15–30 s)")
    how, start = notice_starter(settings, engine, deployment=args.deployment, rerun=True)
    if how == "here":
        print(f"{args.event_id}: notice #{notice_id} → handle-notice in this process "
              f"(no {args.deployment} deployment is served on the local Prefect server)")
        start(notice_id)
        return 0
    print(f"{args.event_id}: notice #{notice_id} → flow run {start(notice_id)}")
    return 0
