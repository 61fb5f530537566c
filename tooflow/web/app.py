"""The FastAPI application behind ``tooflow web serve``.

Every route but ``/health`` and the login page needs a session; every POST
needs the session's CSRF token (a form field, or the ``X-CSRF-Token`` header
htmx sends); what a route changes goes through the plain functions the CLI
calls (:mod:`tooflow.approvals`, :mod:`tooflow.circulars.versions`), which
record who did it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..models import CircularDraft, Event, GateDecision, Localization, Notice, Plan, PlanApproval
from . import accounts
from .config import WebConfig, web_config

__all__ = ["create_app", "COOKIE", "PAGE_SIZE"]

HERE = Path(__file__).parent
#: The session cookie's name.
COOKIE = "tooflow_session"
_LOGIN_CSRF = "tooflow_login_csrf"
_OIDC_COOKIE = "tooflow_oidc"
#: Events per page of the list.
PAGE_SIZE = 50

_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' data:; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class NotLoggedIn(Exception):
    """No valid session: pages redirect to the login page, API routes answer 401."""


class Viewer:
    """The logged-in person of a request: user row, CSRF token, what they may do."""

    def __init__(self, user, web_session) -> None:
        self.user = user
        self.username = user.username
        self.role = user.role
        self.csrf = web_session.csrf_token

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` (approve, vet, edit_circular, manage_users)."""
        return accounts.can(self.user, action)


def _fmt_time(value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(dt.UTC).strftime(fmt)


def _pct(x: float | None, digits: int = 1) -> str:
    return f"{100 * (x or 0.0):.{digits}f} %"


def _num(x: Any, fmt: str = ".3g") -> str:
    try:
        return format(float(x), fmt)
    except (TypeError, ValueError):
        return "" if x is None else str(x)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the web application.

    Parameters
    ----------
    settings : Settings, optional
        Configuration (``web`` section, database, sky maps); loaded when omitted.
    engine : Engine, optional
        Database engine; the configured one when omitted.
    """
    from ..db import get_engine

    settings = settings or load_settings()
    engine = engine or get_engine(settings)
    config: WebConfig = web_config(settings)
    app = FastAPI(title="tooflow", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(utc=_fmt_time, pct=_pct, num=_num)
    app.state.settings, app.state.engine, app.state.config = settings, engine, config
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def db():
        with Session(engine, expire_on_commit=False) as session:
            yield session

    def viewer(request: Request, session: Session = Depends(db)) -> Viewer:
        found = accounts.session_user(session, request.cookies.get(COOKIE))
        if found is None:
            raise NotLoggedIn()
        return Viewer(*found)

    async def csrf_checked(request: Request, who: Viewer = Depends(viewer)) -> Viewer:
        sent = request.headers.get("x-csrf-token")
        if sent is None:
            form = await request.form()
            sent = form.get("csrf_token")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, who.csrf):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page")
        return who

    def allowed(action: str):
        def check(who: Viewer = Depends(csrf_checked)) -> Viewer:
            if not who.can(action):
                what = action.replace("_", " ")
                raise HTTPException(403, f"your role ({who.role}) may not {what}")
            return who
        return check

    may_approve, may_edit, may_vet = (allowed("approve"), allowed("edit_circular"),
                                      allowed("vet"))

    def page(request: Request, name: str, who: Viewer | None, status: int = 200,
             **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"who": who, **context},
                                          status_code=status)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        import time

        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.1f}"
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def _login_first(request: Request, _exc: NotLoggedIn):
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={_safe_next(target)}", status_code=303)
        return JSONResponse({"detail": "log in first"}, status_code=401)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if "text/html" in request.headers.get("accept", "") and not request.headers.get(
                "hx-request"):
            return page(request, "error.html", None, status=exc.status_code,
                        message=exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    # ---- health and login -------------------------------------------------------------

    @app.get("/health")
    def health(session: Session = Depends(db)) -> dict[str, Any]:
        """For load balancers: the database answers (no session needed)."""
        session.exec(select(func.count()).select_from(Event)).one()
        return {"ok": True}

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/events"):
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", None, next=_safe_next(next), login_csrf=token,
                        sso=config.oidc.label if config.oidc else None)
        response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict",
                            secure=config.cookie_secure, max_age=3600)
        return response

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf_token: str = Form(""), next: str = Form("/events"),
              session: Session = Depends(db)):
        cookie = request.cookies.get(_LOGIN_CSRF) or ""
        if not cookie or not secrets.compare_digest(cookie, csrf_token):
            raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
        ip = request.client.host if request.client else None
        try:
            user = accounts.authenticate(session, username, password, ip=ip, config=config)
        except (accounts.LoginRefused, accounts.TooManyAttempts) as exc:
            session.commit()  # the failed attempt counts
            status = 429 if isinstance(exc, accounts.TooManyAttempts) else 401
            token = secrets.token_urlsafe(24)
            response = page(request, "login.html", None, status=status, error=str(exc),
                            next=_safe_next(next), login_csrf=token, username=username,
                            sso=config.oidc.label if config.oidc else None)
            response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict",
                                secure=config.cookie_secure, max_age=3600)
            return response
        token = accounts.start_session(session, user, ip=ip, config=config)
        session.commit()
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                            secure=config.cookie_secure,
                            max_age=int(config.session_hours * 3600))
        response.delete_cookie(_LOGIN_CSRF)
        return response

    def _redirect_uri(request: Request) -> str:
        return (f"{config.base_url}/login/oidc/callback" if config.url
                else str(request.url_for("oidc_callback")))

    @app.get("/login/oidc")
    def oidc_begin(request: Request, next: str = "/events"):
        """Send the browser to the institution's provider (single sign-on)."""
        import json

        from .oidc import begin

        if config.oidc is None:
            raise HTTPException(404, "single sign-on is not configured")
        url, login = begin(config.oidc, _redirect_uri(request), _safe_next(next))
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(_OIDC_COOKIE, json.dumps(login.__dict__), httponly=True,
                            samesite="lax", secure=config.cookie_secure, max_age=600)
        return response

    @app.get("/login/oidc/callback", name="oidc_callback")
    def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "",
                      session: Session = Depends(db)):
        """The provider sends the browser back here with a code: log the user in."""
        import json

        from ..audit import record
        from .oidc import OidcError, OidcLogin, finish

        if config.oidc is None:
            raise HTTPException(404, "single sign-on is not configured")
        ip = request.client.host if request.client else None
        try:
            if error:
                raise OidcError(f"the provider refused: {error}")
            try:
                login = OidcLogin(**json.loads(request.cookies.get(_OIDC_COOKIE) or ""))
            except (ValueError, TypeError) as exc:
                raise OidcError("no single sign-on under way in this browser") from exc
            user = finish(session, config.oidc, _redirect_uri(request), login, code=code,
                          state=state)
        except OidcError as exc:
            session.rollback()
            record(session, "?", "login_failed", ip=ip, how="oidc", why=str(exc))
            session.commit()
            raise HTTPException(403, str(exc)) from exc
        token = accounts.start_session(session, user, ip=ip, config=config, how="oidc")
        session.commit()
        response = RedirectResponse(_safe_next(login.next), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                            secure=config.cookie_secure,
                            max_age=int(config.session_hours * 3600))
        response.delete_cookie(_OIDC_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, who: Viewer = Depends(csrf_checked),
               session: Session = Depends(db)):
        from ..audit import record

        accounts.end_session(session, request.cookies.get(COOKIE))
        record(session, who.username, "logout")
        session.commit()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # ---- events ------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def root(_who: Viewer = Depends(viewer)):
        return RedirectResponse("/events", status_code=303)

    @app.get("/events", response_class=HTMLResponse)
    def events_page(request: Request, who: Viewer = Depends(viewer),
                    session: Session = Depends(db)):
        filters = _filters(request)
        rows, total = _event_rows(session, filters)
        programs = session.exec(select(GateDecision.program).distinct()
                                .order_by(GateDecision.program)).all()
        kinds = session.exec(select(Event.kind).distinct().order_by(Event.kind)).all()
        return page(request, "events.html", who, rows=rows, total=total, filters=filters,
                    programs=programs, kinds=kinds, page_size=PAGE_SIZE,
                    query=_query(filters), now=dt.datetime.now(dt.UTC))

    @app.get("/events/rows", response_class=HTMLResponse)
    def events_rows(request: Request, who: Viewer = Depends(viewer),
                    session: Session = Depends(db)):
        """The list's rows alone: htmx polls this, so new notices appear without reloading."""
        filters = _filters(request)
        rows, total = _event_rows(session, filters)
        return page(request, "_event_rows.html", who, rows=rows, total=total, filters=filters,
                    page_size=PAGE_SIZE, query=_query(filters), now=dt.datetime.now(dt.UTC))

    @app.get("/events/{event_id}", response_class=HTMLResponse)
    def event_page(request: Request, event_id: str, who: Viewer = Depends(viewer),
                   session: Session = Depends(db)):
        from ..audit import recent
        from ..circulars.versions import versions
        from ..views.event import load_event_view

        try:
            view = load_event_view(session, event_id, ui_base=_prefect_ui(settings),
                                   settings=settings, coverage=True, candidates=False)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        event = session.exec(select(Event).where(Event.event_id == event_id)).one()
        approvals = {a.plan_id: a for a in session.exec(
            select(PlanApproval).where(PlanApproval.event_pk == event.id))}
        from ..approvals import settle_expired

        for a in approvals.values():
            settle_expired(session, a)
        session.commit()
        plans = {p.id: p for p in session.exec(select(Plan).where(Plan.event_pk == event.id))}
        locs = session.exec(select(Localization).where(Localization.event_pk == event.id)
                            .order_by(Localization.id)).all()
        drafts = session.exec(select(CircularDraft).where(CircularDraft.event_pk == event.id)
                              .order_by(CircularDraft.id)).all()
        circulars = [(d, versions(session, d.id)) for d in drafts]
        return page(request, "event.html", who, view=view, event=event, approvals=approvals,
                    plans=plans, localizations=locs, circulars=circulars,
                    activity=recent(session, event_pk=event.id, limit=30),
                    candidates=_candidates(session, event.id, request))

    @app.get("/events/{event_id}/candidates", response_class=HTMLResponse)
    def event_candidates_page(request: Request, event_id: str, who: Viewer = Depends(viewer),
                              session: Session = Depends(db)):
        """One page of the event's ranked candidates (htmx swaps it into the event page)."""
        event = _event(session, event_id)
        return page(request, "_candidates.html", who, event=event,
                    candidates=_candidates(session, event.id, request))

    @app.get("/candidates/{name}", response_class=HTMLResponse)
    def candidate_view(request: Request, name: str, event: str | None = None,
                       who: Viewer = Depends(viewer)):
        from ..candidates.vetting import VettingError
        from ..candidates.views import load_candidate_view
        from ..models import VettingState

        try:
            view = load_candidate_view(name, engine=engine)
        except VettingError as exc:
            raise HTTPException(404, str(exc)) from exc
        return page(request, "candidate.html", who, view=view, event_id=event,
                    states=[s.value for s in VettingState if s.value != "new"],
                    followup=sorted(_followup_facilities(settings)))

    @app.get("/candidates/{name}/cutouts/{kind}.png")
    def cutout(name: str, kind: str, _who: Viewer = Depends(viewer),
               session: Session = Depends(db)):
        from ..candidates.vetting import VettingError, find_candidate
        from ..models import CandidateCutout
        from .candidates import cutout_png

        try:
            cand = find_candidate(session, name)
        except VettingError as exc:
            raise HTTPException(404, str(exc)) from exc
        row = session.exec(select(CandidateCutout).where(
            CandidateCutout.alert_id == cand.latest_alert_id,
            CandidateCutout.kind == kind)).first() if cand.latest_alert_id else None
        if row is None:
            raise HTTPException(404, f"{name} has no {kind} cutout")
        try:
            png = cutout_png(row.data)
        except Exception as exc:  # noqa: BLE001 - a broken cutout says so
            raise HTTPException(422, f"{name} {kind} cutout unreadable: {exc}") from exc
        return Response(png, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400",
                                 "ETag": f'"{row.sha256}"'})

    @app.get("/candidates/{name}/lightcurve.png")
    def light_curve(name: str, _who: Viewer = Depends(viewer)):
        import tempfile

        from ..candidates.plots import save_light_curve_png
        from ..candidates.vetting import VettingError
        from ..candidates.views import load_candidate_view

        try:
            view = load_candidate_view(name, engine=engine)
        except VettingError as exc:
            raise HTTPException(404, str(exc)) from exc
        with tempfile.TemporaryDirectory() as tmp:
            path = save_light_curve_png(view.photometry, Path(tmp) / "lc.png", title=name)
            return Response(path.read_bytes(), media_type="image/png")

    @app.post("/candidates/{name}/vet")
    def vet_candidate(request: Request, name: str, state: str = Form(""),
                      comment: str = Form(""), reason: str = Form(""),
                      classification: str = Form(""), redshift: str = Form(""),
                      report: str = Form(""), event: str = Form(""),
                      followup: list[str] = Form([]),
                      who: Viewer = Depends(may_vet)):
        from ..candidates.vetting import VettingError, vet

        try:
            z = float(redshift) if redshift.strip() else None
        except ValueError as exc:
            raise HTTPException(422, f"redshift {redshift!r} is not a number") from exc
        try:
            vet(name, author=who.username, state=state or None, comment=comment or None,
                reason=reason or None, classification=classification or None, redshift=z,
                report={"yes": True, "no": False}.get(report), event_id=event or None,
                followup=followup or None, engine=engine, settings=settings)
        except VettingError as exc:
            status = 404 if "no candidate" in str(exc) else 422
            raise HTTPException(status, str(exc)) from exc
        from urllib.parse import quote

        back = f"/candidates/{quote(name, safe='')}" + (f"?event={quote(event)}" if event else "")
        return RedirectResponse(back + "#vetting", status_code=303)

    @app.get("/events/{event_id}/sky.json")
    def sky_json(event_id: str, _who: Viewer = Depends(viewer),
                 session: Session = Depends(db)):
        from .sky import sky_layers

        event = _event(session, event_id)
        return JSONResponse(sky_layers(session, event.id, settings))

    @app.get("/events/{event_id}/coverage", response_class=HTMLResponse)
    def coverage(request: Request, event_id: str, who: Viewer = Depends(viewer),
                 session: Session = Depends(db)):
        """Achieved coverage over time (a fragment the event page loads after itself)."""
        from .sky import coverage_over_time

        event = _event(session, event_id)
        try:
            points, error = coverage_over_time(session, event.id, settings), None
        except Exception as exc:  # noqa: BLE001 - say why instead of a blank
            points, error = [], f"{type(exc).__name__}: {exc}"
        return page(request, "_coverage.html", who, points=points, error=error)

    @app.get("/plans/{plan_id}.png")
    def plan_png(plan_id: int, _who: Viewer = Depends(viewer), session: Session = Depends(db)):
        plan = session.get(Plan, plan_id)
        if plan is None or not plan.png_path or not Path(plan.png_path).is_file():
            raise HTTPException(404, f"plan #{plan_id} has no picture")
        return FileResponse(plan.png_path, media_type="image/png")

    # ---- plan approval -----------------------------------------------------------------

    @app.post("/approvals/{approval_id}")
    def approve(request: Request, approval_id: int, decision: str = Form(...),
                comment: str = Form(""), who: Viewer = Depends(may_approve),
                session: Session = Depends(db)):
        from ..approvals import ApprovalClosed, decide

        try:
            row = decide(session, approval_id, decision, who.username, comment)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        except (ApprovalClosed, ValueError) as exc:
            raise HTTPException(409, str(exc)) from exc
        session.commit()
        event = session.get(Event, row.event_pk)
        return RedirectResponse(f"/events/{event.event_id}#plan-{row.plan_id}", status_code=303)

    # ---- circulars ---------------------------------------------------------------------

    @app.get("/circulars/{draft_id}", response_class=HTMLResponse)
    def circular_page(request: Request, draft_id: int, version: int | None = None,
                      who: Viewer = Depends(viewer), session: Session = Depends(db)):
        from ..circulars.versions import versions

        draft = session.get(CircularDraft, draft_id)
        if draft is None:
            raise HTTPException(404, f"no circular draft #{draft_id}")
        history = versions(session, draft_id)
        shown = next((v for v in history if v.number == version), history[-1])
        return page(request, "circular.html", who, draft=draft, history=history, shown=shown,
                    event=session.get(Event, draft.event_pk),
                    sent=next((v for v in history if v.sent), None))

    @app.post("/circulars/{draft_id}")
    def circular_save(request: Request, draft_id: int, subject: str = Form(""),
                      body: str = Form(""), who: Viewer = Depends(may_edit),
                      session: Session = Depends(db)):
        from ..circulars.versions import CircularEditError, save_version

        try:
            saved = save_version(session, draft_id, subject, body, who.username)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        except CircularEditError as exc:
            raise HTTPException(409, str(exc)) from exc
        session.commit()
        return RedirectResponse(f"/circulars/{draft_id}?saved={saved.number}", status_code=303)

    @app.post("/circulars/{draft_id}/sent")
    def circular_sent(request: Request, draft_id: int,
                      who: Viewer = Depends(may_edit),
                      session: Session = Depends(db)):
        from ..circulars.versions import CircularEditError, mark_sent

        try:
            mark_sent(session, draft_id, who.username)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        except CircularEditError as exc:
            raise HTTPException(409, str(exc)) from exc
        session.commit()
        return RedirectResponse(f"/circulars/{draft_id}", status_code=303)

    app.state.routes_hooks = {"viewer": viewer, "db": db, "csrf_checked": csrf_checked,
                              "may_vet": may_vet, "page": page}
    return app


def _event(session: Session, event_id: str) -> Event:
    event = session.exec(select(Event).where(Event.event_id == event_id)).first()
    if event is None:
        raise HTTPException(404, f"no event {event_id!r}")
    return event


def _candidates(session: Session, event_pk: int, request: Request):
    """The page of the event's candidates the request asks for (``cpage``, ``call``)."""
    from .candidates import candidate_page

    try:
        number = max(1, int(request.query_params.get("cpage", 1)))
    except ValueError:
        number = 1
    return candidate_page(session, event_pk, page=number,
                          include_all=request.query_params.get("call") == "1")


def _followup_facilities(settings: Settings) -> list[str]:
    """The facilities a vetting action may request follow-up from."""
    try:
        from ..candidates.config import CandidateConfig

        return list(CandidateConfig.from_settings(settings).followup)
    except Exception:  # noqa: BLE001 - the form still vets without follow-up
        return []


def _safe_next(target: str | None) -> str:
    """Only a local path (no ``//host``, no scheme): an open redirect otherwise."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/events"
    return target


_UI_CACHE: dict[str, tuple[float, str | None]] = {}


def _prefect_ui(settings: Settings) -> str | None:
    """The Prefect UI for flow-run links (as ``tooflow show``), looked up once a minute."""
    import time

    now = time.monotonic()
    cached = _UI_CACHE.get(str(settings.home))
    if cached and now - cached[0] < 60:
        return cached[1]
    try:
        from ..embedded.prefect_server import configured_api_url, local_server_status

        api = configured_api_url() or (local_server_status(settings) or {}).get("url")
        url = str(api).rstrip("/").removesuffix("/api") if api else None
    except Exception:  # noqa: BLE001 - links are a convenience
        url = None
    _UI_CACHE[str(settings.home)] = (now, url)
    return url


_FILTERS = {"kind": "", "mock": "all", "program": "", "retracted": "all", "q": ""}


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {k: (q.get(k) or d)[:100] for k, d in _FILTERS.items()}
    if out["mock"] not in ("all", "real", "mock"):
        out["mock"] = "all"
    if out["retracted"] not in ("all", "yes", "no"):
        out["retracted"] = "all"
    try:
        out["page"] = max(1, int(q.get("page", 1)))
    except ValueError:
        out["page"] = 1
    return out


def _query(filters: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in filters.items() if k != "page" and v != _FILTERS[k]})


def _event_rows(session: Session, f: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """One page of events, newest first, with what the list shows about each."""
    query = select(Event)
    if f["kind"]:
        query = query.where(Event.kind == f["kind"])
    if f["mock"] != "all":
        query = query.where(Event.is_mock == (f["mock"] == "mock"))
    if f["retracted"] != "all":
        query = query.where(Event.retracted == (f["retracted"] == "yes"))
    if f["q"]:
        query = query.where(Event.event_id.contains(f["q"]))
    if f["program"]:
        triggered = (select(GateDecision.event_pk)
                     .where(GateDecision.program == f["program"], GateDecision.triggered))
        query = query.where(Event.id.in_(triggered))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    events = session.exec(query.order_by(Event.time.desc(), Event.id.desc())
                          .offset((f["page"] - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    ids = [e.id for e in events]
    if not ids:
        return [], total
    counts = dict(session.exec(select(Notice.event_pk, func.count()).where(
        Notice.event_pk.in_(ids)).group_by(Notice.event_pk)).all())
    last_seen = dict(session.exec(select(Notice.event_pk, func.max(Notice.received)).where(
        Notice.event_pk.in_(ids)).group_by(Notice.event_pk)).all())
    failed = {pk for pk, in session.exec(select(Notice.event_pk).where(
        Notice.event_pk.in_(ids), Notice.status == "failed"))}
    triggered: dict[int, set[str]] = {}
    for pk, program in session.exec(select(GateDecision.event_pk, GateDecision.program).where(
            GateDecision.event_pk.in_(ids), GateDecision.triggered)):
        triggered.setdefault(pk, set()).add(program)
    locs: dict[int, Localization] = {}
    for loc in session.exec(select(Localization).where(Localization.event_pk.in_(ids))
                            .order_by(Localization.id)):
        locs[loc.event_pk] = loc  # the latest wins
    pending = dict(session.exec(select(PlanApproval.event_pk, func.count()).where(
        PlanApproval.event_pk.in_(ids), PlanApproval.status == "pending")
        .group_by(PlanApproval.event_pk)).all())
    rows = []
    for e in events:
        loc = locs.get(e.id)
        last = last_seen.get(e.id)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        rows.append({"event": e, "notices": counts.get(e.id, 0), "last_notice": last,
                     "failed": e.id in failed or bool(e.last_error),
                     "programs": sorted(triggered.get(e.id, ())),
                     "area_90": loc.area_90 if loc else None,
                     "distance": loc.distance_mean if loc else None,
                     "pending": pending.get(e.id, 0)})
    return rows, total


def app_from_settings() -> FastAPI:
    """The application on the configured settings (uvicorn's factory for ``tooflow web serve``).

    The sky-map and plotting libraries are imported here, before the server
    answers, rather than by the first event page someone opens (tens of
    seconds on a busy machine).
    """
    import importlib

    for name in ("tooflow.records.coverage", "tooflow.records.event", "tooflow.web.sky",
                 "tooflow.planning.plot", "tooflow.candidates.plots"):
        importlib.import_module(name)
    return create_app()
