"""``tooflow rerun EVENT_ID [--notice N]``: run the handle-notice flow again for an event.

Uses the event's latest notice unless ``--notice`` names one. Queue submissions
that already exist are not repeated (the flow's request keys make them idempotent).
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


def _rerun(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..db import get_engine
    from ..prefect_local import ensure_prefect_api
    from ..rerun import rerun_event, rerun_notice_id

    settings = load_settings()
    engine = get_engine(settings)
    rerun_notice_id(args.event_id, args.notice, engine=engine)  # fail fast, before Prefect
    ensure_prefect_api(settings)
    notice_id, run_id = rerun_event(args.event_id, args.notice, deployment=args.deployment,
                                    engine=engine)
    print(f"{args.event_id}: notice #{notice_id} → flow run {run_id}")
    return 0
