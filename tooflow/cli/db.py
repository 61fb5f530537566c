"""``tooflow db``: create, drop or recreate the database."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..config import Settings

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="create, drop or recreate the database",
                       description=__doc__)
    dsub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    c = dsub.add_parser("create", help="create the schema (upgrade to the newest migration)")
    c.add_argument("--sample", action="store_true",
                   help="also load the sample notices shipped with tooflow")
    c.set_defaults(func=_create)
    d = dsub.add_parser("drop", help="drop every table (asks first; --yes to skip)")
    d.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    d.set_defaults(func=_drop)
    r = dsub.add_parser("recreate", help="drop, then create again (asks first; --yes to skip)")
    r.add_argument("--sample", action="store_true",
                   help="also load the sample notices shipped with tooflow")
    r.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    r.set_defaults(func=_recreate)


def _create(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..db import create_schema, get_engine

    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    print(f"database ready: {engine.url.render_as_string(hide_password=True)}")
    if args.sample:
        for line in load_samples(engine, settings):
            print(line)
    return 0


def confirm(question: str, *, stdin=None, stdout=None) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes (or no terminal) is no."""
    import sys

    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not stdin.isatty():
        return False
    stdout.write(f"{question} [y/N] ")
    stdout.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def _drop(args: argparse.Namespace) -> int:
    import sys

    from ..db import drop_schema, get_engine

    engine = get_engine()
    where = engine.url.render_as_string(hide_password=True)
    if not getattr(args, "yes", False) and not confirm(
            f"Drop every table of {where}? Notices, plans and queue requests are lost."):
        print(f"not dropped: {where} (confirm, or pass --yes)", file=sys.stderr)
        return 1
    drop_schema(engine)
    print(f"dropped all tables: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _recreate(args: argparse.Namespace) -> int:
    return _drop(args) or _create(args)


def load_samples(engine: Engine, settings: Settings) -> Iterator[str]:
    """Store, parse and gate every sample notice (no Prefect needed); yield a line each."""
    from ..intake.store import store_notice
    from ..samples import sample_files
    from ..stages.gate import gate_notice
    from ..stages.parse import parse_stored_notice

    for f in sample_files():
        stored = store_notice(f.read_bytes(), f"sample:{f.name}", engine=engine)
        if not stored.created:
            yield f"sample {f.name}: already stored as notice #{stored.notice_id}"
            continue
        outcome = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
        if outcome.rejected:
            yield f"sample {f.name}: rejected: {outcome.reason}"
            continue
        decisions = gate_notice(stored.notice_id, engine=engine, settings=settings)
        hits = [d.program for d in decisions if d.triggered]
        yield (f"sample {f.name}: {outcome.event_id} {outcome.notice_type} → "
               f"{', '.join(hits) or 'no program triggered'}")
