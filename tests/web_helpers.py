"""The web pages on a real server (uvicorn on a free loopback port) over a real notice.

``marshal`` builds what an astronomer opens: MS181101ab's preliminary notice
(tests/data/lvk/avro) stored, parsed, gated, planned by a program that needs
approval (its request waiting), a circular drafted; three users, one per role.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import Session

from tests.waiting import HANG, wait_for

from .programs_helpers import PRELIMINARY, kilonova_program, programs_yaml, use_programs

#: Passwords of the test users (test values, not secrets).
PASSWORDS = {"vera": "viewer-password-1", "dora": "duty-password-12", "adam": "admin-password-1"}
ROLES = {"vera": "viewer", "dora": "duty", "adam": "admin"}


@contextmanager
def serve(app) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on a free port; yield its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), "the web server starts")
        assert server.started, "the web server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(HANG)


def login(url: str, username: str, password: str | None = None) -> httpx.Client:
    """A client logged in through the login form (its CSRF cookie and field)."""
    client = httpx.Client(base_url=url, timeout=HANG, headers={"accept": "text/html"})
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "csrf_token": token,
                                    "password": password or PASSWORDS[username],
                                    "next": "/events"})
    assert r.status_code == 303 and r.headers["location"] == "/events", r.text
    return client


def csrf_of(client: httpx.Client, path: str = "/events") -> str:
    """The session's CSRF token, as a page carries it."""
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text).group(1)


@dataclass
class Marshal:
    """A populated database and its web server."""

    url: str
    engine: object
    settings: object
    event_pk: int
    notice_id: int
    plan_id: int
    approval_id: int
    draft_id: int


def write_config(tmp_path, monkeypatch, *, timeout: float = 3600, extra: str = "") -> None:
    """Programs (ZTF kilonova, approval required) and a config naming them."""
    use_programs(tmp_path, monkeypatch, programs_yaml(kilonova_program(
        approval="required", approval_timeout=timeout, approval_default="reject")), extra)


def add_users(engine) -> None:
    """vera (viewer), dora (duty), adam (admin)."""
    from tooflow.web.accounts import add_user

    with Session(engine) as session:
        for name, role in ROLES.items():
            add_user(session, name, role=role, password=PASSWORDS[name], actor="test")
        session.commit()


def build(engine, settings) -> dict[str, int]:
    """MS181101ab stored, parsed, gated, planned (approval pending); a circular drafted."""
    import datetime as dt

    from tooflow.approvals import request_approval
    from tooflow.intake.store import store_notice
    from tooflow.programs import load_programs
    from tooflow.stages.circular import draft_circular
    from tooflow.stages.gate import gate_notice
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.stages.plan import plan_for_program

    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=engine)
    parsed = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
    gate_notice(stored.notice_id, engine=engine, settings=settings)
    plan_id = plan_for_program(stored.notice_id, "ZTF kilonova", engine=engine,
                               settings=settings, picture=True,
                               start=dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC))
    program = load_programs(settings.resolved_programs_file)[0]
    with Session(engine) as session:
        approval_id = request_approval(session, plan_id, program).id
        session.commit()
    draft_id = draft_circular(parsed.event_pk, "ZTF kilonova", engine=engine,
                              settings=settings)
    add_users(engine)
    return {"event_pk": parsed.event_pk, "notice_id": stored.notice_id, "plan_id": plan_id,
            "approval_id": approval_id, "draft_id": draft_id}


#: Where the session keeps :func:`marshal_template`'s database once built.
_TEMPLATE = pytest.StashKey[tuple]()


@pytest.fixture(scope="module")
def marshal_template(request, tmp_path_factory):
    """One SQLite database and sky-map store built once per session; tests get copies.

    The modules that use it (web, approvals, CLI) share the one build, kept in
    the session's stash (it plans MS181101ab's real map).
    """
    stash = request.config.stash
    if _TEMPLATE not in stash:
        stash[_TEMPLATE] = _build_template(tmp_path_factory.mktemp("marshal"))
    return stash[_TEMPLATE]


def _build_template(home):
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOOFLOW_HOME", str(home))
        mp.delenv("TOOFLOW_DATABASE_URL", raising=False)
        write_config(home, mp)
        engine = get_engine(url=f"sqlite:///{home / 'template.sqlite'}")
        create_schema(engine)
        ids = build(engine, load_settings())
        engine.dispose()  # checkpoints the WAL into the file
    return home, ids


def _start(engine, ids, tmp_path, monkeypatch) -> Iterator[Marshal]:
    from tooflow.config import load_settings
    from tooflow.web.app import create_app

    settings = load_settings()
    with serve(create_app(settings, engine)) as url:
        yield Marshal(url, engine, settings, **ids)


@pytest.fixture
def marshal(marshal_template, tmp_path, monkeypatch) -> Iterator[Marshal]:
    """A copy of the module's database (SQLite) served on a free port."""
    import shutil

    from tooflow.db import get_engine

    home, ids = marshal_template
    db = tmp_path / "tooflow.sqlite"
    shutil.copy(home / "template.sqlite", db)
    write_config(tmp_path, monkeypatch, extra=f"skymap_dir: {home / 'skymaps'}\n")
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", f"sqlite:///{db}")
    yield from _start(get_engine(url=f"sqlite:///{db}"), ids, tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def marshal_postgres_template(tmp_path_factory):
    """The same database built once per module on PostgreSQL: (home, database, ids)."""
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine

    from .conftest import fresh_postgres_database, postgres_database_url

    home = tmp_path_factory.mktemp("marshal-postgres")
    with fresh_postgres_database("tooflow_marshal") as name, \
            pytest.MonkeyPatch.context() as mp:
        url = postgres_database_url(name)
        mp.setenv("TOOFLOW_HOME", str(home))
        mp.setenv("TOOFLOW_DATABASE_URL", url)
        write_config(home, mp)
        engine = get_engine(url=url)
        create_schema(engine)
        ids = build(engine, load_settings())
        engine.dispose()  # no connection may stay open on a template
        yield home, name, ids


@pytest.fixture
def marshal_postgres(marshal_postgres_template, tmp_path, monkeypatch) -> Iterator[Marshal]:
    """The same on PostgreSQL (the production profile's database): a copy of the module's."""
    from tooflow.db import get_engine

    from .conftest import fresh_postgres_database, postgres_database_url

    home, template, ids = marshal_postgres_template
    with fresh_postgres_database("tooflow_web", template=template) as name:
        url = postgres_database_url(name)
        write_config(tmp_path, monkeypatch, extra=f"skymap_dir: {home / 'skymaps'}\n")
        monkeypatch.setenv("TOOFLOW_DATABASE_URL", url)
        engine = get_engine(url=url)
        yield from _start(engine, ids, tmp_path, monkeypatch)
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_marshal(request) -> Marshal:
    """:func:`marshal` on SQLite, :func:`marshal_postgres` on PostgreSQL."""
    return request.getfixturevalue("marshal" if request.param == "sqlite"
                                   else "marshal_postgres")


@pytest.fixture
def planned(marshal_template, tmp_path, monkeypatch):
    """A copy of the module's database: (engine, settings, ids)."""
    import shutil

    from tooflow.config import load_settings
    from tooflow.db import get_engine

    home, ids = marshal_template
    db = tmp_path / "t.sqlite"
    shutil.copy(home / "template.sqlite", db)
    write_config(tmp_path, monkeypatch, timeout=2,
                 extra=f"skymap_dir: {home / 'skymaps'}\n"
                 "web: {url: 'https://marshal.example.org'}\n")
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", f"sqlite:///{db}")
    return get_engine(url=f"sqlite:///{db}"), load_settings(), ids
