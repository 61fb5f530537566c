"""The web pages over HTTP: sessions, CSRF, roles, what they show, what they change.

A real server (uvicorn on loopback) over MS181101ab's real preliminary notice
(tests/web_helpers.py), on SQLite and on PostgreSQL (the production profile's
database behind the same auth).
"""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session, func, select

from tooflow.models import AuditRecord, CircularVersion, Localization, PlanApproval

from . import web_helpers
from .conftest import DATA
from .web_helpers import csrf_of, login

marshal, marshal_postgres, any_marshal, marshal_template, marshal_postgres_template = (
    web_helpers.marshal, web_helpers.marshal_postgres, web_helpers.any_marshal,
    web_helpers.marshal_template, web_helpers.marshal_postgres_template)

SCRIPT = '<script>alert("x")</script>'


def _app_routes(m, method: str) -> list[str]:
    """Every route of the app for ``method``, with its path parameters filled in."""
    from tooflow.web.app import create_app

    values = {"approval_id": m.approval_id, "draft_id": m.draft_id, "event_id": "MS181101ab",
              "plan_id": m.plan_id, "name": "ZTF18aaxjdyr", "kind": "science"}
    out = []
    for route in create_app(m.settings, m.engine).routes:
        if method in (getattr(route, "methods", None) or ()) and route.path != "/static":
            out.append(re.sub(r"\{(\w+)\}", lambda g: str(values.get(g[1], 1)), route.path))
    return out


def _changes(engine) -> tuple:
    """What a refused request must not have changed."""
    with Session(engine) as s:
        from tooflow.models import CandidateVetting

        return (s.exec(select(func.count()).select_from(CircularVersion)).one(),
                s.exec(select(func.count()).select_from(CandidateVetting)).one(),
                s.exec(select(PlanApproval.status)).all(),
                s.exec(select(func.count()).select_from(AuditRecord)
                       .where(AuditRecord.action.not_in(["login", "login_failed"]))).one())


def test_no_page_without_a_session_but_health(any_marshal):
    m = any_marshal
    anonymous = httpx.Client(base_url=m.url, headers={"accept": "text/html"})
    assert anonymous.get("/health").json() == {"ok": True}
    # the login page and the single sign-on's two steps are how a session starts
    gets = [p for p in _app_routes(m, "GET") if p not in ("/health", "/login")
            and not p.startswith("/login/oidc")]
    assert {"/events", "/events/MS181101ab", "/events/MS181101ab/sky.json",
            f"/circulars/{m.draft_id}"} <= set(gets)
    for path in gets:
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/"), path
        api = httpx.get(m.url + path, headers={"accept": "application/json"})
        assert api.status_code == 401 and "MS181101ab" not in api.text, path


def test_every_state_changing_route_refused_without_session_csrf_or_role(any_marshal):
    m = any_marshal
    posts = [p for p in _app_routes(m, "POST") if p != "/login"]
    assert {f"/approvals/{m.approval_id}", f"/circulars/{m.draft_id}",
            f"/circulars/{m.draft_id}/sent", "/logout",
            "/candidates/ZTF18aaxjdyr/vet"} <= set(posts)
    form = {"decision": "approve", "subject": "changed", "body": "changed", "comment": "x",
            "state": "interesting"}
    before = _changes(m.engine)
    duty, viewer = login(m.url, "dora"), login(m.url, "vera")
    viewer_token = csrf_of(viewer)
    for path in posts:
        r = httpx.post(m.url + path, data=form)
        assert r.status_code == 401, (path, r.status_code)
        r = duty.post(path, data=form)  # a session, no token
        assert r.status_code == 403 and "CSRF" in r.text, (path, r.status_code)
        r = duty.post(path, data={**form, "csrf_token": "forged"})
        assert r.status_code == 403, path
        if path != "/logout":  # a viewer may log out, nothing else
            r = viewer.post(path, data={**form, "csrf_token": viewer_token})
            assert r.status_code == 403 and "your role (viewer) may not" in r.text, path
            r = viewer.post(path, data=form, headers={"X-CSRF-Token": viewer_token})
            assert r.status_code == 403, path
    assert _changes(m.engine) == before
    assert duty.get("/events").status_code == 200  # still logged in: nothing was done


def test_login_is_rate_limited_and_recorded(marshal):
    from .web_helpers import PASSWORDS

    client = httpx.Client(base_url=marshal.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
    r = client.post("/login", data={"username": "dora", "password": PASSWORDS["dora"]})
    assert r.status_code == 403  # no CSRF token on the login form either
    for _ in range(5):
        r = client.post("/login", data={"username": "dora", "password": "guess-guess-guess",
                                        "csrf_token": token})
        assert r.status_code == 401 and "wrong user name or password" in r.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)[1]
    r = client.post("/login", data={"username": "dora", "password": PASSWORDS["dora"],
                                    "csrf_token": token})
    assert r.status_code == 429 and "too many failed logins" in r.text
    assert COOKIE_NAME not in client.cookies
    with Session(marshal.engine) as s:
        actions = s.exec(select(AuditRecord.action).where(AuditRecord.actor == "dora")).all()
    assert actions.count("login_failed") == 5 and "login_throttled" in actions
    login(marshal.url, "adam")  # another name is not throttled


COOKIE_NAME = "tooflow_session"


def test_session_cookie_and_headers(marshal):
    client = login(marshal.url, "vera")
    cookie = next(c for c in client.cookies.jar if c.name == COOKIE_NAME)
    assert cookie.has_nonstandard_attr("HttpOnly")
    r = client.get("/events")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    # the database keeps only the token's hash
    from tooflow.models import WebSession

    with Session(marshal.engine) as s:
        assert cookie.value not in {w.token_sha256 for w in s.exec(select(WebSession))}
    # logging out ends the session for good
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    again = httpx.get(marshal.url + "/events", cookies={COOKIE_NAME: cookie.value})
    assert again.status_code == 401


def test_login_redirects_only_to_local_pages(marshal):
    from .web_helpers import PASSWORDS

    client = httpx.Client(base_url=marshal.url)
    for target, expected in [("//evil.example/x", "/events"), ("https://evil.example", "/events"),
                             ("/events/MS181101ab", "/events/MS181101ab")]:
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/login", params={"next": target}).text)[1]
        r = client.post("/login", data={"username": "vera", "password": PASSWORDS["vera"],
                                        "csrf_token": token, "next": target})
        assert r.headers["location"] == expected


def test_events_list_filters(marshal):
    client = login(marshal.url, "vera")
    page = client.get("/events").text
    assert 'href="/events/MS181101ab"' in page and "mock" in page and "ZTF kilonova" in page
    assert 'hx-trigger="every 10s"' in page  # new notices appear without reloading
    shown = {"kind=GW": True, "kind=GRB": False, "mock=mock": True, "mock=real": False,
             "program=ZTF+kilonova": True, "program=GRB+afterglow": False,
             "retracted=no": True, "retracted=yes": False, "q=MS1811": True, "q=S2305": False}
    for query, present in shown.items():
        rows = client.get(f"/events/rows?{query}").text
        assert ('href="/events/MS181101ab"' in rows) is present, query


def test_event_page_shows_the_real_notice(marshal):
    viewer = login(marshal.url, "vera")
    page = viewer.get("/events/MS181101ab").text
    with Session(marshal.engine) as s:
        loc = s.exec(select(Localization)).one()
    assert "PRELIMINARY" in page and "2018-11-01 22:22:46" in page
    assert f"{loc.area_90:.0f} deg²" in page and "39.8 ± 8.3 Mpc" in page
    assert "✔ yes" in page and 'group == \\"CBC\\"' not in page  # escaped, not raw JSON
    assert f'id="plan-{marshal.plan_id}"' in page and "Waiting for approval" in page
    assert "Approve and submit" not in page  # a viewer cannot
    assert "A duty astronomer decides (your role: viewer)" in page
    duty = login(marshal.url, "dora")
    assert "Approve and submit" in duty.get("/events/MS181101ab").text
    assert viewer.get("/events/S000000x").status_code == 404


def test_sky_view_data_matches_the_map(marshal):
    import math

    client = login(marshal.url, "vera")
    sky = client.get("/events/MS181101ab/sky.json").json()
    with Session(marshal.engine) as s:
        loc = s.exec(select(Localization)).one()

    def area(moc: dict) -> float:  # deg² of a MOC: each cell of order o is 4π/(12·4^o) sr
        return sum(len(v) * 4 * math.pi / (12 * 4 ** int(o)) for o, v in moc.items()) \
            * (180 / math.pi) ** 2

    assert abs(area(sky["mocs"]["90"]) - loc.area_90) / loc.area_90 < 0.05
    assert abs(area(sky["mocs"]["50"]) - loc.area_50) / loc.area_50 < 0.05
    assert sky["center"] == [loc.ra, loc.dec]
    assert sky["planned"] and all(f["telescope"] == "ZTF" for f in sky["planned"])
    assert all(len(f["polygon"]) > 4 for f in sky["planned"])  # ZTF's camera outline
    assert sky["executed"] == []


def test_approving_from_the_page_goes_through_decide(marshal):
    duty = login(marshal.url, "dora")
    r = duty.post(f"/approvals/{marshal.approval_id}",
                  data={"decision": "approve", "comment": "DECam time agreed",
                        "csrf_token": csrf_of(duty)})
    assert r.status_code == 303 and r.headers["location"] == \
        f"/events/MS181101ab#plan-{marshal.plan_id}"
    with Session(marshal.engine) as s:
        row = s.get(PlanApproval, marshal.approval_id)
        audit = s.exec(select(AuditRecord).where(AuditRecord.action == "approve_plan")).one()
    assert (row.status, row.decided_by, row.comment) == ("approved", "dora", "DECam time agreed")
    assert audit.actor == "dora" and audit.target == f"plan #{marshal.plan_id}"
    page = duty.get("/events/MS181101ab").text
    assert "Approved by <strong>dora</strong>" in page and "DECam time agreed" in page
    again = duty.post(f"/approvals/{marshal.approval_id}",
                      data={"decision": "reject", "csrf_token": csrf_of(duty)})
    assert again.status_code == 409 and "already approved by dora" in again.text


def test_circular_editor_keeps_every_version(marshal):
    duty = login(marshal.url, "dora")
    page = duty.get(f"/circulars/{marshal.draft_id}").text
    subject = re.search(r'name="subject" value="([^"]+)"', page)[1]
    body = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)[1]
    assert "MS181101ab" in subject and "Save as version 2" in page
    token = csrf_of(duty)
    edited = body.replace("&#39;", "'").replace("&amp;", "&") + "\nWe thank the night crew.\n"
    r = duty.post(f"/circulars/{marshal.draft_id}",
                  data={"subject": subject, "body": edited, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=2")
    r = duty.post(f"/circulars/{marshal.draft_id}",  # unchanged: no new version
                  data={"subject": subject, "body": edited, "csrf_token": token})
    assert r.headers["location"].endswith("?saved=2")
    r = duty.post(f"/circulars/{marshal.draft_id}/sent", data={"csrf_token": token})
    assert r.status_code == 303
    with Session(marshal.engine) as s:
        versions = s.exec(select(CircularVersion).order_by(CircularVersion.number)).all()
    assert [(v.number, v.author) for v in versions] == [(1, "tooflow"), (2, "dora")]
    assert versions[1].body.endswith("We thank the night crew.\n") and versions[1].sent_by == "dora"
    assert versions[0].body.rstrip() == body.replace("&#39;", "'").replace("&amp;", "&").rstrip()
    r = duty.post(f"/circulars/{marshal.draft_id}",
                  data={"subject": "late change", "body": "x", "csrf_token": token})
    assert r.status_code == 409 and "already marked sent" in r.text
    page = duty.get(f"/circulars/{marshal.draft_id}?version=1").text
    assert "marked sent by <strong>dora</strong>" in page and "readonly" in page


def test_script_is_escaped_everywhere(marshal):
    duty = login(marshal.url, "dora")
    token = csrf_of(duty)
    duty.post(f"/circulars/{marshal.draft_id}",
              data={"subject": f"S {SCRIPT}", "body": f"text {SCRIPT}\n", "csrf_token": token})
    duty.post(f"/approvals/{marshal.approval_id}",
              data={"decision": "reject", "comment": SCRIPT, "csrf_token": token})
    pages = [duty.get("/events/MS181101ab").text, duty.get(f"/circulars/{marshal.draft_id}").text]
    for page in pages:
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    # the rows keep exactly what was typed
    with Session(marshal.engine) as s:
        assert s.get(PlanApproval, marshal.approval_id).comment == SCRIPT


ZTF = DATA / "candidates" / "ztf"


def _with_candidates(m) -> list[str]:
    """The four real ZTF alert packets ingested (cutouts and light curves), linked to
    MS181101ab with scores: ZTF's real alerts are not in a mock GW event's map, so the
    link rows are this test's arrangement; everything the page shows of a candidate
    comes from the real packets."""
    from tooflow.candidates.store import ingest_alert_bytes
    from tooflow.models import Candidate, CandidateEvent

    names = []
    for path in sorted(ZTF.glob("*.avro")):
        names += ingest_alert_bytes(path.read_bytes(), str(path), engine=m.engine).names
    with Session(m.engine) as s:
        for i, name in enumerate(sorted(names)):
            cand = s.exec(select(Candidate).where(Candidate.name == name)).one()
            s.add(CandidateEvent(candidate_pk=cand.id, event_pk=m.event_pk, score=0.9 - 0.2 * i,
                                 factors={"localization": 0.5, "rb": cand.scores.get("rb"),
                                          "listed": i < 3}))
        s.commit()
    return sorted(names)


def test_candidates_ranked_with_cutouts_and_vetted(marshal):
    names = _with_candidates(marshal)
    viewer, duty = login(marshal.url, "vera"), login(marshal.url, "dora")
    page = viewer.get("/events/MS181101ab").text
    listed = re.findall(r'<a href="/candidates/(ZTF\w+)\?event=MS181101ab">', page)
    assert listed == names[:3]  # best score first; the unlisted one left out
    assert "Candidates (3 listed)" in page
    every = viewer.get("/events/MS181101ab/candidates?call=1").text
    assert re.findall(r'<a href="/candidates/(ZTF\w+)\?event', every) == names
    png = viewer.get(f"/candidates/{names[0]}/cutouts/difference.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert viewer.get(f"/candidates/{names[0]}/cutouts/nonsense.png").status_code == 404
    assert viewer.get(f"/candidates/{names[0]}/lightcurve.png").content.startswith(b"\x89PNG")
    cpage = viewer.get(f"/candidates/{names[0]}?event=MS181101ab").text
    assert "A duty astronomer vets (your role: viewer)" in cpage and "reference" in cpage
    r = viewer.post(f"/candidates/{names[0]}/vet",
                    data={"state": "interesting", "csrf_token": csrf_of(viewer)})
    assert r.status_code == 403
    token = csrf_of(duty)
    r = duty.post(f"/candidates/{names[0]}/vet", data={
        "state": "interesting", "comment": f"red and fading {SCRIPT}", "event": "MS181101ab",
        "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == \
        f"/candidates/{names[0]}?event=MS181101ab#vetting"
    r = duty.post(f"/candidates/{names[0]}/vet", data={"state": "rejected", "csrf_token": token})
    assert r.status_code == 422 and "rejecting needs a reason" in r.text
    from tooflow.candidates.vetting import history

    rows = history(names[0], engine=marshal.engine)
    assert [(v.state, v.author) for v in rows] == [("interesting", "dora")]
    cpage = duty.get(f"/candidates/{names[0]}").text
    assert "<script>alert" not in cpage and "red and fading &lt;script&gt;" in cpage
    # a rejected candidate leaves the listed page
    duty.post(f"/candidates/{names[1]}/vet", data={"state": "rejected", "reason": "variable star",
                                                  "csrf_token": token})
    page = viewer.get("/events/MS181101ab").text
    assert re.findall(r'<a href="/candidates/(ZTF\w+)\?event', page) == [names[0], names[2]]


def test_candidate_names_are_escaped(marshal):
    """A name is whatever an uploader typed: a <script> in it is shown as text."""
    from tooflow.models import Candidate, CandidateEvent

    with Session(marshal.engine) as s:
        cand = Candidate(facility="KPED", name=SCRIPT, ra=194.3, dec=-17.9)
        s.add(cand)
        s.flush()
        s.add(CandidateEvent(candidate_pk=cand.id, event_pk=marshal.event_pk, score=1.0))
        s.commit()
    page = login(marshal.url, "vera").get("/events/MS181101ab").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)" in page


def test_coverage_is_kept_until_an_exposure_arrives(marshal):
    """The event page's coverage and the coverage over time are computed once per
    (map, exposures), and a new exposure shows on the next request, no restart."""
    from tooflow.models import ExecutedObservationRow, PlannedObservationRow
    from tooflow.records.coverage import _coverage_cached, achieved_coverage
    from tooflow.records.event import load_event_moc
    from tooflow.web.app import _pct

    with Session(marshal.engine, expire_on_commit=False) as s:
        planned = s.exec(select(PlannedObservationRow)
                         .where(PlannedObservationRow.plan_id == marshal.plan_id)
                         .order_by(PlannedObservationRow.start_time)).all()
        held = planned[-1].field_id

        def executed(o):
            return ExecutedObservationRow(
                event_pk=marshal.event_pk, telescope=o.telescope, field_id=o.field_id,
                ra=o.ra, dec=o.dec, filter=o.filter, exposure_time=o.exposure_time,
                obs_time=o.start_time, request_key=o.request_key)

        s.add_all([executed(o) for o in planned if o.field_id != held])
        s.commit()
        moc, _ = load_event_moc(s, marshal.event_pk, marshal.settings)

    def expected(observations) -> str:
        prob, _ = achieved_coverage(moc, [(o.telescope, o.ra, o.dec) for o in observations])
        return _pct(prob["total"])

    client = login(marshal.url, "vera")

    def shown() -> tuple[str, str, int]:
        page = client.get("/events/MS181101ab").text
        total = re.search(r"([\d.]+ %) of the probability covered", page)[1]
        fragment = client.get("/events/MS181101ab/coverage").text
        n, last = re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">([\d.]+ %)',
                             fragment)[-1]
        assert last == total
        return total, last, int(n)

    before = [o for o in planned if o.field_id != held]
    assert shown() == (expected(before),) * 2 + (len(before),)
    misses = _coverage_cached.cache_info().misses
    assert shown() == (expected(before),) * 2 + (len(before),)
    assert _coverage_cached.cache_info().misses == misses  # nothing computed again
    with Session(marshal.engine) as s:
        s.add(executed(planned[-1]))  # a field not observed before
        s.commit()
    after = shown()
    assert after == (expected([*before, planned[-1]]),) * 2 + (len(before) + 1,)
    assert float(after[0].split()[0]) > float(expected(before).split()[0])
    assert _coverage_cached.cache_info().misses > misses
