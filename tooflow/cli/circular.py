"""``tooflow circular EVENT_ID``: print, edit and mark sent the GCN Circular draft of an event.

Prints the newest version of the newest stored draft (the flow stores one
after monitoring; people edit it here or on the web page, every version kept);
``--redraft`` renders a new one from what the database holds now;
``--edit FILE`` saves the file (``SUBJECT: ...``, a blank line, the text: what
this command prints) as the next version; ``--mark-sent`` records that the
newest version went to GCN; ``--versions`` lists them.
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
    p.add_argument("--edit", metavar="FILE",
                   help="save FILE ('SUBJECT: ...', blank line, text; '-' for stdin) as the "
                        "draft's next version")
    p.add_argument("--mark-sent", action="store_true",
                   help="record that the newest version was sent to GCN")
    p.add_argument("--versions", action="store_true", help="list the draft's versions")
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
    return _versions(args, engine, draft.id)


def _versions(args: argparse.Namespace, engine, draft_id: int) -> int:
    import sys
    from pathlib import Path

    from sqlmodel import Session

    from ..audit import cli_actor
    from ..circulars.versions import (
        latest_version,
        mark_sent,
        parse_circular_text,
        save_version,
        versions,
    )

    with Session(engine, expire_on_commit=False) as session:
        if args.edit:
            text = sys.stdin.read() if args.edit == "-" else Path(args.edit).read_text()
            subject, body = parse_circular_text(text)
            saved = save_version(session, draft_id, subject, body, cli_actor())
            session.commit()
            print(f"circular #{draft_id}: version {saved.number} saved", file=sys.stderr)
        if args.mark_sent:
            sent = mark_sent(session, draft_id, cli_actor())
            session.commit()
            print(f"circular #{draft_id} v{sent.number} marked sent by {sent.sent_by}",
                  file=sys.stderr)
        if args.versions:
            for v in versions(session, draft_id):
                sent = f"  SENT by {v.sent_by} {v.sent:%Y-%m-%d %H:%M}" if v.sent else ""
                print(f"v{v.number}  {v.created:%Y-%m-%d %H:%M} UTC  {v.author:<16} "
                      f"{v.subject}{sent}")
            return 0
        last = latest_version(session, draft_id)
    print(f"SUBJECT: {last.subject}\n\n{last.body.rstrip()}")
    return 0
