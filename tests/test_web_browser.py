"""The web pages in a real browser (Playwright driving the system's Chromium).

A duty astronomer logs in, opens MS181101ab (its real preliminary notice, run
through the handle-notice flow under Prefect's test harness, the telescopes
the simulator), looks at the sky view and the plan, approves the plan that
waits for approval (the flow then submits it, the simulator observes, the
circular is drafted), vets a candidate (real ZTF alert packets, their cutouts
and light curves), and edits and saves the circular. Each page is saved as
a screenshot under ``var/test-artefacts/web/`` (look at them: they are what
an astronomer sees at 3 am).

Playwright cannot download its own browser here: it drives Debian's
``chromium`` (``.ci/run`` installs it when missing), or ``TOOFLOW_CHROMIUM``.
Without either, the tests are skipped saying so.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.waiting import HANG, wait_for
from tooflow.intake.store import store_notice
from tooflow.models import CircularVersion, ExecutedObservationRow, Notice, PlanApproval

from .web_helpers import PASSWORDS, PRELIMINARY, add_users, serve, write_config

pytestmark = pytest.mark.slow

#: Where the screenshots go (git ignores var/).
ARTEFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artefacts" / "web"


def chromium_path() -> str | None:
    """The browser to drive: ``TOOFLOW_CHROMIUM``, else Debian's chromium on the PATH."""
    return os.environ.get("TOOFLOW_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium to drive: install Debian's `chromium` package (.ci/run does) "
                    "or set TOOFLOW_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # as root (CI) Chromium's sandbox cannot start
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        b = p.chromium.launch(executable_path=path, args=args, timeout=HANG * 1000)
        yield b
        b.close()


def shoot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _link_candidates(engine, notice_id: int) -> str:
    """Ingest the real ZTF alert packets of tests/data/candidates/ztf and link them to the
    notice's event, best score to the one with the longest light curve. ZTF's real
    alerts are not in a mock GW event's map, so the links are this test's arrangement;
    what the pages show of each candidate comes from its packets."""
    from tooflow.candidates.store import ingest_alert_bytes
    from tooflow.models import Candidate, CandidateEvent, Notice

    from .conftest import DATA

    names = []
    for path in sorted((DATA / "candidates" / "ztf").glob("*.avro")):
        names += ingest_alert_bytes(path.read_bytes(), path.name, engine=engine).names
    with Session(engine) as s:
        event_pk = s.get(Notice, notice_id).event_pk
        cands = sorted((s.exec(select(Candidate).where(Candidate.name == n)).one()
                        for n in names), key=lambda c: -c.n_detections)
        for i, cand in enumerate(cands):
            s.add(CandidateEvent(candidate_pk=cand.id, event_pk=event_pk, score=0.9 - 0.2 * i,
                                 factors={"localization": 0.5, "rb": cand.scores.get("rb")}))
        s.commit()
        return cands[0].name


def test_duty_astronomer_night(browser, prefect, sqlite_engine, tmp_path, monkeypatch):
    from tooflow.config import load_settings
    from tooflow.flows.handle_notice import handle_notice
    from tooflow.web.app import create_app

    from .programs_helpers import NIGHT
    from .simulated_clock import simulator_from_first_request

    stored = store_notice(PRELIMINARY.read_bytes(), "tests/data/lvk/avro/" + PRELIMINARY.name,
                          engine=sqlite_engine)
    add_users(sqlite_engine)
    with simulator_from_first_request(speedup=2000, weather_loss=0.0, start=NIGHT) as sim:
        write_config(tmp_path, monkeypatch, timeout=3 * 3600 - 60, extra=(
            f"facilities:\n  simulator:\n    url: {sim.url}\n"
            "circulars:\n  authors: [A. Astronomer]\n  collaboration: the ZTF collaboration\n"))
        settings = load_settings()
        with serve(create_app(settings, sqlite_engine)) as url:
            write_config(tmp_path, monkeypatch, timeout=3 * 3600 - 60, extra=(
                f"facilities:\n  simulator:\n    url: {sim.url}\n"
                f"web: {{url: '{url}'}}\n"
                "circulars:\n  authors: [A. Astronomer]\n  collaboration: the ZTF "
                "collaboration\n"))
            result: list = []
            flow = threading.Thread(target=lambda: result.append(
                handle_notice(stored.notice_id, plan_start=NIGHT)))
            flow.start()

            def waiting():
                with Session(sqlite_engine) as s:
                    return s.exec(select(PlanApproval)).first()

            approval = wait_for(waiting, "the flow asks for approval of its plan")
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(HANG * 1000)

            # log in
            page.goto(f"{url}/events/MS181101ab")
            assert page.url.startswith(f"{url}/login?next=/events/MS181101ab")
            shoot(page, "01-login")
            page.fill("input[name=username]", "dora")
            page.fill("input[name=password]", PASSWORDS["dora"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/events/MS181101ab")

            # the events list
            page.goto(f"{url}/events")
            row = page.locator("table.events tbody tr").first
            assert "MS181101ab" in row.inner_text() and "approval needed" in row.inner_text()
            shoot(page, "02-events")

            # the event: sky view, plan waiting for approval
            page.click("text=MS181101ab")
            page.wait_for_selector("#aladin[data-ready=true]")
            status = page.inner_text("#sky-status")
            assert "planned pointing(s)" in status, status
            assert page.is_visible("text=Plan approval needed")
            plan = page.locator(f"#plan-{approval.plan_id}")
            assert "Waiting for approval" in plan.inner_text()
            page.locator("#localization").scroll_into_view_if_needed()
            shoot(page, "03-event-waiting-for-approval")
            page.locator("#localization").screenshot(path=str(ARTEFACTS / "04-sky-view.png"))

            # approve: the waiting flow goes on, submits, observes, drafts
            plan.locator("input[name=comment]").fill("DECam time agreed with the PI")
            plan.locator("button.approve").click()
            page.wait_for_selector(f"#plan-{approval.plan_id} >> text=Approved by")
            flow.join(HANG)
            assert not flow.is_alive(), "the flow did not finish after the approval"
            assert result[0].approvals == {"ZTF kilonova": "approved"}
            assert sum(result[0].submitted["ZTF kilonova"]["submitted"].values()) > 0
            with Session(sqlite_engine) as s:
                assert s.exec(select(ExecutedObservationRow)).first() is not None
                assert s.get(Notice, stored.notice_id).status == "done"
            page.reload()
            page.wait_for_selector("#aladin[data-ready=true]")
            page.wait_for_selector("table.coverage >> nth=0")
            page.wait_for_selector("#observed >> text=Coverage over time")
            page.wait_for_selector("#observed table.coverage tbody tr >> nth=0")
            assert "exposure(s)" in page.inner_text("#observed")
            shoot(page, "05-event-observed")

            # a candidate: real ZTF packets (cutouts, light curves) linked to the event
            name = _link_candidates(sqlite_engine, stored.notice_id)
            page.goto(f"{url}/events/MS181101ab#candidates")
            page.reload()  # the same page with another #fragment is not loaded again
            page.wait_for_selector(f"#candidates >> text={name}")
            page.locator("#candidates").scroll_into_view_if_needed()
            page.locator("#candidates").screenshot(path=str(ARTEFACTS / "08-candidates.png"))
            page.click(f"#candidates >> text={name}")
            page.wait_for_selector("form.vet-form")
            page.select_option("select[name=state]", "interesting")
            page.fill("textarea[name=comment]", "Red, fading 0.3 mag/day: worth a spectrum")
            page.click("form.vet-form button[type=submit]")
            page.wait_for_selector("#vetting >> text=Red, fading")
            page.wait_for_function("() => [...document.images].every(i => i.complete)")
            shoot(page, "09-candidate-vetted")
            from tooflow.candidates.vetting import history

            assert [(v.state, v.author) for v in history(name, engine=sqlite_engine)] == \
                [("interesting", "dora")]

            # the circular: edit, save, a new version
            page.goto(f"{url}/events/MS181101ab#circulars")
            page.click("#circulars h3 a")
            page.wait_for_selector("textarea[name=body]")
            shoot(page, "06-circular-draft")
            body = page.input_value("textarea[name=body]")
            page.fill("textarea[name=body]", body.rstrip() + "\n\nEdited at 3 am by the duty "
                      "astronomer.\n")
            page.click("text=Save as version 2")
            page.wait_for_selector("text=Saved as version 2")
            shoot(page, "07-circular-saved")
            with Session(sqlite_engine) as s:
                v2 = s.exec(select(CircularVersion).where(CircularVersion.number == 2)).one()
            assert v2.author == "dora" and v2.body.endswith("by the duty astronomer.\n")
            page.close()
