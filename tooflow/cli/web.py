"""``tooflow web``: the web pages (events, event pages, plan approval, circulars) and their users.

    tooflow web user add alice --role admin     # asks for the password twice
    tooflow web serve                           # http://127.0.0.1:8400

Roles: ``viewer`` reads; ``duty`` also approves plans, vets candidates and
edits circulars; ``admin`` also manages users. A password comes from the
prompt, or from ``TOOFLOW_WEB_PASSWORD`` when there is no terminal
(provisioning); never from the command line, where ``ps`` would show it.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_parser", "PASSWORD_ENV"]

#: Where a non-interactive ``user add``/``user passwd`` reads the password.
PASSWORD_ENV = "TOOFLOW_WEB_PASSWORD"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``tooflow web serve`` and ``tooflow web user ...``."""
    p = subparsers.add_parser("web", help="serve the web pages; manage their users",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    s = sub.add_parser("serve", help="serve the web pages until interrupted",
                       description="Serve the web pages (uvicorn). Host and port default to "
                                   "the `web` section of the configuration.")
    s.add_argument("--host", help="interface (default: web.host, 127.0.0.1)")
    s.add_argument("--port", type=int, help="TCP port (default: web.port, 8400)")
    s.add_argument("--workers", type=int, default=1,
                   help="worker processes (sessions live in the database, so any number "
                        "works; default: %(default)s)")
    s.set_defaults(func=_serve)

    u = sub.add_parser("user", help="add, list and change users").add_subparsers(
        title="user actions", metavar="USER_ACTION", required=True)
    a = u.add_parser("add", help="add a user (the password from a prompt or "
                                 f"${PASSWORD_ENV})")
    a.add_argument("username")
    a.add_argument("--role", choices=["viewer", "duty", "admin"], default="viewer",
                   help="default: %(default)s")
    a.add_argument("--name", default="", help="full name")
    a.add_argument("--email", default=None)
    a.add_argument("--sso-only", action="store_true",
                   help="no password: logs in through single sign-on only")
    a.set_defaults(func=_user_add)
    pw = u.add_parser("passwd", help="set a user's password (ends their sessions)")
    pw.add_argument("username")
    pw.set_defaults(func=_user_passwd)
    r = u.add_parser("role", help="change a user's role, or disable/enable them")
    r.add_argument("username")
    r.add_argument("role", choices=["viewer", "duty", "admin"])
    r.add_argument("--disable", action="store_true", help="refuse their logins, end sessions")
    r.add_argument("--enable", action="store_true")
    r.set_defaults(func=_user_role)
    ls = u.add_parser("list", help="list users")
    ls.set_defaults(func=_user_list)
    return p


def _password(prompt_twice: bool = True) -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise ValueError(f"no terminal to prompt on; export {PASSWORD_ENV} instead")
    import getpass

    first = getpass.getpass("Password: ")
    if prompt_twice and getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _session():
    from sqlmodel import Session

    from ..db import create_schema, get_engine

    engine = get_engine()
    create_schema(engine)  # the users' tables exist on a database made by an older tooflow
    return Session(engine, expire_on_commit=False)


def _user_add(args: argparse.Namespace) -> int:
    from ..audit import cli_actor
    from ..web.accounts import add_user

    password = None if args.sso_only else _password()
    with _session() as session:
        user = add_user(session, args.username, role=args.role, password=password,
                        full_name=args.name, email=args.email, actor=cli_actor())
        session.commit()
        print(f"user {user.username!r} added, role {user.role}")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    from ..audit import cli_actor
    from ..web.accounts import set_password

    password = _password()
    with _session() as session:
        set_password(session, args.username, password, actor=cli_actor())
        session.commit()
    print(f"password of {args.username!r} changed; their sessions ended")
    return 0


def _user_role(args: argparse.Namespace) -> int:
    from ..audit import cli_actor
    from ..web.accounts import set_role

    active = False if args.disable else True if args.enable else None
    with _session() as session:
        user = set_role(session, args.username, args.role, active=active, actor=cli_actor())
        session.commit()
        print(f"{user.username}: role {user.role}, {'active' if user.active else 'disabled'}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from ..models import User

    with _session() as session:
        users = session.exec(select(User).order_by(User.username)).all()
    if not users:
        print("no user yet: `tooflow web user add NAME --role admin`")
    for u in users:
        how = "password" if u.password_hash else "single sign-on"
        print(f"{u.username:<20} {u.role:<7} {'active' if u.active else 'DISABLED':<9} {how}"
              f"{'  ' + u.full_name if u.full_name else ''}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..config import load_settings
    from ..db import create_schema, get_engine
    from ..web.config import web_config

    settings = load_settings()
    config = web_config(settings)
    host, port = args.host or config.host, args.port or config.port
    create_schema(get_engine(settings))
    with _session() as session:
        from sqlalchemy import func
        from sqlmodel import select

        from ..models import User

        n_users = session.exec(select(func.count()).select_from(User)).one()
    print(f"tooflow web pages on http://{host}:{port}/events"
          + ("" if n_users else "  (no user yet: `tooflow web user add NAME --role admin`)"),
          flush=True)
    uvicorn.run("tooflow.web.app:app_from_settings", factory=True, host=host, port=port,
                workers=args.workers, log_level="warning", proxy_headers=True)
    return 0
