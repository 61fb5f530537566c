"""Mock and test events reach a phone or a real queue only where a program opts in.

MS181101ab (the LVK user-guide mock) triggers an urgent program that accepts
mocks: by default nobody's phone rings or gets an SMS and a telescope with a
real queue configured gets nothing (its requests are held back with the reason),
while the embedded simulator may still observe. ``mock_phone: true`` and
``mock_real_queues: true`` opt in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import FacilityTransaction, NotificationRecord, QueueRequestRow
from tooflow.stages.gate import gate_notice
from tooflow.stages.notify import notify_event
from tooflow.stages.parse import parse_stored_notice
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import submit_plan

from .conftest import DATA

PRELIMINARY = DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro"
NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)
ROSTER = """roster:
  - {name: Alice, phone: "+15555550100", email: alice@example.org, hours: always}
notifications:
  twilio: {from_number: "+15555550199", base_url: "http://127.0.0.1:9"}
"""


def _configure(tmp_path, monkeypatch, opt_in: bool) -> None:
    flags = "\n    mock_phone: true\n    mock_real_queues: true" if opt_in else ""
    programs = tmp_path / "programs.yaml"
    programs.write_text(f"""programs:
  - name: GW kilonova
    kinds: [GW]
    accept_mock: true
    urgent: true{flags}
    telescopes: [ZTF]
    strategy:
      window_hours: 10
      time_limit: 5
      telescopes:
        ZTF: {{filters: [g, r], min_gap: 1800}}
""")
    config = tmp_path / "tooflow.yaml"
    config.write_text(f"programs_file: {programs}\n{ROSTER}"
                      "facilities:\n  ZTF: {adapter: ztf, url: 'http://127.0.0.1:9', "
                      "timeout: 2, retries: 1}\n")
    monkeypatch.setenv("TOOFLOW_CONFIG", str(config))


@pytest.mark.parametrize("opt_in", [False, True], ids=["default", "opted-in"])
def test_mock_reaches_phone_and_real_queue_only_when_opted_in(opt_in, sqlite_engine,
                                                              tmp_path, monkeypatch):
    _configure(tmp_path, monkeypatch, opt_in)
    settings = load_settings()
    stored = store_notice(PRELIMINARY.read_bytes(), str(PRELIMINARY), engine=sqlite_engine)
    event_pk = parse_stored_notice(stored.notice_id, engine=sqlite_engine,
                                   settings=settings).event_pk
    gate_notice(stored.notice_id, engine=sqlite_engine, settings=settings)
    notify_event(event_pk, "program_triggered", programs=["GW kilonova"], flow_run_url=None,
                 engine=sqlite_engine, settings=settings,
                 environ={"TOOFLOW_TWILIO_ACCOUNT_SID": "AC0", "TOOFLOW_TWILIO_AUTH_TOKEN": "t"})
    plan_id = plan_for_program(stored.notice_id, "GW kilonova", engine=sqlite_engine,
                               settings=settings, start=NIGHT, picture=False)
    result = submit_plan(plan_id, engine=sqlite_engine, settings=settings)
    with Session(sqlite_engine) as session:
        channels = {r.channel for r in session.exec(select(NotificationRecord)).all()}
        exchanges = session.exec(select(FacilityTransaction)).all()
        queued = session.exec(select(QueueRequestRow)).all()
    if opt_in:
        assert {"sms", "call"} <= channels
        assert "ZTF" not in result.held
        # it did try the real queue (nothing listens on port 9: an error, not a hold)
        assert "ZTF" in result.errors and exchanges
    else:
        assert not {"sms", "call"} & channels
        assert "email" in channels
        assert result.held["ZTF"].startswith("mock/test event")
        assert not result.submitted and not result.errors
        assert exchanges == [] and queued == []
