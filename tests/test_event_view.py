"""The event's page (``tooflow show``, the event artifact), without Prefect.

MS181101ab through the stages (tests/test_stages.py's night of 2019-04-01): its
ZTF queue first at a closed port (requests kept unsent), then up (the requests
sent again, observed), then the circular drafted.
"""

from __future__ import annotations

from sqlmodel import Session

from tooflow.config import load_settings
from tooflow.models import Notice
from tooflow.runs.failures import record_failure
from tooflow.runs.outcome import record_flow_run
from tooflow.simulator.server import SimulatorServer
from tooflow.stages.circular import draft_circular
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import SubmissionFailed, resubmit_unsent, submit_plan
from tooflow.views.event import load_event_view, render_markdown, render_text

from . import test_stages
from .test_stages import NIGHT, _wait_until_done
from .test_unsent_requests import closed_port, point_ztf_at

gated, simulator = test_stages.gated, test_stages.simulator


def _view(engine, **kwargs):
    with Session(engine) as s:
        return load_event_view(s, "MS181101ab", **kwargs)


def test_event_page_from_notice_to_circular(gated, engine, simulator):
    notice_id, event_pk = gated
    settings = load_settings()
    record_flow_run(notice_id, "0b7c5a3e-1f0e-4d7e-9a53-3c1d2f0e8a11", "MS181101ab-prelim-n1",
                    engine=engine)
    page = render_text(_view(engine, ui_base="http://127.0.0.1:4200"))
    assert page.startswith("MS181101ab  GW  PRELIMINARY")
    assert "flow run MS181101ab-prelim-n1: http://127.0.0.1:4200/runs/flow-run/" \
           "0b7c5a3e-1f0e-4d7e-9a53-3c1d2f0e8a11" in page
    assert f"gate (notice #{notice_id}):" in page and "✔ ZTF kilonova" in page
    assert "plans (" not in page and "ATTENTION" not in page

    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    port = closed_port()
    point_ztf_at(f"http://127.0.0.1:{port}")
    settings = load_settings()
    result = submit_plan(plan_id, engine=engine, settings=settings)
    n = result.unsent["ZTF"]
    # What the flow records when a submission failed.
    record_failure(notice_id, "submit", SubmissionFailed(result.failure_message(), {}, True),
                   engine=engine)
    view = _view(engine)
    page, markdown = render_text(view), render_markdown(view)
    assert f"  ! ZTF: {n} request(s) not accepted by the queue yet (retried until the window " \
           "closes): not sent: ConnectError after 2 attempt(s)" in page
    assert f"LAST ERROR: notice #{notice_id}: submit failed: SubmissionFailed: ZTF: " \
           "ConnectError after 2 attempt(s)" in page
    assert f"  ! notice #{notice_id}: submit failed: SubmissionFailed: ZTF: ConnectError" \
           in page
    assert "         FAILED: submit failed: SubmissionFailed: ZTF: ConnectError" in page
    assert f"  plan #{plan_id} (ZTF kilonova): " in page and "% of the probability [ZTF " in page
    assert "    [planned] " in page and f"UTC, from notice #{notice_id}" in page
    assert f"queue requests ({n}):\n  ZTF: {n} unsent\n         unsent: not sent: ConnectError" \
           in page
    assert "### ⚠ Attention" in markdown
    assert f"| ZTF | {n} unsent | unsent: not sent: ConnectError" in markdown
    with Session(engine) as s:
        assert s.get(Notice, notice_id).status == "failed"

    with SimulatorServer(port=port, speedup=5000, weather_loss=0.0, start=NIGHT):
        assert resubmit_unsent(engine=engine, settings=settings,
                               now=NIGHT).submitted == {"MS181101ab ZTF": n}
        progress = _wait_until_done(event_pk, engine, settings)
    assert progress.done and progress.executed == n
    draft_id = draft_circular(event_pk, "ZTF kilonova", engine=engine, settings=settings,
                              coverage=progress.coverage, area=progress.area)
    view = _view(engine, settings=settings)
    page, markdown = render_text(view), render_markdown(view)
    # Every request went: nothing asks for action; the failure stays as history.
    assert "ATTENTION" not in page and "request(s) not accepted" not in page
    assert "         done: resolved " in page
    assert "    [submitted] " in page
    assert f"queue requests ({n}):\n  ZTF: {n} completed" in page
    covered = f"{100 * progress.coverage['total']:.1f} % of the probability covered"
    assert f"observed: {n} exposure(s) [ZTF {n}]; {covered}" in page
    assert f"circular drafts (1):\n  #{draft_id} " in page
    assert "LIGO/Virgo/KAGRA MS181101ab" in page
    assert f"### Observed\n\n{n} exposure(s) [ZTF {n}]; {covered}" in markdown
    assert "### Circular drafts" in markdown and "LIGO/Virgo/KAGRA MS181101ab" in markdown


def test_unknown_event_is_a_clear_error(sqlite_engine):
    import pytest

    with pytest.raises(LookupError, match="no event 'S000000x'; `tooflow events` lists them"):
        with Session(sqlite_engine) as s:
            load_event_view(s, "S000000x")


def test_each_telescope_alone_and_what_it_adds():
    """Plan and observed lines give each telescope's own union and what it adds to the
    network (ZTF 30 % and DECam 40 % of a 50 % union: they share 20 %)."""
    import datetime as dt

    from tooflow.models import Plan
    from tooflow.views.event import EventView, _observed_line
    from tooflow.views.summary import plan_lines

    t = dt.datetime(2019, 4, 25, 8, 18, tzinfo=dt.UTC)
    row = Plan(id=7, event_pk=1, notice_id=1, program="P", start=t,
               end=t + dt.timedelta(hours=24), telescopes=["ZTF", "DECam"], objective=0.5,
               upper_bound=0.501, gap=0.002, solve_time=1.0, solver_status="OPTIMAL",
               per_telescope={"ZTF": 0.3, "DECam": 0.4},
               per_telescope_added={"ZTF": 0.1, "DECam": 0.2}, idle={})
    assert ("[DECam 40.0 % alone, adds 20.0 %; ZTF 30.0 % alone, adds 10.0 %]"
            in plan_lines(row, "P")[0])
    view = EventView(event_id="S190425z", fields={}, retracted=False, notices=[], plans=[],
                     requests=[], executed={"ZTF": 3, "DECam": 2},
                     coverage={"ZTF": 0.3, "DECam": 0.4, "total": 0.5},
                     area={"total": 120.0}, circulars=[],
                     coverage_added={"ZTF": 0.1, "DECam": 0.2})
    assert _observed_line(view) == (
        "5 exposure(s) [DECam 2, ZTF 3]; 50.0 % of the probability covered (120 deg²) "
        "[DECam 40.0 % alone, adds 20.0 %; ZTF 30.0 % alone, adds 10.0 %]")
    # a stored plan says which part of its gap the per-telescope thresholds gave up
    thresholds = Plan(**{**row.model_dump(), "gap": 0.0113, "gap_thresholds": 0.0072})
    assert ("optimal to the solver tolerance (0.5 %) but for 0.72 % the per-telescope "
            "thresholds gave up" in plan_lines(thresholds, "P")[1])
    assert ("optimal: the best possible plan has at most 0.20 % more probability covered"
            in plan_lines(row, "P")[1])
    alone = Plan(**{**row.model_dump(), "per_telescope": {"ZTF": 0.5},
                    "per_telescope_added": {"ZTF": 0.5}, "telescopes": ["ZTF"]})
    assert "[ZTF 50.0 %]" in plan_lines(alone, "P")[0]
