"""``tooflow events`` and ``tooflow show``: what the database knows."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="list events, newest first",
                       description="List events, newest first.")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--kind", help="only this kind (GW, GRB, neutrino, supernova, X-ray)")
    p.set_defaults(func=_events)
    s = sub.add_parser("show", help="show one event: notices, gate, plans, requests, observations",
                       description="Show everything stored about one event: its notices "
                       "and their flow runs, gate decisions, plans, queue requests and "
                       "their errors, executed observations and coverage, circular drafts.")
    s.add_argument("event_id", metavar="EVENT_ID", help="e.g. S230518h, MS181101ab")
    s.set_defaults(func=_show)


def _events(args: argparse.Namespace) -> int:
    from sqlmodel import Session, func, select

    from ..db import get_engine
    from ..db.state import DatabaseNotReady, explained
    from ..models import Event, Notice

    engine = get_engine()
    try:
        with explained(engine), Session(engine) as session:
            q = select(Event).order_by(Event.time.desc()).limit(args.limit)
            if args.kind:
                q = q.where(Event.kind == args.kind)
            events = session.exec(q).all()
            counts = {e.id: session.exec(select(func.count()).select_from(Notice)
                                         .where(Notice.event_pk == e.id)).one()
                      for e in events}
    except DatabaseNotReady as exc:
        if exc.state is None or exc.state.status != "empty":
            raise
        print(f"no events yet in {exc.state.url} ({exc.state.reason}; "
              "`tooflow ingest FILE` stores one)")
        return 0
    if not events:
        print("no events yet: `tooflow ingest FILE` stores one")
        return 0
    print(f"{'EVENT':<24} {'KIND':<10} {'TIME (UTC)':<20} {'LATEST':<13} "
          f"{'NOTICES':>7}  FLAGS")
    for e in events:
        flags = ",".join(f for f, on in (("mock", e.is_mock), ("retracted", e.retracted))
                         if on)
        print(f"{e.event_id:<24} {e.kind:<10} {e.time:%Y-%m-%d %H:%M:%S}  "
              f"{e.latest_notice_type or '?':<13} {counts[e.id]:>7}  {flags}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from ..config import load_settings
    from ..db import get_engine
    from ..db.state import DatabaseNotReady, database_label, explained
    from ..models import Event, Notice
    from ..views.event import load_event_view, render_text

    settings = load_settings()
    engine = get_engine(settings)
    try:
        with explained(engine), Session(engine) as session:
            event = session.exec(select(Event).where(Event.event_id == args.event_id)).first()
            if event is None:
                raise LookupError(f"no event {args.event_id!r} in {database_label(engine)}; "
                                  "`tooflow events` lists them")
            # The Prefect UI's address costs an import of Prefect (seconds): only for runs to link.
            runs = session.exec(select(Notice.id).where(Notice.event_pk == event.id,
                                                        Notice.flow_run_id.is_not(None))).first()
            view = load_event_view(session, args.event_id,
                                   ui_base=_ui_base(settings) if runs is not None else None,
                                   settings=settings)
    except DatabaseNotReady as exc:
        if exc.state is None or exc.state.status != "empty":
            raise
        raise LookupError(f"no event {args.event_id!r} in {exc.state.url} ({exc.state.reason}; "
                          f"{exc.state.advice})") from None
    print(render_text(view))
    return 0


def _ui_base(settings) -> str | None:
    """The Prefect UI for flow-run links: the configured server, else the local one if up."""
    from ..embedded.prefect_server import configured_api_url, local_server_status

    api = configured_api_url() or (local_server_status(settings) or {}).get("url")
    return str(api).rstrip("/").removesuffix("/api") if api else None
