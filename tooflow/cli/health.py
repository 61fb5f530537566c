"""``tooflow health``: each listener stream's last message, lag and heartbeat.

Exits with status 1 when the database cannot be read (not created yet, at an
older migration, unreachable: one ``database: FAILED:`` line says which and
what to run), the science programs file cannot be read (``programs: FAILED:``),
a listener has not reported for ``--stale`` seconds, notices are
waiting for a flow run or a notice's flow failed (``failed``, with the stage
and reason), so it can serve as a monitoring check. Notices whose first light
in the listener failed are listed as a warning (the flow planned them: only
speed was lost).
"""

from __future__ import annotations

import argparse
import datetime as dt

__all__ = ["add_parser", "health_rows"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="listener lag, last message and heartbeat",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stale", type=float, default=60.0,
                   help="heartbeat age (s) counted as a dead listener (default: %(default)s)")
    p.set_defaults(func=_health)


def _age(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "never"
    s = (now - when).total_seconds()
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago" if s < 7200 else \
        f"{s / 3600:.1f} h ago"


def health_rows(engine, now: dt.datetime | None = None) -> tuple[list, int]:
    """Listener status rows (oldest heartbeat first) and the number of pending notices."""
    from sqlmodel import Session, func, select

    from ..models import ListenerStatus, Notice, NoticeStatus

    with Session(engine) as session:
        rows = list(session.exec(select(ListenerStatus).order_by(
            ListenerStatus.source, ListenerStatus.topic, ListenerStatus.partition)))
        pending = session.exec(select(func.count()).select_from(Notice).where(
            Notice.status == NoticeStatus.received.value)).one()
    return rows, pending


def _health(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..db import get_engine
    from ..models._types import utcnow

    engine = get_engine(load_settings())
    now = utcnow()
    from ..candidates.store import alert_health
    from ..db.state import DatabaseNotReady, explained
    from ..runs.failures import failed_notices, stuck_notices

    try:  # every read first: a database that cannot answer is one named failing check
        with explained(engine):
            rows, pending = health_rows(engine)
            failed, newest = failed_notices(engine)
            stuck = stuck_notices(engine)
            cands = alert_health(engine, now=now)
            slow = _first_light_failures(engine, now)
    except DatabaseNotReady as exc:
        print(f"database: FAILED: {exc}")
        rows = None
    programs_bad = _programs_problem()
    if programs_bad:
        print(f"programs: FAILED: {programs_bad}")
    if rows is None:
        return 1
    if not rows:
        print("no listener has reported yet (`tooflow listen`)")
    stale = 0
    for r in rows:
        dead = (now - r.heartbeat_at).total_seconds() > args.stale
        stale += dead
        lag = "?" if r.lag is None else str(r.lag)
        print(f"{'STALE' if dead else 'ok':5} {r.source}:{r.topic}[{r.partition}] "
              f"lag {lag}, last message {_age(r.last_message_at, now)}, "
              f"heartbeat {_age(r.heartbeat_at, now)} from {r.host}, "
              f"{r.messages} messages ({r.created} new), {r.errors} errors"
              + (f"; last error: {r.last_error}" if r.last_error else ""))
    print(f"{pending} notice(s) waiting for a flow run")
    print(f"{failed} notice(s) failed" + (" (`tooflow rerun EVENT_ID` after the fix):"
                                          if failed else ""))
    for n in newest:
        print(f"  #{n.id} {n.source}: {n.error}")
    if stuck:
        print(f"{len(stuck)} notice(s) whose flow run started but never finished "
              "(past the run's budget; `tooflow rerun EVENT_ID`): "
              + ", ".join(f"#{n.id} ({n.status})" for n in stuck[:10]))
    if slow:  # a warning: the flow's own first light ran, only speed was lost
        print(f"{len(slow)} notice(s) in the last 24 h whose first light in the listener "
              "failed (the flow planned it), newest:")
        for notice_id, reason in slow[:5]:
            print(f"  #{notice_id}: {reason}")
    if cands.waiting:
        print(f"{cands.waiting} candidate alert(s) stored but not parsed for over a minute "
              "(`tooflow candidates listen` parses them when it starts)")
    if cands.rejected:
        print(f"{cands.rejected} candidate alert(s) rejected in the last 24 h (bad input, "
              "recorded), newest:")
        for alert_id, source, reason in cands.newest_rejections:
            print(f"  #{alert_id} {source}: {reason}")
    return 1 if programs_bad or stale or pending or failed or stuck or cands.waiting else 0


def _first_light_failures(engine, now: dt.datetime) -> list[tuple[int, str]]:
    """Notices of the last 24 h whose first light in the listener failed, newest first."""
    from sqlmodel import Session

    from ..records.first_light import listener_failures

    with Session(engine) as session:
        return listener_failures(session, now - dt.timedelta(hours=24))


def _programs_problem() -> str | None:
    """Why the science programs file cannot be read, or None when it can (or there is none).

    Every notice's gate fails while it cannot be read, so ``tooflow health`` fails too.
    """
    from ..config import load_settings
    from ..programs import load_programs

    path = load_settings().resolved_programs_file
    if not path.is_file():
        return None
    try:
        load_programs(path)
    except ValueError as exc:
        return str(exc)
    return None
