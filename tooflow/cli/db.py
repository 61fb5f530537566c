"""``tooflow db``: create, drop or recreate the database."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="create, drop or recreate the database",
                       description=__doc__)
    dsub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    c = dsub.add_parser("create", help="create the schema (upgrade to the newest migration)")
    c.add_argument("--sample", action="store_true",
                   help="also load the sample notices shipped with tooflow")
    c.set_defaults(func=_create)
    dsub.add_parser("drop", help="drop every table").set_defaults(func=_drop)
    r = dsub.add_parser("recreate", help="drop, then create again")
    r.add_argument("--sample", action="store_true",
                   help="also load the sample notices shipped with tooflow")
    r.set_defaults(func=_recreate)


def _create(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..db import create_schema, get_engine

    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    print(f"database ready: {engine.url.render_as_string(hide_password=True)}")
    if args.sample:
        from ..samples import load_samples

        for line in load_samples(engine, settings):
            print(line)
    return 0


def _drop(args: argparse.Namespace) -> int:
    from ..db import drop_schema, get_engine

    engine = get_engine()
    drop_schema(engine)
    print(f"dropped all tables: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _recreate(args: argparse.Namespace) -> int:
    _drop(args)
    return _create(args)
