"""``tooflow reconcile``: trigger every stored notice that has no flow run yet.

Notices stay pending (status ``received``) when the Prefect API was unreachable
as they arrived. Listeners run this every ``reconcile_interval`` seconds too;
running it by hand beside them is safe (idempotency keys). On the embedded
default, when nothing serves the deployment, the flows run here, one after the
other, each printing its summary.

Queue requests that no queue accepted (status ``unsent``) are sent again too,
by the resubmit-unsent flow run here (also deployed on a schedule), until a
queue accepts them or their window closes; never twice (request keys).
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconcile", help="trigger pending notices; send unsent requests again",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, help="at most this many notices")
    p.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    from sqlmodel import Session, func, select

    from ..config import load_settings
    from ..db import get_engine
    from ..db.state import DatabaseNotReady, require_current_schema
    from ..intake.trigger import DEFAULT_DEPLOYMENT, reconcile
    from ..models import Notice, NoticeStatus
    from ._start import notice_starter

    settings = load_settings()
    engine = get_engine(settings)
    try:  # before Prefect starts (15-30 s the first time): is there a database to reconcile?
        require_current_schema(engine)
    except DatabaseNotReady as exc:
        if exc.state is None or exc.state.status != "empty":
            raise
        print(f"nothing to reconcile: {exc.state.url}: {exc.state.reason}")
        return 0
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
    unsent_ok = _resubmit_unsent(settings, engine)
    return 0 if left == 0 and unsent_ok else 1


def _resubmit_unsent(settings, engine) -> bool:
    """Run the resubmit-unsent flow here when requests wait unsent; False if some still do."""
    from sqlmodel import Session, func, select

    from ..models import QueueRequestRow
    from ..stages.submit import UNSENT

    with Session(engine) as session:
        waiting = session.exec(select(func.count()).select_from(QueueRequestRow)
                               .where(QueueRequestRow.status == UNSENT)).one()
    if not waiting:
        return True
    from ..embedded.prefect_server import use_prefect_api

    print(f"{waiting} unsent queue request(s): resubmit-unsent in this process")
    with use_prefect_api(settings):
        from ..flows.resubmit import resubmit_unsent_flow

        state = resubmit_unsent_flow(return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    for label, count in result["submitted"].items():
        print(f"{label}: {count} unsent request(s) accepted by the queue now")
    for label, count in result["expired"].items():
        print(f"{label}: {count} request(s) expired unsent (the window closed)")
    for label, error in result["errors"].items():
        print(f"{label}: {result['still_unsent'].get(label, 0)} request(s) still unsent: {error}")
    return not result["errors"]
