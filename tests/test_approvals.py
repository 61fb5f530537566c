"""Plans that wait for approval: request, decide (web or CLI), timeout default, the wait.

On MS181101ab's real preliminary notice, planned by a program with
``approval: required`` (tests/web_helpers.py), without Prefect.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import Session, select

from tests.waiting import wait_for
from tooflow.approvals import ApprovalClosed, decide, request_approval, wait_for_decision
from tooflow.models import AuditRecord, NotificationRecord, Plan, PlanApproval
from tooflow.programs import _program_from_dict, load_programs

from . import web_helpers

marshal_template, planned = web_helpers.marshal_template, web_helpers.planned


def test_program_approval_keys_are_checked():
    prog = _program_from_dict({"name": "DECam", "approval": "required", "approval_timeout": 900,
                               "approval_default": "approve"}, "t")
    assert (prog.approval, prog.approval_timeout, prog.approval_default) == \
        ("required", 900.0, "approve")
    assert _program_from_dict({"name": "x"}, "t").approval == "none"
    for bad, message in [({"approval": "maybe"}, "approval must be 'none' or 'required'"),
                         ({"approval_default": "submit"}, "approval_default must be"),
                         ({"approval_timeout": "soon"}, "approval_timeout must be seconds"),
                         ({"approval_timeout": 86400}, "between 0 and 10800")]:
        with pytest.raises(ValueError, match=message):
            _program_from_dict({"name": "x", **bad}, "t")


def test_request_once_decide_once_recorded(planned):
    engine, settings, ids = planned
    program = load_programs(settings.resolved_programs_file)[0]
    with Session(engine) as s:
        again = request_approval(s, ids["plan_id"], program)
        assert again.id == ids["approval_id"]  # a re-run finds the same request
        row = decide(s, again.id, "reject", "dora", "no time tonight")
        s.commit()
        assert (row.status, row.decided_by) == ("rejected", "dora")
        with pytest.raises(ApprovalClosed, match="already rejected by dora"):
            decide(s, again.id, "approve", "adam")
        with pytest.raises(ValueError, match="decision must be one of"):
            decide(s, again.id, "maybe", "adam")
        audit = s.exec(select(AuditRecord).where(AuditRecord.action == "reject_plan")).one()
    assert audit.actor == "dora" and audit.detail["comment"] == "no time tonight"


def test_timeout_applies_the_program_default(planned):
    engine, _settings, ids = planned
    with Session(engine) as s:
        deadline = s.get(PlanApproval, ids["approval_id"]).deadline
    late = deadline + dt.timedelta(seconds=1)
    row = wait_for_decision(ids["approval_id"], engine, clock=lambda: late)
    assert (row.status, row.decided_by, row.decided) == ("rejected", "timeout", deadline)
    with Session(engine) as s, pytest.raises(ApprovalClosed, match="rejected by timeout"):
        decide(s, ids["approval_id"], "approve", "dora", now=late)


def test_a_waiting_stage_ends_when_someone_decides(planned, tmp_path, monkeypatch):
    """The flow's stage: asks (notification with the page's link), waits, then goes on."""
    from tooflow.config import load_settings
    from tooflow.stages.approval import await_plan_approval

    from .web_helpers import write_config

    engine, _settings, ids = planned
    # an hour to decide: the decision below must come from the person, whatever the load
    write_config(tmp_path, monkeypatch, timeout=3600, extra="web: {url: 'https://marshal.example.org'}\n"
                 f"skymap_dir: {_settings.resolved_skymap_dir}\n")
    settings = load_settings()
    with Session(engine) as s:  # a fresh request, made by the stage
        s.delete(s.get(PlanApproval, ids["approval_id"]))
        s.commit()
    result: list[str] = []
    waiting = threading.Thread(target=lambda: result.append(await_plan_approval(
        ids["event_pk"], "MS181101ab", ids["plan_id"], "ZTF kilonova", engine=engine,
        settings=settings, poll=0.05)))
    waiting.start()

    def asked():
        with Session(engine) as s:
            return s.exec(select(NotificationRecord)
                          .where(NotificationRecord.reason == "approval_needed")).first()

    note = wait_for(asked, "the stage asks for approval")
    with Session(engine) as s:
        row = s.exec(select(PlanApproval).where(PlanApproval.status == "pending")).one()
        assert f"https://marshal.example.org/events/MS181101ab#plan-{ids['plan_id']}" in \
            note.summary["detail"]
        decide(s, row.id, "approve", "dora")
        s.commit()
    waiting.join(60)
    assert result == ["approved"]


def test_nobody_deciding_rejects_the_plan(planned):
    """approval_timeout 2 s, default reject: the plan is marked rejected, not submitted."""
    from tooflow.stages.approval import await_plan_approval

    engine, settings, ids = planned
    with Session(engine) as s:
        s.delete(s.get(PlanApproval, ids["approval_id"]))
        s.commit()
    assert await_plan_approval(ids["event_pk"], "MS181101ab", ids["plan_id"], "ZTF kilonova",
                               engine=engine, settings=settings, poll=0.05) == "rejected"
    with Session(engine) as s:
        assert s.get(Plan, ids["plan_id"]).status == "rejected"
        row = s.exec(select(PlanApproval)).one()
    assert row.decided_by == "timeout" and "the program's default" in row.comment
