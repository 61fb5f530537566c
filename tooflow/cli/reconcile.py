"""``tooflow reconcile``: trigger every stored notice that has no flow run yet.

Notices stay pending (status ``received``) when the Prefect API was unreachable
as they arrived. Listeners run this every ``reconcile_interval`` seconds too;
running it by hand beside them is safe (idempotency keys). On the embedded
default, when nothing serves the deployment, the flows run here, one after the
other, each printing its summary.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconcile", help="trigger pending notices (no flow run yet)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, help="at most this many notices")
    p.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    from sqlmodel import Session, func, select

    from ..config import load_settings
    from ..db import get_engine
    from ..models import Notice, NoticeStatus
    from ..trigger import DEFAULT_DEPLOYMENT, reconcile
    from ._start import notice_starter

    settings = load_settings()
    engine = get_engine(settings)
    how, start = notice_starter(settings, engine, deployment=DEFAULT_DEPLOYMENT)
    trigger = start
    if how == "here":
        def trigger(notice_id: int) -> str:  # one failing notice does not stop the others
            print(f"notice #{notice_id}: handle-notice in this process")
            try:
                return start(notice_id)
            except Exception as exc:  # noqa: BLE001 - reported; the notice says what failed
                print(f"  notice #{notice_id} failed: {type(exc).__name__}: {exc}")
                return ""
    n = reconcile(engine, trigger=trigger, limit=args.limit)
    with Session(engine) as session:
        left = session.exec(select(func.count()).select_from(Notice)
                            .where(Notice.status == NoticeStatus.received.value)).one()
    print(f"{'ran' if how == 'here' else 'triggered'} {n} notice(s); {left} still pending")
    return 0 if left == 0 else 1
