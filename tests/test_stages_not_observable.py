"""Not observable in the window: the stages store, draw, summarise and notify it.

The notices of the report: the gwcelery Swift BAT-GUANO alert (Dec −40°, below
every site's airmass limit) at 17:50 UTC, the Einstein Probe alert 247 in
October (next to the Sun), MS181101ab in Palomar's afternoon, and a program
naming no telescope. Each plan is stored with no exposure, its picture is drawn,
and the summary, the flow, the notification say "not observable in the window"
with, per telescope, why and when it next can observe.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import Event, NotificationRecord, Plan, PlannedObservationRow
from tooflow.runs.result import HandledNotice
from tooflow.stages.gate import gate_notice
from tooflow.stages.notify import notify_event
from tooflow.stages.parse import parse_stored_notice
from tooflow.stages.plan import plan_for_program, unobservable_plans
from tooflow.views.event import load_event_view, render_text
from tooflow.views.summary import format_followup

from .conftest import DATA
from .programs_helpers import afterglow_program, programs_yaml, use_programs

SWIFT = DATA / "gcn" / "json" / "gwcelery" / "kafka_alert_swift.json"
EP = DATA / "gcn" / "json" / "einstein_probe" / "alert_247.json"
MS181101AB = DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro"

POINTED = {"filters": ["r"], "mode": "pointed"}
#: The GRB programme of tests/test_first_light.py with pointed instruments; a GRB
#: programme without telescopes; X-ray; and a kilonova programme with a 3 h window.
PROGRAMS = programs_yaml(
    afterglow_program({"ZTF": {"filters": ["g", "r"], "min_gap": 1800},
                       "GROWTH-India": POINTED, "KPED": POINTED},
                      time_limit=5, lookahead_days=3),
    *yaml.safe_load("""
- name: GRB without telescopes
  kinds: [GRB]
  telescopes: []
- name: X-ray transient
  kinds: [X-ray]
  telescopes: [KPED, GROWTH-India]
  strategy:
    window_hours: 24
    time_limit: 5
    lookahead_days: 3
    telescopes:
      KPED: {filters: [r], mode: pointed}
      GROWTH-India: {filters: [r], mode: pointed}
- name: ZTF kilonova
  kinds: [GW]
  accept_mock: true
  telescopes: [ZTF]
  strategy:
    window_hours: 3
    time_limit: 5
"""))


@pytest.fixture
def configured(tmp_path, monkeypatch):
    use_programs(tmp_path, monkeypatch, PROGRAMS)
    return load_settings()


def _gated(path: Path, engine, settings) -> int:
    stored = store_notice(path.read_bytes(), str(path), engine=engine)
    parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
    gate_notice(stored.notice_id, engine=engine, settings=settings)
    return stored.notice_id


CASES = [
    # notice, program, window start, telescopes, "a next time is known"
    (SWIFT, "GRB afterglow", dt.datetime(2026, 12, 5, 17, 50, tzinfo=dt.UTC),
     ["ZTF", "GROWTH-India", "KPED"], False),
    (EP, "X-ray transient", dt.datetime(2026, 10, 10, 0, 0, tzinfo=dt.UTC),
     ["KPED", "GROWTH-India"], False),
    pytest.param(MS181101AB, "ZTF kilonova", dt.datetime(2019, 4, 1, 18, 0, tzinfo=dt.UTC),
                 ["ZTF"], True, marks=pytest.mark.slow),  # plans a real map
]


@pytest.mark.parametrize(("path", "program", "start", "telescopes", "known"), CASES,
                         ids=["grb-circle", "single-pointing", "gw-map"])
def test_empty_plan_is_stored_drawn_and_said(path, program, start, telescopes, known,
                                             sqlite_engine, configured):
    notice_id = _gated(path, sqlite_engine, configured)
    plan_id = plan_for_program(notice_id, program, engine=sqlite_engine, settings=configured,
                               start=start, picture=True)
    with Session(sqlite_engine) as session:
        row = session.get(Plan, plan_id)
        assert not row.observable and row.objective == 0.0
        assert session.exec(select(PlannedObservationRow)
                            .where(PlannedObservationRow.plan_id == plan_id)).first() is None
        assert set(row.idle) == set(telescopes)
        for name in telescopes:
            assert row.idle[name]["reason"]
            assert (row.idle[name]["next_observable"] is not None) == known
        assert Path(row.png_path).stat().st_size > 10_000
        lines = format_followup(HandledNotice(notice_id, plans={program: plan_id}),
                                session)
    assert lines[0].startswith(f"plan #{plan_id} ({program}): not observable in the window "
                               f"{start:%Y-%m-%d %H:%M}")
    for name in telescopes:
        assert f"{name}: " in lines[0]
    assert ("next observable from" in lines[0]) == known
    said = unobservable_plans({program: plan_id}, engine=sqlite_engine)
    assert said == {program: f"{program}: " + lines[0].split(": ", 1)[1]}
    with Session(sqlite_engine) as session:  # tooflow show
        event_id = session.get(Event, row.event_pk).event_id
        shown = render_text(load_event_view(session, event_id))
    assert f"  {lines[0]}" in shown.splitlines()
    from tooflow.tasks.plan import plan_markdown  # the Prefect artifact

    markdown = plan_markdown(row, [], event_id).splitlines()
    assert markdown[2] == f"**Not observable in the window {start:%Y-%m-%d %H:%M} – " \
                          f"{row.end:%Y-%m-%d %H:%M} UTC.**"
    assert {line.split(":")[0] for line in markdown if line.startswith("* ")} == {
        f"* {name}" for name in telescopes}
    assert markdown[-1] == f"Picture: `{row.png_path}`"


def test_program_without_telescopes(sqlite_engine, configured):
    notice_id = _gated(SWIFT, sqlite_engine, configured)
    plan_id = plan_for_program(notice_id, "GRB without telescopes", engine=sqlite_engine,
                               settings=configured, picture=True)
    with Session(sqlite_engine) as session:
        row = session.get(Plan, plan_id)
        assert row.telescopes == [] and not row.observable and row.png_path
        lines = format_followup(
            HandledNotice(notice_id, plans={"GRB without telescopes": plan_id}), session)
    assert lines[0].endswith("not observable in the window "
                             f"{row.start:%Y-%m-%d %H:%M} – {row.end:%Y-%m-%d %H:%M} UTC: "
                             "the program names no telescope")


@pytest.mark.slow  # plans a real map
def test_notification_says_why_and_when(sqlite_engine, configured):
    notice_id = _gated(MS181101AB, sqlite_engine, configured)
    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=sqlite_engine,
                               settings=configured, start=CASES[2].values[2], picture=False)
    said = unobservable_plans({"ZTF kilonova": plan_id}, engine=sqlite_engine)
    with Session(sqlite_engine) as session:
        event_pk = session.get(Plan, plan_id).event_pk
    ids = notify_event(event_pk, "not_observable", programs=["ZTF kilonova"],
                       detail=said["ZTF kilonova"], flow_run_url=None, engine=sqlite_engine,
                       settings=configured)
    assert ids
    with Session(sqlite_engine) as session:
        rows = session.exec(select(NotificationRecord)).all()
    assert {r.reason for r in rows} == {"not_observable"}
    assert all("ZTF: no night time" in r.summary["detail"] for r in rows)
    assert all("next observable from" in r.summary["detail"] for r in rows)


def test_flow_completes_and_says_not_observable(prefect, sqlite_engine, configured):
    """The report's reproduction: the Swift alert through handle-notice at 17:50 UTC."""
    from tooflow.flows.handle_notice import handle_notice

    stored = store_notice(SWIFT.read_bytes(), str(SWIFT), engine=sqlite_engine)
    summary = handle_notice(stored.notice_id, plan_start=CASES[0][2])
    assert set(summary.triggered) == {"GRB afterglow", "GRB without telescopes"}
    assert set(summary.not_observable) == set(summary.triggered)
    assert summary.progress is None  # nothing queued: nothing to monitor
    with Session(sqlite_engine) as session:
        reasons = {r.reason for r in session.exec(select(NotificationRecord)).all()}
        lines = format_followup(summary, session)
    assert "not_observable" in reasons and "plan_submitted" not in reasons
    assert sum("not observable in the window" in line for line in lines) == 2
