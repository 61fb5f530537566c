"""``tooflow circular EVENT_ID``: print the GCN Circular draft of an event.

Prints the newest stored draft (the flow stores one after monitoring);
``--redraft`` renders a new one from what the database holds now.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("circular", help="print (or redraft) an event's GCN Circular draft",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("event_id", metavar="EVENT_ID", help="e.g. S230518h, MS181101ab")
    p.add_argument("--program", help="the program whose draft to show (default: newest)")
    p.add_argument("--redraft", action="store_true",
                   help="render a new draft from the stored observations")
    p.set_defaults(func=_circular)


def _circular(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from ..config import load_settings
    from ..db import get_engine
    from ..models import CircularDraft, Event, Plan

    settings = load_settings()
    engine = get_engine(settings)
    with Session(engine) as session:
        event = session.exec(select(Event).where(Event.event_id == args.event_id)).first()
        if event is None:
            raise LookupError(f"no event {args.event_id!r}; `tooflow events` lists them")
        query = select(CircularDraft).where(CircularDraft.event_pk == event.id)
        if args.program:
            query = query.where(CircularDraft.program == args.program)
        draft = session.exec(query.order_by(CircularDraft.id.desc())).first()
        program = args.program or (draft.program if draft else None)
        if program is None:
            plan = session.exec(select(Plan).where(Plan.event_pk == event.id)
                                .order_by(Plan.id.desc())).first()
            program = plan.program if plan else None
    if args.redraft or draft is None:
        if program is None:
            raise LookupError(f"{args.event_id}: no program planned observations; "
                              "nothing to draft")
        from ..stages.circular import draft_circular

        draft_id = draft_circular(event.id, program, engine=engine, settings=settings)
        with Session(engine) as session:
            draft = session.get(CircularDraft, draft_id)
    print(f"SUBJECT: {draft.subject}\n\n{draft.body}")
    return 0
