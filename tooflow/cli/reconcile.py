"""``tooflow reconcile``: trigger every stored notice that has no flow run yet.

Notices stay pending (status ``received``) when the Prefect API was unreachable
as they arrived. Listeners run this every ``reconcile_interval`` seconds too;
running it by hand beside them is safe (idempotency keys).
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
    from ..prefect_local import ensure_prefect_api
    from ..trigger import reconcile

    settings = load_settings()
    engine = get_engine(settings)
    ensure_prefect_api(settings)
    n = reconcile(engine, limit=args.limit)
    with Session(engine) as session:
        left = session.exec(select(func.count()).select_from(Notice)
                            .where(Notice.status == NoticeStatus.received.value)).one()
    print(f"triggered {n} notice(s); {left} still pending")
    return 0 if left == 0 else 1
