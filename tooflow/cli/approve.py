"""``tooflow approve``: decide on plans waiting for approval (``approval: required`` programs).

    tooflow approve                     # list the plans waiting
    tooflow approve 12                  # approve plan #12: its flow submits it
    tooflow approve 12 --reject -m "no DECam time tonight"

The same function as the web page's buttons: recorded with who and when.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``tooflow approve [PLAN_ID] [--reject]``."""
    p = subparsers.add_parser("approve", help="approve or reject plans waiting for approval",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan_id", type=int, nargs="?", help="the plan (default: list those waiting)")
    p.add_argument("--reject", action="store_true", help="reject instead of approving")
    p.add_argument("-m", "--comment", default="", help="why (kept with the decision)")
    p.set_defaults(func=_approve)
    return p


def _approve(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from ..approvals import decide, pending_approvals
    from ..audit import cli_actor
    from ..db import get_engine
    from ..db.state import DatabaseNotReady, explained
    from ..models import Event, PlanApproval

    engine = get_engine()
    with Session(engine, expire_on_commit=False) as session:
        if args.plan_id is None:
            try:
                with explained(engine):
                    waiting = pending_approvals(session)
            except DatabaseNotReady as exc:
                if exc.state is None or exc.state.status != "empty":
                    raise
                print(f"no plan waits for approval ({exc.state.url}: {exc.state.reason})")
                return 0
            if not waiting:
                print("no plan waits for approval")
            for a in waiting:
                event = session.get(Event, a.event_pk)
                print(f"plan #{a.plan_id}  {event.event_id}  {a.program}  waits until "
                      f"{a.deadline:%Y-%m-%d %H:%M:%S} UTC (then {a.default})")
            return 0
        row = session.exec(select(PlanApproval).where(PlanApproval.plan_id == args.plan_id)
                           ).first()
        if row is None:
            raise LookupError(f"plan #{args.plan_id} does not wait for approval")
        row = decide(session, row.id, "reject" if args.reject else "approve", cli_actor(),
                     args.comment)
        session.commit()
        print(f"plan #{row.plan_id} {row.status} by {row.decided_by}")
    return 0
